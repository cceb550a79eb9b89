// scripts/ink-text-caches.mjs (Ink's measure-text.js and wrap-text.js in the
// dashboard bundle) gives Ink's results, and holds at most CACHE_LIMIT texts
// per cache however many distinct texts it is asked about.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
// Ink's own modules (not in its package exports: by path).
import inkMeasureText from '../../../node_modules/ink/build/measure-text.js'
import inkWrapText from '../../../node_modules/ink/build/wrap-text.js'
// @ts-expect-error: a plain ES module of the build scripts, without types.
import { CACHE_LIMIT, cachedTexts, measureText, wrapText } from '../../../scripts/ink-text-caches.mjs'

const text = fc.array(fc.constantFrom('a', 'bb', ' ', '\n', '─', '↓', '·', '界', '\x1b[1m', '\x1b[22m', '\x1b[31m', '\x1b[39m'), { maxLength: 40 }).map((p) => p.join(''))

test("measureText and wrapText give Ink's results", () => {
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 30 }), fc.constantFrom('wrap', 'truncate', 'truncate-middle', 'truncate-start', 'end'), (t, width, wrap) => {
      assert.deepEqual(measureText(t), inkMeasureText(t))
      assert.equal(wrapText(t, width, wrap), inkWrapText(t, width, wrap))
    }),
    { numRuns: 500 },
  )
})

test('the caches stay bounded over many distinct texts', () => {
  for (let i = 0; i < 5 * CACHE_LIMIT; i++) {
    assert.deepEqual(measureText(`rate ${i} KiB/s`), { width: `rate ${i} KiB/s`.length, height: 1 })
    wrapText(`eta ${i} s and more`, 8, 'truncate')
  }
  assert.ok(cachedTexts() <= 2 * CACHE_LIMIT, `${cachedTexts()} texts held`)
})
