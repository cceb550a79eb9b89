// Shared samples for the wire tests: one of every message, and stream helpers.

import { Decoder, type DecodedItem, type DecoderOptions } from '../../../src/wire/decoder.ts'
import { encode, type Message } from '../../../src/wire/messages.ts'

export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** One of every message type, with values at the edges of their fields. */
export function everyMessage(): Message[] {
  return [
    { type: 'keepAlive' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'notInterested' },
    { type: 'have', index: 0xffffffff },
    { type: 'bitfield', bitfield: Buffer.from([0b10110000, 0xff, 0x01]) },
    { type: 'bitfield', bitfield: Buffer.alloc(0) },
    { type: 'request', index: 7, begin: 16384, length: 16384 },
    { type: 'piece', index: 3, begin: 32768, block: bytes(16384, 7) },
    { type: 'piece', index: 0, begin: 0, block: Buffer.alloc(0) },
    { type: 'cancel', index: 7, begin: 16384, length: 16384 },
    { type: 'port', port: 6881 },
    { type: 'suggest', index: 12 },
    { type: 'haveAll' },
    { type: 'haveNone' },
    { type: 'reject', index: 1, begin: 2, length: 3 },
    { type: 'allowedFast', index: 99 },
    { type: 'extended', extId: 0, payload: Buffer.from('d1:md11:ut_metadatai3eee') },
    { type: 'extended', extId: 255, payload: Buffer.alloc(0) },
    { type: 'hashRequest', piecesRoot: bytes(32, 5), baseLayer: 0, index: 512, length: 512, proofLayers: 10 },
    { type: 'hashes', piecesRoot: bytes(32, 6), baseLayer: 2, index: 4, length: 2, proofLayers: 3, hashes: bytes(32 * 4, 8) },
    { type: 'hashes', piecesRoot: bytes(32, 6), baseLayer: 0, index: 0, length: 0, proofLayers: 0, hashes: Buffer.alloc(0) },
    { type: 'hashReject', piecesRoot: bytes(32, 9), baseLayer: 0xffffffff, index: 1, length: 2, proofLayers: 0 },
    { type: 'unknown', id: 0x42, payload: Buffer.from('hello') },
    { type: 'unknown', id: 10, payload: Buffer.alloc(0) },
  ]
}

export function streamOf(messages: Message[]): Buffer {
  return Buffer.concat(messages.map(encode))
}

/** Feeds `stream` in pieces of the given sizes (cycled) and collects everything decoded. */
export function decodeInChunks(stream: Buffer, sizes: number[], opts?: DecoderOptions): DecodedItem[] {
  const decoder = new Decoder(opts)
  const items: DecodedItem[] = []
  let pos = 0
  let i = 0
  while (pos < stream.length) {
    const size = Math.max(1, sizes[i++ % sizes.length])
    // A copy, so each chunk has its own memory as from a socket.
    items.push(...decoder.push(Buffer.from(stream.subarray(pos, pos + size))))
    pos += size
  }
  if (decoder.bufferedBytes !== 0) throw new Error(`decoder still holds ${decoder.bufferedBytes} bytes at the end of the stream`)
  return items
}
