import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Decoder, DEFAULT_MAX_MESSAGE_LENGTH, WireError } from '../../../src/wire/decoder.ts'
import { encodeHandshake } from '../../../src/wire/handshake.ts'
import { encode, MessageId, type Message } from '../../../src/wire/messages.ts'
import { bytes, decodeInChunks, everyMessage, streamOf } from './wire-fixtures.ts'

function frame(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(payload.length + 1, 0)
  head[4] = id
  return Buffer.concat([head, payload])
}

test('the same stream decodes identically one byte at a time, in random chunks and in one chunk', () => {
  const messages = [...everyMessage(), ...everyMessage().reverse()]
  const stream = streamOf(messages)
  const whole = decodeInChunks(stream, [stream.length])
  assert.deepEqual(whole, messages)
  assert.deepEqual(decodeInChunks(stream, [1]), messages)
  const rng = bytes(512, 99)
  for (let round = 0; round < 20; round++) {
    const sizes = Array.from(rng.subarray(round * 16, round * 16 + 16), (b) => 1 + (b * (round + 1)) % 9000)
    assert.deepEqual(decodeInChunks(stream, sizes), messages, `chunk sizes ${sizes.join(',')}`)
  }
})

test('bufferedBytes counts what has arrived but is not yet a message', () => {
  const decoder = new Decoder()
  const have = encode({ type: 'have', index: 5 })
  assert.deepEqual(decoder.push(have.subarray(0, 2)), [])
  assert.equal(decoder.bufferedBytes, 2)
  assert.deepEqual(decoder.push(have.subarray(2, 6)), [])
  assert.equal(decoder.bufferedBytes, 6)
  assert.deepEqual(decoder.push(Buffer.concat([have.subarray(6), encode({ type: 'choke' }).subarray(0, 3)])), [
    { type: 'have', index: 5 },
  ])
  assert.equal(decoder.bufferedBytes, 3)
})

test('a handshake comes first, then messages, in one chunk or byte by byte', () => {
  const infoHash = bytes(20, 1)
  const peerId = bytes(20, 2)
  const messages: Message[] = [{ type: 'haveAll' }, { type: 'unchoke' }, { type: 'piece', index: 1, begin: 0, block: bytes(100) }]
  const stream = Buffer.concat([encodeHandshake(infoHash, peerId, { fast: true }), streamOf(messages)])
  for (const sizes of [[stream.length], [1], [67, 2], [20, 48, 5]]) {
    const items = decodeInChunks(stream, sizes, { expectHandshake: true })
    assert.equal(items.length, 4)
    const [hs, ...rest] = items
    assert.equal(hs.type, 'handshake')
    if (hs.type !== 'handshake') return
    assert.deepEqual(hs.infoHash, infoHash)
    assert.deepEqual(hs.peerId, peerId)
    assert.equal(hs.reserved[7] & 0x04, 0x04)
    assert.deepEqual(rest, messages)
  }
})

test('a peer that does not start with the BitTorrent handshake is turned away on its first wrong byte', () => {
  // aria2c and others try MSE first: 96+ bytes of Diffie-Hellman key, then they wait.
  const mse = new Decoder({ expectHandshake: true })
  assert.throws(() => mse.push(Buffer.from([0x8f])), { name: 'WireError', message: 'not a BitTorrent handshake' })

  const http = new Decoder({ expectHandshake: true })
  assert.throws(() => http.push(Buffer.from('GET / HTTP/1.1\r\n')), WireError)

  const wrongPstr = new Decoder({ expectHandshake: true })
  assert.deepEqual(wrongPstr.push(Buffer.from('\x13BitT')), [])
  assert.throws(() => wrongPstr.push(Buffer.from('x')), { message: 'not a BitTorrent handshake' })
})

test('a length prefix over the limit throws before anything that size is allocated', (t) => {
  const sizes: number[] = []
  const realAllocUnsafe = Buffer.allocUnsafe
  const realAlloc = Buffer.alloc
  t.mock.method(Buffer, 'allocUnsafe', (size: number) => {
    sizes.push(size)
    return realAllocUnsafe(size)
  })
  t.mock.method(Buffer, 'alloc', (size: number, ...rest: []) => {
    sizes.push(size)
    return realAlloc(size, ...rest)
  })
  const decoder = new Decoder()
  assert.throws(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 7])), (err: unknown) => {
    assert.ok(err instanceof WireError)
    assert.match(err.message, /4294967295/)
    assert.match(err.message, new RegExp(String(DEFAULT_MAX_MESSAGE_LENGTH)))
    return true
  })
  assert.ok(sizes.every((size) => size <= 68), `allocated ${sizes.join(', ')}`)
  // The spy does see the decoder's allocations: a split request pre-sizes 13 bytes.
  new Decoder().push(encode({ type: 'request', index: 0, begin: 0, length: 1 }).subarray(0, 6))
  assert.ok(sizes.includes(13), `allocated ${sizes.join(', ')}`)

  const split = new Decoder({ maxMessageLength: 100 })
  assert.deepEqual(split.push(Buffer.from([0, 0])), [])
  assert.throws(() => split.push(Buffer.from([0, 101])), /101 bytes, over the limit of 100 bytes/)
})

test('a message exactly at the limit is accepted', () => {
  const decoder = new Decoder({ maxMessageLength: 1 + 100 })
  const bitfield = bytes(100)
  assert.deepEqual(decoder.push(encode({ type: 'bitfield', bitfield })), [{ type: 'bitfield', bitfield }])
})

test('fixed-size messages with the wrong payload length throw', () => {
  const fixed: [MessageId, number][] = [
    [MessageId.Choke, 0], [MessageId.Unchoke, 0], [MessageId.Interested, 0], [MessageId.NotInterested, 0],
    [MessageId.Have, 4], [MessageId.Request, 12], [MessageId.Cancel, 12], [MessageId.Port, 2],
    [MessageId.Suggest, 4], [MessageId.HaveAll, 0], [MessageId.HaveNone, 0], [MessageId.Reject, 12],
    [MessageId.AllowedFast, 4],
  ]
  for (const [id, size] of fixed) {
    assert.equal(new Decoder().push(frame(id, Buffer.alloc(size))).length, 1, `id ${id} at its size`)
    for (const wrong of [size + 1, size - 1].filter((n) => n >= 0)) {
      assert.throws(() => new Decoder().push(frame(id, Buffer.alloc(wrong))), WireError, `id ${id} with ${wrong} bytes`)
    }
  }
  assert.throws(() => new Decoder().push(frame(MessageId.Piece, Buffer.alloc(7))), /piece message with a 7-byte payload; it must be at least 8/)
  assert.throws(() => new Decoder().push(frame(MessageId.Extended, Buffer.alloc(0))), WireError)
})

test('after a WireError the decoder stays dead', () => {
  const decoder = new Decoder()
  assert.throws(() => decoder.push(frame(MessageId.Have, Buffer.alloc(3))), WireError)
  assert.throws(() => decoder.push(encode({ type: 'choke' })), /decoder already failed: peer sent a have message/)
})

test('an unknown id is returned as unknown and the stream continues', () => {
  const stream = Buffer.concat([frame(0x63, Buffer.from('mystery')), encode({ type: 'have', index: 2 }), frame(30, Buffer.alloc(0))])
  assert.deepEqual(new Decoder().push(stream), [
    { type: 'unknown', id: 0x63, payload: Buffer.from('mystery') },
    { type: 'have', index: 2 },
    { type: 'unknown', id: 30, payload: Buffer.alloc(0) },
  ])
})

test('a piece block inside one chunk is a view of that chunk, not a copy', () => {
  const block = bytes(16384, 5)
  const chunk = Buffer.concat([encode({ type: 'choke' }), encode({ type: 'piece', index: 4, begin: 16384, block }), encode({ type: 'unchoke' })])
  const [, piece] = new Decoder().push(chunk)
  assert.equal(piece.type, 'piece')
  if (piece.type !== 'piece') return
  assert.equal(piece.block.buffer, chunk.buffer)
  assert.equal(piece.block.byteOffset, chunk.byteOffset + 5 + 13)
  assert.deepEqual(piece.block, block)
})

test('a piece split across chunks is assembled whole, copied once into its own buffer', () => {
  const block = bytes(16384, 6)
  const whole = encode({ type: 'piece', index: 1, begin: 0, block })
  const decoder = new Decoder()
  const first = Buffer.from(whole.subarray(0, 1000))
  const second = Buffer.from(whole.subarray(1000))
  assert.deepEqual(decoder.push(first), [])
  assert.equal(decoder.bufferedBytes, 1000)
  const [piece] = decoder.push(second)
  assert.ok(piece.type === 'piece')
  assert.deepEqual(piece.block, block)
  assert.notEqual(piece.block.buffer, first.buffer)
  assert.notEqual(piece.block.buffer, second.buffer)
  assert.equal(piece.block.buffer.byteLength, whole.length - 4)
})

test('keep-alives between other messages are returned in order', () => {
  const stream = streamOf([{ type: 'keepAlive' }, { type: 'interested' }, { type: 'keepAlive' }, { type: 'keepAlive' }])
  assert.deepEqual(decodeInChunks(stream, [3]), [
    { type: 'keepAlive' }, { type: 'interested' }, { type: 'keepAlive' }, { type: 'keepAlive' },
  ])
})

// How fast: npm run bench (parse section), not a timed test.
test('many small messages in one large chunk all decode, in order', () => {
  const messages: Message[] = []
  for (let i = 0; i < 50000; i++) messages.push({ type: 'have', index: i })
  const stream = streamOf(messages)
  const decoded = new Decoder().push(stream)
  assert.equal(decoded.length, 50000)
  assert.ok(decoded.every((m, i) => m.type === 'have' && m.index === i), 'each have, in order')
})

test('reuseBuffers: messages consumed after each push equal the plain decoder, with no buffer per split message', () => {
  const stream = streamOf(everyMessage())
  const blocks = Array.from({ length: 6 }, (_, i) => encode({ type: 'piece', index: i, begin: 0, block: Buffer.alloc(16384, i + 1) }))
  const all = Buffer.concat([stream, ...blocks])
  const expected = new Decoder().push(all).map((m) => JSON.stringify(m))
  const reusing = new Decoder({ reuseBuffers: true })
  const seen: string[] = []
  const blockBuffers = new Set<ArrayBufferLike>()
  // 5000-byte chunks split every piece message; each batch is consumed before the next push.
  for (let at = 0; at < all.length; at += 5000) {
    for (const m of reusing.push(all.subarray(at, at + 5000))) {
      seen.push(JSON.stringify(m))
      if (m.type === 'piece' && m.block.buffer !== all.buffer) blockBuffers.add(m.block.buffer)
    }
  }
  assert.deepEqual(seen, expected)
  assert.ok(blockBuffers.size <= 2, `split pieces used ${blockBuffers.size} buffers, expected the two scratch buffers`)
})
