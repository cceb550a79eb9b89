// scripts/ink-ansi-tokenize.mjs (Ink's @alcalzone/ansi-tokenize in the
// dashboard bundle) turns styled characters into the same string as the
// package: random text with colours, bold/dim, underline, inverse and links.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { styledCharsFromTokens, styledCharsToString, tokenize } from '@alcalzone/ansi-tokenize'
// @ts-expect-error: a plain ES module of the build scripts, without types.
import * as wrapper from '../../../scripts/ink-ansi-tokenize.mjs'

const CODES = ['\x1b[1m', '\x1b[2m', '\x1b[22m', '\x1b[4m', '\x1b[24m', '\x1b[7m', '\x1b[27m', '\x1b[31m', '\x1b[32m', '\x1b[39m', '\x1b[38;5;208m', '\x1b[48;2;1;2;3m', '\x1b[49m', '\x1b[0m', '\x1b]8;;https://example.org\x07', '\x1b]8;;\x07']

test("styledCharsToString gives the package's string for random styled text", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom(...CODES), fc.constantFrom('a', 'b', ' ', '─', '↓', '·')), { maxLength: 60 }), (parts) => {
      const chars = styledCharsFromTokens(tokenize(parts.join('')))
      assert.equal(wrapper.styledCharsToString(chars), styledCharsToString(chars))
    }),
    { numRuns: 1000 },
  )
})

test('the wrapper exports the rest of the package unchanged', () => {
  assert.equal(wrapper.tokenize, tokenize)
  assert.equal(wrapper.styledCharsFromTokens, styledCharsFromTokens)
  assert.notEqual(wrapper.styledCharsToString, styledCharsToString)
})
