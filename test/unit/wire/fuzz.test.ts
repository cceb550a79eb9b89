// Property tests: hostile bytes only ever produce WireError, and any list of
// messages survives any chunking.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Decoder, WireError } from '../../../src/wire/decoder.ts'
import { decodeExtendedHandshake, encodeExtendedHandshake } from '../../../src/wire/extension.ts'
import { encodeHandshake } from '../../../src/wire/handshake.ts'
import { MessageId, type Message } from '../../../src/wire/messages.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../../../src/wire/ut-metadata.ts'
import { decodePex, encodePex } from '../../../src/wire/ut-pex.ts'
import { decodeInChunks, streamOf } from './wire-fixtures.ts'

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const smallBuffer = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))
const knownIds = new Set(Object.values(MessageId).filter((v): v is number => typeof v === 'number'))
const unknownId = fc.integer({ min: 0, max: 255 }).filter((id) => !knownIds.has(id))

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>(
    { type: 'keepAlive' }, { type: 'choke' }, { type: 'unchoke' }, { type: 'interested' },
    { type: 'notInterested' }, { type: 'haveAll' }, { type: 'haveNone' },
  ),
  fc.record({ type: fc.constant('have' as const), index: u32 }),
  fc.record({ type: fc.constant('suggest' as const), index: u32 }),
  fc.record({ type: fc.constant('allowedFast' as const), index: u32 }),
  fc.record({ type: fc.constant('bitfield' as const), bitfield: smallBuffer }),
  fc.record({ type: fc.constantFrom('request' as const, 'cancel' as const, 'reject' as const), index: u32, begin: u32, length: u32 }),
  fc.record({ type: fc.constant('piece' as const), index: u32, begin: u32, block: smallBuffer }),
  fc.record({ type: fc.constant('port' as const), port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ type: fc.constant('extended' as const), extId: fc.integer({ min: 0, max: 255 }), payload: smallBuffer }),
  fc.record({ type: fc.constant('unknown' as const), id: unknownId, payload: smallBuffer }),
).map((m) => ({ ...m }) as Message) // fc.record builds null-prototype objects; decoded ones are plain

const chunkSizes = fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 })

/**
 * Frames with small lengths and mostly known ids, usually with a payload of the length
 * the prefix claims, so fuzzing gets past the length check and stays in step.
 */
const frameLike = fc
  .tuple(
    fc.integer({ min: 0, max: 20 }),
    fc.oneof(fc.constantFrom(...knownIds), fc.integer({ min: 0, max: 255 })),
    fc.uint8Array({ maxLength: 20 }),
    fc.boolean(),
  )
  .map(([length, id, rest, aligned]) => {
    const head = Buffer.alloc(5)
    head.writeUInt32BE(length, 0)
    head[4] = id
    const payload = aligned ? Buffer.alloc(Math.max(0, length - 1), Buffer.from(rest.length ? rest : [0])) : Buffer.from(rest)
    return length === 0 && aligned ? head.subarray(0, 4) : Buffer.concat([head, payload])
  })
const hostileStream = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc.array(frameLike, { maxLength: 20 }).map((frames) => Buffer.concat(frames)),
)

function onlyWireErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof WireError)) throw err
  }
}

function feed(decoder: Decoder, stream: Buffer, sizes: number[]): void {
  let pos = 0
  for (let i = 0; pos < stream.length; i++) {
    const size = sizes[i % sizes.length]
    decoder.push(stream.subarray(pos, pos + size))
    pos += size
  }
}

test('random message lists round-trip under random chunking', () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 30 }), chunkSizes, (messages, sizes) => {
      const stream = streamOf(messages)
      assert.deepEqual(decodeInChunks(stream, sizes), messages)
      assert.deepEqual(decodeInChunks(stream, [stream.length || 1]), messages)
    }),
    { numRuns: 300 },
  )
})

test('random byte streams never throw anything but WireError', () => {
  const handshake = encodeHandshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2))
  fc.assert(
    fc.property(hostileStream, chunkSizes, fc.boolean(), fc.boolean(), (stream, sizes, expectHandshake, prefixed) => {
      const input = prefixed ? Buffer.concat([handshake, stream]) : stream
      const decoder = new Decoder({ expectHandshake, maxMessageLength: 1000 })
      onlyWireErrors(() => feed(decoder, input, sizes))
    }),
    { numRuns: 500 },
  )
})

test('the decoder yields the same messages, or fails, however a hostile stream is chunked', () => {
  fc.assert(
    fc.property(hostileStream, chunkSizes, (stream, sizes) => {
      const outcome = (chunking: number[]): unknown => {
        const decoder = new Decoder()
        const items: unknown[] = []
        try {
          let pos = 0
          for (let i = 0; pos < stream.length; i++) {
            items.push(...decoder.push(stream.subarray(pos, pos + chunking[i % chunking.length])))
            pos += chunking[i % chunking.length]
          }
          return { items, bufferedBytes: decoder.bufferedBytes }
        } catch (err) {
          if (err instanceof WireError) return 'WireError'
          throw err
        }
      }
      assert.deepEqual(outcome(sizes), outcome([stream.length || 1]))
    }),
    { numRuns: 300 },
  )
})

test('extension payload decoders throw only WireError on random and mutated input', () => {
  const valid = [
    encodeExtendedHandshake({ m: { ut_metadata: 3, ut_pex: 1 }, v: 'x', p: 6881, metadataSize: 100, yourip: Buffer.alloc(4) }),
    encodeMetadataMessage({ msgType: 'data', piece: 0, totalSize: 20, data: Buffer.alloc(20, 0x65) }),
    encodePex({ added: [{ host: '1.2.3.4', port: 5 }], addedFlags: [2], added6: [{ host: '::1', port: 6 }] }),
  ]
  const mutated = fc
    .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([base, edits, cut]) => {
      const out = Buffer.from(base)
      for (const [at, value] of edits) out[at % out.length] = value
      return out.subarray(0, out.length - (cut % 4))
    })
  const input = fc.oneof(fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)), mutated)
  fc.assert(
    fc.property(input, (payload) => {
      onlyWireErrors(() => decodeExtendedHandshake(payload))
      onlyWireErrors(() => decodeMetadataMessage(payload))
      onlyWireErrors(() => decodePex(payload))
    }),
    { numRuns: 1000 },
  )
})
