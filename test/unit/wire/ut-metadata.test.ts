import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WireError } from '../../../src/wire/decoder.ts'
import {
  decodeMetadataMessage, encodeMetadataMessage, METADATA_PIECE_SIZE, type MetadataMessage,
} from '../../../src/wire/ut-metadata.ts'
import { bytes } from './wire-fixtures.ts'

test('request, data and reject round-trip', () => {
  const messages: MetadataMessage[] = [
    { msgType: 'request', piece: 0 },
    { msgType: 'reject', piece: 7 },
    { msgType: 'data', piece: 0, totalSize: 40000, data: bytes(METADATA_PIECE_SIZE, 1) },
    { msgType: 'data', piece: 2, totalSize: 40000, data: bytes(40000 - 2 * METADATA_PIECE_SIZE, 2) },
    { msgType: 'data', piece: 0, totalSize: 1, data: Buffer.from('d') },
  ]
  for (const m of messages) assert.deepEqual(decodeMetadataMessage(encodeMetadataMessage(m)), m)
})

test('payloads are the dictionaries BEP 9 shows', () => {
  assert.equal(encodeMetadataMessage({ msgType: 'request', piece: 0 }).toString(), 'd8:msg_typei0e5:piecei0ee')
  assert.equal(encodeMetadataMessage({ msgType: 'reject', piece: 0 }).toString(), 'd8:msg_typei2e5:piecei0ee')
  assert.equal(
    encodeMetadataMessage({ msgType: 'data', piece: 0, totalSize: 3, data: Buffer.from('xyz') }).toString(),
    'd8:msg_typei1e5:piecei0e10:total_sizei3eexyz',
  )
})

test('data that itself looks like bencode is split at the dictionary end, not guessed', () => {
  // The info dict is bencode, so the raw piece starts with "d" and ends with "e".
  const data = Buffer.from('d6:lengthi5e4:name3:abce')
  const payload = Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei0e10:total_sizei${data.length}ee`), data])
  const m = decodeMetadataMessage(payload)
  assert.ok(m.msgType === 'data')
  assert.deepEqual(m.data, data)
  assert.equal(m.data.buffer, payload.buffer)
})

test('malformed messages throw WireError', () => {
  const bad: [string, RegExp][] = [
    ['', /not a bencoded dictionary/],
    ['le', /not a bencoded dictionary/],
    ['d8:msg_typei0e5:piecei0e', /truncated/],
    ['d8:msg_typei3e5:piecei0ee', /unknown msg_type 3/],
    ['d5:piecei0ee', /unknown msg_type undefined/],
    ['d8:msg_typei0ee', /no valid "piece"/],
    ['d8:msg_typei0e5:piecei-1ee', /no valid "piece"/],
    ['d8:msg_typei0e5:piece1:0e', /no valid "piece"/],
    ['d8:msg_typei1e5:piecei0eexyz', /no valid "total_size"/],
    ['d8:msg_typei1e5:piecei1e10:total_sizei3eexyz', /lies past total_size/],
    ['d8:msg_typei1e5:piecei0e10:total_sizei3eexy', /is 2 bytes; total_size 3 implies 3/],
    ['d8:msg_typei1e5:piecei0e10:total_sizei99999eexy', /is 2 bytes; total_size 99999 implies 16384/],
  ]
  for (const [text, message] of bad) {
    assert.throws(() => decodeMetadataMessage(Buffer.from(text)), (err: unknown) => {
      assert.ok(err instanceof WireError, `${text}: ${String(err)}`)
      assert.match(err.message, message, text)
      return true
    })
  }
})
