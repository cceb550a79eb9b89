import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Decoder } from '../../../src/wire/decoder.ts'
import { encode, encodePieceHeader, MessageId, PIECE_HEADER_LENGTH } from '../../../src/wire/messages.ts'
import { bytes, everyMessage } from './wire-fixtures.ts'

test('frames match BEP 3 byte for byte', () => {
  assert.deepEqual(encode({ type: 'keepAlive' }), Buffer.from([0, 0, 0, 0]))
  assert.deepEqual(encode({ type: 'interested' }), Buffer.from([0, 0, 0, 1, 2]))
  assert.deepEqual(encode({ type: 'have', index: 0x01020304 }), Buffer.from([0, 0, 0, 5, 4, 1, 2, 3, 4]))
  assert.deepEqual(
    encode({ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }),
    Buffer.from([0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]),
  )
  assert.deepEqual(encode({ type: 'port', port: 0x1ae1 }), Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]))
  assert.deepEqual(encode({ type: 'haveAll' }), Buffer.from([0, 0, 0, 1, 0x0e]))
  assert.deepEqual(encode({ type: 'allowedFast', index: 5 }), Buffer.from([0, 0, 0, 5, 0x11, 0, 0, 0, 5]))
  assert.deepEqual(
    encode({ type: 'extended', extId: 3, payload: Buffer.from('de') }),
    Buffer.from([0, 0, 0, 4, 20, 3, 0x64, 0x65]),
  )
  assert.deepEqual(encode({ type: 'bitfield', bitfield: Buffer.from([0xa0]) }), Buffer.from([0, 0, 0, 2, 5, 0xa0]))
})

test('BEP 52 hash messages: frames byte for byte, and a hashes payload that is not whole hashes is refused', () => {
  const root = Buffer.alloc(32, 0xab)
  const range = { piecesRoot: root, baseLayer: 0, index: 4, length: 2, proofLayers: 3 }
  const head = Buffer.concat([root, Buffer.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 3])])
  assert.deepEqual(encode({ type: 'hashRequest', ...range }), Buffer.concat([Buffer.from([0, 0, 0, 0x31, 21]), head]))
  assert.deepEqual(encode({ type: 'hashReject', ...range }), Buffer.concat([Buffer.from([0, 0, 0, 0x31, 23]), head]))
  const hashes = Buffer.alloc(64, 7)
  assert.deepEqual(encode({ type: 'hashes', ...range, hashes }), Buffer.concat([Buffer.from([0, 0, 0, 0x71, 22]), head, hashes]))
  const odd = encode({ type: 'hashes', ...range, hashes: Buffer.alloc(33) })
  assert.throws(() => new Decoder().push(odd), /hashes message whose hashes are 33 bytes, not a multiple of 32/)
  const short = encode({ type: 'unknown', id: 21, payload: Buffer.alloc(47) })
  assert.throws(() => new Decoder().push(short), /hash request message with a 47-byte payload; it must be 48 bytes/)
})

test('every frame starts with its own length', () => {
  for (const msg of everyMessage()) {
    const frame = encode(msg)
    assert.equal(frame.readUInt32BE(0), frame.length - 4, msg.type)
  }
})

test('encodePieceHeader followed by the block is the piece frame', () => {
  const block = bytes(16384, 3)
  const head = encodePieceHeader(9, 49152, block.length)
  assert.equal(head.length, PIECE_HEADER_LENGTH)
  assert.equal(head[4], MessageId.Piece)
  assert.deepEqual(Buffer.concat([head, block]), encode({ type: 'piece', index: 9, begin: 49152, block }))
})

test('every message type round-trips through encode and the decoder', () => {
  for (const msg of everyMessage()) {
    const decoded = new Decoder().push(encode(msg))
    assert.deepEqual(decoded, [msg], msg.type)
  }
})

test('encode rejects field values that do not fit the frame', () => {
  assert.throws(() => encode({ type: 'have', index: -1 }), RangeError)
  assert.throws(() => encode({ type: 'port', port: 70000 }), RangeError)
  assert.throws(() => encode({ type: 'extended', extId: 256, payload: Buffer.alloc(0) }), RangeError)
})
