import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BencodeScanError, bencodeEnd } from '../../../src/core/bencode-scan.ts'

const DEEP = { maxDepth: 64 }

function end(text: string, start = 0, maxDepth = 64): number {
  return bencodeEnd(Buffer.from(text, 'latin1'), start, { maxDepth })
}

function scanError(text: string, maxDepth = 64): BencodeScanError {
  try {
    end(text, 0, maxDepth)
  } catch (err) {
    assert.ok(err instanceof BencodeScanError, `expected a BencodeScanError, got ${String(err)}`)
    return err
  }
  assert.fail(`"${text}" scanned without an error`)
}

test('finds the end of integers, strings, lists and dicts', () => {
  assert.equal(end('i42e'), 4)
  assert.equal(end('i-7e'), 4)
  assert.equal(end('i0e'), 3)
  assert.equal(end('4:spam'), 6)
  assert.equal(end('0:'), 2)
  assert.equal(end('le'), 2)
  assert.equal(end('de'), 2)
  assert.equal(end('l4:spami1ee'), 11)
  assert.equal(end('d3:cow3:moo4:spami3ee'), 21)
})

test('stops at the end of the value, leaving trailing bytes, and starts at an offset', () => {
  assert.equal(end('d1:ai1eeRAWDATA'), 8)
  assert.equal(end('xxi5e', 2), 5)
  // A string's content is skipped by length, so "e" and "d" inside it are not structure.
  assert.equal(end('l3:edee'), 7)
})

test('finds the end of nested values', () => {
  const nested = 'd4:infod5:filesld6:lengthi5e4:pathl1:a1:beee4:name1:xe1:zli1eli2eleeee'
  assert.equal(end(nested), nested.length)
  assert.equal(end(nested + 'i9e'), nested.length)
  assert.equal(end('l'.repeat(64) + 'e'.repeat(64)), 128)
})

test('rejects truncated values and marks them truncated', () => {
  for (const text of ['', 'i12', 'i', '4:spa', '12', 'l', 'li1e', 'd1:a', 'd1:ai1e', 'd3:cow3:moo']) {
    const err = scanError(text)
    assert.equal(err.truncated, true, `"${text}": ${err.message}`)
  }
  assert.match(scanError('li1e').message, /^bencoded value is truncated$/)
  assert.equal(scanError('li1e').offset, 4)
  assert.equal(scanError('4:spa').message, 'bencoded string at byte 0 is longer than the message')
  assert.equal(scanError('l99999999999999999999999:xe').message, 'bencoded string at byte 1 is longer than the message')
  assert.equal(scanError('i12').message, 'malformed bencoded integer at byte 0')
})

test('rejects a negative string length as an unexpected byte', () => {
  const err = scanError('-4:spam')
  assert.equal(err.message, 'unexpected byte 0x2d at byte 0 of bencoded value')
  assert.equal(err.truncated, false)
  // The input that makes bencode.decode loop forever.
  assert.equal(scanError('d0:-4:').message, 'unexpected byte 0x2d at byte 3 of bencoded value')
})

test('rejects a dictionary key that is not a string', () => {
  const err = scanError('di1ei2ee')
  assert.equal(err.message, 'bencoded dictionary key at byte 1 is not a string')
  assert.equal(err.offset, 1)
  assert.equal(scanError('dlee1:ae').message, 'bencoded dictionary key at byte 1 is not a string')
})

test('rejects a dict key without a value, a stray "e" and bytes that start no value', () => {
  assert.equal(scanError('d1:ae').message, 'unexpected "e" at byte 4 of bencoded value')
  assert.equal(scanError('e').message, 'unexpected "e" at byte 0 of bencoded value')
  assert.equal(scanError('x').message, 'unexpected byte 0x78 at byte 0 of bencoded value')
  assert.equal(scanError('ie').message, 'malformed bencoded integer at byte 0')
  assert.equal(scanError('i-e').message, 'malformed bencoded integer at byte 0')
  assert.equal(scanError('i1.5e').message, 'malformed bencoded integer at byte 0')
  assert.equal(scanError('4spam').message, 'malformed bencoded string length at byte 0')
  assert.equal(scanError('4spam').truncated, false)
})

test('enforces the depth limit it is given, counting lists and dicts alike', () => {
  assert.equal(end('l'.repeat(3) + 'e'.repeat(3), 0, 3), 6)
  assert.equal(scanError('l'.repeat(4) + 'e'.repeat(4), 3).message, 'bencoded value nests deeper than 3 levels')
  assert.equal(scanError('d1:ad1:ad1:ad1:aeeee', 3).message, 'bencoded value nests deeper than 3 levels')
  assert.equal(end('d1:ad1:ad1:ai1eeee', 0, 3), 18)
  assert.equal(scanError('l'.repeat(65) + 'e'.repeat(65)).message, 'bencoded value nests deeper than 64 levels')
  // Scalars need no depth: a limit of 0 still frames them.
  assert.equal(end('3:abc', 0, 0), 5)
  assert.equal(scanError('le', 0).message, 'bencoded value nests deeper than 0 levels')
})

test('does not recurse: 200 000 levels scan without overflowing the stack', () => {
  const deep = Buffer.from('l'.repeat(200_000) + 'e'.repeat(200_000))
  assert.equal(bencodeEnd(deep, 0, { maxDepth: 1_000_000 }), deep.length)
  assert.throws(() => bencodeEnd(deep, 0, DEEP), /nests deeper than 64 levels/)
})

test('passes leading zeros and "-0": framing is unambiguous, the decoder decides', () => {
  assert.equal(end('i03e'), 4)
  assert.equal(end('i-0e'), 4)
  assert.equal(end('i-012e'), 6)
  assert.equal(end('03:abc'), 6)
  assert.equal(end('d01:ai1ee'), 9)
})
