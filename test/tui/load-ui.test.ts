// The dashboard's UI loads without Node's fetch implementation (undici):
// yoga-layout would decode its WebAssembly through fetch(data:) and keep
// undici loaded (+6 MB RSS); load-ui.ts hides fetch for that moment and puts
// it back. Each case runs in a fresh Node, whose loaded built-ins it lists.
// Meanwhile Intl.Segmenter is grapheme-segmenter.ts's lazy one, and V8
// compiles WebAssembly with Liftoff only: yoga never tiers up to TurboFan,
// WebAssembly compiled afterwards (MSE's RC4) does.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { REPO_ROOT } from '../helpers/cli.ts'

function inFreshNode(code: string, nodeFlags: string[] = []): Record<string, unknown> {
  const run = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  const lines = run.stdout.trim().split('\n')
  return { ...JSON.parse(lines.at(-1)!), lines }
}

const UNDICI = 'process.moduleLoadList.some((m) => /undici/.test(m))'

test('yoga-layout loaded with fetch in sight loads undici (why load-ui.ts hides it)', () => {
  const out = inFreshNode(`await import('yoga-layout'); console.log(JSON.stringify({ undici: ${UNDICI} }))`)
  assert.equal(out.undici, true)
})

test('loadDashboardUi loads Ink and the dashboard without undici and puts fetch back', () => {
  const out = inFreshNode(`
    const before = globalThis.fetch
    const { loadDashboardUi } = await import('./src/tui/load-ui.ts')
    const ui = await loadDashboardUi()
    const element = ui.dashboard({ backend: { call: async () => [], attachedTo: undefined }, cwd: '/', onQuit: () => {} })
    console.log(JSON.stringify({ undici: ${UNDICI}, restored: globalThis.fetch === before, segmenter: Intl.Segmenter.name, render: typeof ui.render, element: typeof element.type }))`)
  delete out.lines
  assert.deepEqual(out, { undici: false, restored: true, segmenter: 'Segmenter', render: 'function', element: 'function' })
})

// A function that adds n + (n-1) + … + 1: (module (func (export "f") (param i32) (result i32) (local i32) loop …)).
const SUM_WASM = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, 0x66, 0, 0, 0x0a, 0x1d, 1, 0x1b, 1, 1, 0x7f, 3, 0x40, 0x20, 1, 0x20, 0, 0x6a, 0x21, 1, 0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x20, 0, 0x0d, 0, 0x0b, 0x20, 1, 0x0b]

test('yoga stays in Liftoff code however hot its layout runs; WebAssembly compiled later tiers up to TurboFan', () => {
  const out = inFreshNode(
    `
    const { loadDashboardUi } = await import('./src/tui/load-ui.ts')
    await loadDashboardUi()
    const { default: Yoga } = await import('yoga-layout')
    for (let i = 0; i < 3000; i++) {
      const root = Yoga.Node.create()
      for (let j = 0; j < 20; j++) { const child = Yoga.Node.create(); child.setWidth(j); child.setFlexGrow(1); root.insertChild(child, j) }
      root.calculateLayout(120, 40)
      root.freeRecursive()
    }
    const { instance } = await WebAssembly.instantiate(new Uint8Array(${JSON.stringify(SUM_WASM)}))
    let sum = 0
    for (let i = 0; i < 200; i++) { sum = instance.exports.f(100000); await new Promise((r) => setImmediate(r)) }
    console.log(JSON.stringify({ sum }))`,
    ['--trace-wasm-compilation-times'],
  )
  // "Compiled function 0x…#7 using Liftoff, …; bodysize 27 …": by module (its address), how many functions in each tier.
  const modules = new Map<string, { Liftoff: number; TurboFan: number; sum: boolean }>()
  for (const line of out.lines as string[]) {
    const m = /Compiled function (0x[0-9a-f]+)#\d+ using (Liftoff|TurboFan)/.exec(line)
    if (!m) continue
    const entry = modules.get(m[1]) ?? { Liftoff: 0, TurboFan: 0, sum: false }
    entry[m[2] as 'Liftoff' | 'TurboFan']++
    if (/ bodysize 27 /.test(line)) entry.sum = true
    modules.set(m[1], entry)
  }
  const yoga = [...modules.values()].filter((m) => !m.sum).sort((a, b) => b.Liftoff - a.Liftoff)[0]
  const sum = [...modules.values()].find((m) => m.sum)
  assert.ok(yoga && yoga.Liftoff > 50, `yoga's module compiled with Liftoff: ${JSON.stringify([...modules])}`)
  assert.equal(yoga.TurboFan, 0, "none of yoga's functions reached TurboFan")
  assert.ok(sum && sum.TurboFan >= 1, `the module compiled afterwards tiered up: ${JSON.stringify(sum)}`)
  assert.equal(out.sum, (100000 * 100001) / 2 | 0)
})
