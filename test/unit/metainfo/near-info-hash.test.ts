// Text that names no file and looks meant as an info hash gets told it is not one.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { notAnInfoHashNote, parseMagnetOrInfoHash } from '../../../src/metainfo/magnet.ts'

const SHAPES = 'an info hash is 40 hex digits (v1), 32 base32 characters, or 64 hex digits (v2)'

test('hex of the wrong length, a stray letter in 40 or 64 digits, base32 of the wrong length', () => {
  assert.equal(notAnInfoHashNote('0123456789abcdef'), `, and not an info hash: 16 hex digits; ${SHAPES}`)
  assert.equal(notAnInfoHashNote('C9E15763F722F23E98A29DECDFAE341B98D5305'), `, and not an info hash: 39 hex digits; ${SHAPES}`)
  assert.equal(notAnInfoHashNote('c9e15763f722f23e98a29decdfae341b98d5305g'), `, and not an info hash: "g" is not a hex digit; ${SHAPES}`)
  assert.equal(notAnInfoHashNote(`${'ab'.repeat(31)}xy`), `, and not an info hash: "x" is not a hex digit; ${SHAPES}`)
  assert.equal(notAnInfoHashNote('ZHQVOY7SELZD5GFCTXW77LRUDOMNKMC'), `, and not an info hash: 31 base32 characters; ${SHAPES}`)
})

test('names that do not look like a hash get no note', () => {
  for (const name of ['ubuntu.torrent', 'movie', 'cafe', 'deadbee', 'file-0123456789abcdef.torrent', 'averyveryverylongnamewithoutdigits', './0123456789abcdef']) {
    assert.equal(notAnInfoHashNote(name), '', name)
  }
})

test('what gets a note is indeed refused as an info hash', () => {
  for (const text of ['0123456789abcdef', 'c9e15763f722f23e98a29decdfae341b98d5305g', 'ZHQVOY7SELZD5GFCTXW77LRUDOMNKMC']) {
    assert.throws(() => parseMagnetOrInfoHash(text), text)
  }
})
