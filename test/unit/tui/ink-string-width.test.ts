// scripts/ink-string-width.mjs (the dashboard bundle's fast path in front of
// string-width) gives string-width's width, both of the versions the bundle
// holds (8.x for Ink, 7.x for wrap-ansi), for every character it measures
// itself and for random text with colour codes; for anything else it gives
// undefined (string-width then measures).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import stringWidth from 'string-width'
// wrap-ansi's own string-width (not in the root's dependencies: by path).
import stringWidth7 from '../../../node_modules/wrap-ansi/node_modules/string-width/index.js'
// @ts-expect-error: a plain ES module of the build scripts, without types.
import { plainWidth } from '../../../scripts/ink-string-width.mjs'

test("every character the fast path measures has string-width's width, alone and in text", () => {
  let measured = 0
  for (let c = 0; c <= 0xffff; c++) {
    const char = String.fromCharCode(c)
    const width = plainWidth(char)
    if (width === undefined) continue
    measured++
    assert.equal(width, stringWidth(char), `U+${c.toString(16)}`)
    assert.equal(width, stringWidth7(char), `U+${c.toString(16)} (7.x)`)
    assert.equal(plainWidth(`a${char}b`), stringWidth(`a${char}b`), `U+${c.toString(16)} between letters`)
  }
  assert.ok(measured > 800, `only ${measured} characters took the fast path`)
})

test("random text with colour codes: string-width's width, or undefined", () => {
  const parts = ['a', 'bb', ' ', '─', '↓', '·', '…', '⣿', '▶', '◾', 'é', '\xad', '界', '😀', 'e\u0301', '✔\uFE0F', '\t', '\x1b', '\x1b[1m', '\x1b[22m', '\x1b[31m', '\x1b[38;5;208m', '\x1b[48;2;1;2;3m', '\x1b[m', '\x1b[;1m', '\x1b[1;;2m', '\x1b[12345m', '\x1b[1;99999m', '\x1b[3x', '\x1b]8;;https://example.org\x07', '\x1b]8;;\x07']
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...parts), { maxLength: 20 }).map((p) => p.join('')), (text) => {
      const width = plainWidth(text)
      if (width !== undefined) {
        assert.equal(width, stringWidth(text))
        assert.equal(width, stringWidth7(text))
      }
    }),
    { numRuns: 3000 },
  )
  assert.equal(plainWidth('\x1b[31m↓ 1.2 MB/s\x1b[39m ⣿⣀'), 13)
  assert.equal(plainWidth('界'), undefined)
  assert.equal(plainWidth('ab', { ambiguousIsNarrow: false }), undefined)
})
