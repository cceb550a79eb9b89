// grapheme-segmenter.ts splits text as ICU's Intl.Segmenter does: every
// character of its one-unit set alone, random text of that set and of others
// mixed in (handed to the real segmenter), `containing`, and the swap of
// Intl.Segmenter while a loader runs.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { LazyGraphemeSegmenter, withLazySegmenter } from '../../../src/tui/grapheme-segmenter.ts'

const real = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
const lazy = new LazyGraphemeSegmenter(undefined, { granularity: 'grapheme' })
const pieces = (segments: Iterable<Intl.SegmentData>) => [...segments].map(({ segment, index, input }) => ({ segment, index, input }))

const ONE_UNIT = [[0, 0x0c], [0x0e, 0x2ff], [0x2010, 0x2027], [0x2030, 0x205e], [0x2190, 0x23ff], [0x2500, 0x27bf], [0x2800, 0x28ff]]
const oneUnitChar = fc.oneof(...ONE_UNIT.map(([a, b]) => fc.integer({ min: a, max: b }).map((c) => String.fromCharCode(c))))
// Text ICU joins: CR LF, combining marks, ZWJ emoji, flags, Hangul, skin tones.
const otherChar = fc.constantFrom('\r', '\r\n', '\u0301', 'e\u0301', '\u200d', '👍', '👍🏽', '👩‍👩‍👧', '🇩🇪', '한', '\u1100\u1161', '\ufe0f', 'क्ष')

test('every character of the one-unit set alone is one segment, as ICU has it', () => {
  for (const [a, b] of ONE_UNIT) {
    for (let c = a; c <= b; c++) {
      const s = `x${String.fromCharCode(c)}y`
      assert.deepEqual(pieces(lazy.segment(s)), pieces(real.segment(s)), `U+${c.toString(16)}`)
    }
  }
})

test('random text splits as ICU splits it, with and without characters outside the set', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof({ weight: 8, arbitrary: oneUnitChar }, { weight: 1, arbitrary: otherChar }), { maxLength: 40 }), (chars) => {
      const s = chars.join('')
      assert.deepEqual(pieces(lazy.segment(s)), pieces(real.segment(s)))
      for (const i of [-1, 0, 1, s.length - 1, s.length, Math.floor(s.length / 2)]) {
        const a = lazy.segment(s).containing(i)
        const b = real.segment(s).containing(i)
        assert.deepEqual(a && { segment: a.segment, index: a.index }, b && { segment: b.segment, index: b.index }, `containing(${i}) of ${JSON.stringify(s)}`)
      }
    }),
    { numRuns: 500 },
  )
})

test('word granularity and bad options go to (or fail as) the real segmenter', () => {
  const words = new LazyGraphemeSegmenter('en', { granularity: 'word' })
  assert.deepEqual(pieces(words.segment('hello big world')), pieces(new Intl.Segmenter('en', { granularity: 'word' }).segment('hello big world')))
  assert.equal(words.resolvedOptions().granularity, 'word')
  assert.throws(() => new LazyGraphemeSegmenter(undefined, { granularity: 'line' as 'word' }), RangeError)
})

test('withLazySegmenter swaps Intl.Segmenter for the loader only, also when it fails', async () => {
  const before = Intl.Segmenter
  const made = await withLazySegmenter(async () => {
    const s = new Intl.Segmenter()
    // Text that needs ICU, segmented while the stand-in is in place: the real segmenter, no recursion.
    return { s, joined: [...s.segment('e\u0301👍🏽')].map((x) => x.segment) }
  })
  assert.ok(made.s instanceof LazyGraphemeSegmenter)
  assert.deepEqual(made.joined, ['e\u0301', '👍🏽'])
  assert.equal(Intl.Segmenter, before)
  await assert.rejects(withLazySegmenter(async () => { throw new Error('load failed') }), /load failed/)
  assert.equal(Intl.Segmenter, before)
})
