// scripts/ink-output.mjs (Ink's output.js in the dashboard bundle) makes
// Ink's frame, character for character: random writes of styled text (plain
// lines and ones that take Ink's tokenizer: emoji, combining marks, links,
// wide characters), clips and transformers on grids of random sizes, one
// Output after another (its grid is reused between frames).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
// Ink's own module (not in its package exports: by path).
import InkOutput from '../../../node_modules/ink/build/output.js'
// @ts-expect-error: a plain ES module of the build scripts, without types.
import Output from '../../../scripts/ink-output.mjs'

const PARTS = ['a', 'bb', ' ', '  ', '\n', '─', '↓', '·', '…', '⣿', 'é', '界', '😀', 'e\u0301', '✔\uFE0F', '\t', '\x1b', '\x1b[1m', '\x1b[2m', '\x1b[22m', '\x1b[31m', '\x1b[39m', '\x1b[7m', '\x1b[27m', '\x1b[38;5;208m', '\x1b[48;2;1;2;3m', '\x1b[49m', '\x1b[0m', '\x1b[m', '\x1b[1;4;32m', '\x1b[3x', '\x1b]8;;https://example.org\x07', '\x1b]8;;\x07']
const text = fc.array(fc.constantFrom(...PARTS), { maxLength: 30 }).map((p) => p.join(''))
const upper = (line: string) => line.toUpperCase()
const numbered = (line: string, index: number) => `${index}:${line}`

type Op = { type: 'write'; x: number; y: number; text: string; transformers: number } | { type: 'clip'; clip: { x1?: number; x2?: number; y1?: number; y2?: number } } | { type: 'unclip' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('write' as const), x: fc.integer({ min: -3, max: 25 }), y: fc.integer({ min: -2, max: 8 }), text, transformers: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('clip' as const), clip: fc.record({ x1: fc.integer({ min: 0, max: 10 }), x2: fc.integer({ min: 5, max: 25 }), y1: fc.integer({ min: 0, max: 3 }), y2: fc.integer({ min: 2, max: 8 }) }, { requiredKeys: [] }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'unclip' as const }) },
)

interface OutputLike {
  write(x: number, y: number, text: string, options: { transformers: ((line: string, index: number) => string)[] }): void
  clip(clip: object): void
  unclip(): void
  get(): { output: string; height: number }
}

function frame(out: OutputLike, ops: Op[]) {
  for (const o of ops) {
    if (o.type === 'write') out.write(o.x, o.y, o.text, { transformers: [[], [upper], [upper, numbered]][o.transformers] })
    else if (o.type === 'clip') out.clip(o.clip)
    else out.unclip()
  }
  return out.get()
}

test("a frame is Ink's, frame after frame", () => {
  fc.assert(
    fc.property(fc.array(fc.record({ width: fc.integer({ min: 0, max: 20 }), height: fc.integer({ min: 0, max: 6 }), ops: fc.array(op, { maxLength: 12 }) }), { minLength: 1, maxLength: 4 }), (frames) => {
      for (const f of frames) {
        const ours = frame(new Output({ width: f.width, height: f.height }) as OutputLike, f.ops)
        const inks = frame(new InkOutput({ width: f.width, height: f.height }) as OutputLike, f.ops)
        assert.deepEqual(ours, inks)
      }
    }),
    { numRuns: 2000 },
  )
})

test('a dashboard-sized frame of coloured rows is the same string as Ink makes', () => {
  const row = (i: number) => `\x1b[1m${String(i).padStart(3)}\x1b[22m \x1b[32m↓ 12.3 MB/s\x1b[39m ${'⣿⣶⣤⣀'.repeat(5)} \x1b[7m selected \x1b[27m ubuntu-24.04.iso … 42 %`
  const ops: Op[] = [{ type: 'write', x: 0, y: 0, text: Array.from({ length: 40 }, (_, i) => row(i)).join('\n'), transformers: 0 }]
  assert.deepEqual(frame(new Output({ width: 120, height: 40 }) as OutputLike, ops), frame(new InkOutput({ width: 120, height: 40 }) as OutputLike, ops))
})
