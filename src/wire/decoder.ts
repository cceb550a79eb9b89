// Incremental peer wire decoder: fed socket chunks split anywhere, returns whole messages.
// Copies each byte at most once: a message inside one chunk is parsed in place (a piece
// block is a view of the chunk); a split one is copied into a buffer sized from its prefix.
// Never touches a socket. Throws only WireError, then stays dead: the caller closes.

import { HANDSHAKE_LENGTH, PROTOCOL_PREFIX, decodeHandshake, type Handshake } from './handshake.ts'
import { HASH_RANGE_LENGTH, MessageId, type HashRange, type Message } from './messages.ts'
import { WireError } from './wire-error.ts'

export { WireError }

/** A 16 KiB block plus headroom; large enough for the bitfield of 8 million pieces. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1024 * 1024 + 16

const LENGTH_PREFIX_BYTES = 4

export interface DecoderOptions {
  /** Largest accepted length prefix (id + payload), in bytes. */
  maxMessageLength?: number
  /** Expect the 68-byte BEP 3 handshake before the first message. */
  expectHandshake?: boolean
  /**
   * Assemble split messages in two scratch buffers used in turn instead of a
   * new buffer each: no garbage per split message, but every view returned by
   * push() is valid only until the next push(). For callers that handle each
   * batch at once and copy what they keep (the peer connection).
   */
  reuseBuffers?: boolean
}

export type DecodedItem = Message | ({ type: 'handshake' } & Handshake)

export class Decoder {
  readonly #maxMessageLength: number
  /** Pre-sized while the handshake is awaited; null once it has been decoded. */
  #handshake: Buffer | null
  #handshakeFilled = 0
  readonly #lengthPrefix = Buffer.alloc(LENGTH_PREFIX_BYTES)
  #lengthPrefixFilled = 0
  /** The id and payload of a message split across chunks, pre-sized from its prefix. */
  #body: Buffer | null = null
  #bodyFilled = 0
  #failure: Error | null = null
  readonly #scratch: [Buffer, Buffer] | null
  #scratchTurn = 0

  constructor(opts: DecoderOptions = {}) {
    const max = opts.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxMessageLength must be a positive whole number, got ${max}`)
    this.#maxMessageLength = max
    this.#handshake = opts.expectHandshake ? Buffer.alloc(HANDSHAKE_LENGTH) : null
    this.#scratch = opts.reuseBuffers ? [Buffer.alloc(0), Buffer.alloc(0)] : null
  }

  /** Bytes received but not yet returned as a whole message (or handshake). */
  get bufferedBytes(): number {
    if (this.#handshake) return this.#handshakeFilled
    if (this.#body) return LENGTH_PREFIX_BYTES + this.#bodyFilled
    return this.#lengthPrefixFilled
  }

  /**
   * Decodes every message completed by `chunk`. Returned buffers may be views of
   * `chunk`, so the caller must not reuse that memory afterwards.
   */
  push(chunk: Buffer): DecodedItem[] {
    if (this.#failure) throw new WireError(`decoder already failed: ${this.#failure.message}`)
    const items: DecodedItem[] = []
    try {
      this.#consume(chunk, items)
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err))
      this.#handshake = null
      this.#body = null
      throw err
    }
    return items
  }

  #consume(chunk: Buffer, items: DecodedItem[]): void {
    let pos = 0
    const end = chunk.length
    if (this.#handshake) {
      pos = this.#consumeHandshake(chunk, items)
    }
    while (pos < end) {
      if (this.#body) {
        const n = Math.min(this.#body.length - this.#bodyFilled, end - pos)
        chunk.copy(this.#body, this.#bodyFilled, pos, pos + n)
        this.#bodyFilled += n
        pos += n
        if (this.#bodyFilled === this.#body.length) {
          items.push(parseMessage(this.#body, 0, this.#body.length))
          this.#body = null
          this.#bodyFilled = 0
        }
        continue
      }

      let length: number
      if (this.#lengthPrefixFilled > 0 || end - pos < LENGTH_PREFIX_BYTES) {
        const n = Math.min(LENGTH_PREFIX_BYTES - this.#lengthPrefixFilled, end - pos)
        chunk.copy(this.#lengthPrefix, this.#lengthPrefixFilled, pos, pos + n)
        this.#lengthPrefixFilled += n
        pos += n
        if (this.#lengthPrefixFilled < LENGTH_PREFIX_BYTES) break
        this.#lengthPrefixFilled = 0
        length = this.#lengthPrefix.readUInt32BE(0)
      } else {
        length = chunk.readUInt32BE(pos)
        pos += LENGTH_PREFIX_BYTES
      }

      if (length > this.#maxMessageLength) {
        throw new WireError(`peer sent a message of ${length} bytes, over the limit of ${this.#maxMessageLength} bytes`)
      }
      if (length === 0) {
        items.push({ type: 'keepAlive' })
      } else if (end - pos >= length) {
        items.push(parseMessage(chunk, pos, length))
        pos += length
      } else {
        this.#body = this.#bodyBuffer(length)
        this.#bodyFilled = 0
      }
    }
  }

  /**
   * Room for a split message. Reusing, the two scratch buffers alternate: the
   * message completed earlier in this push may still be in one of them.
   */
  #bodyBuffer(length: number): Buffer {
    if (!this.#scratch) return Buffer.allocUnsafe(length)
    const turn = (this.#scratchTurn ^= 1)
    if (this.#scratch[turn].length < length) this.#scratch[turn] = Buffer.allocUnsafeSlow(Math.max(length, 16 * 1024 + 13))
    return this.#scratch[turn].subarray(0, length)
  }

  /** Returns the position in `chunk` after the handshake bytes it held. */
  #consumeHandshake(chunk: Buffer, items: DecodedItem[]): number {
    const handshake = this.#handshake!
    const filled = this.#handshakeFilled
    const n = Math.min(HANDSHAKE_LENGTH - filled, chunk.length)
    // Check the protocol prefix byte by byte, so an MSE or HTTP peer is turned away
    // on its first bytes rather than after we wait for 68 of them.
    const prefixEnd = Math.min(PROTOCOL_PREFIX.length, filled + n)
    for (let i = filled; i < prefixEnd; i++) {
      if (chunk[i - filled] !== PROTOCOL_PREFIX[i]) throw new WireError('not a BitTorrent handshake')
    }
    if (filled === 0 && n === HANDSHAKE_LENGTH) {
      items.push({ type: 'handshake', ...decodeHandshake(chunk.subarray(0, HANDSHAKE_LENGTH)) })
      this.#handshake = null
      return n
    }
    chunk.copy(handshake, filled, 0, n)
    this.#handshakeFilled += n
    if (this.#handshakeFilled === HANDSHAKE_LENGTH) {
      items.push({ type: 'handshake', ...decodeHandshake(handshake) })
      this.#handshake = null
      this.#handshakeFilled = 0
    }
    return n
  }
}

const MESSAGE_NAMES: Record<number, string> = {
  [MessageId.Choke]: 'choke',
  [MessageId.Unchoke]: 'unchoke',
  [MessageId.Interested]: 'interested',
  [MessageId.NotInterested]: 'not interested',
  [MessageId.Have]: 'have',
  [MessageId.Request]: 'request',
  [MessageId.Piece]: 'piece',
  [MessageId.Cancel]: 'cancel',
  [MessageId.Port]: 'port',
  [MessageId.Suggest]: 'suggest',
  [MessageId.HaveAll]: 'have all',
  [MessageId.HaveNone]: 'have none',
  [MessageId.Reject]: 'reject',
  [MessageId.AllowedFast]: 'allowed fast',
  [MessageId.Extended]: 'extended',
  [MessageId.HashRequest]: 'hash request',
  [MessageId.Hashes]: 'hashes',
  [MessageId.HashReject]: 'hash reject',
}

function expectPayload(id: number, payloadLength: number, expected: number): void {
  if (payloadLength !== expected) {
    throw new WireError(`peer sent a ${MESSAGE_NAMES[id]} message with a ${payloadLength}-byte payload; it must be ${expected} bytes`)
  }
}

function expectAtLeast(id: number, payloadLength: number, minimum: number): void {
  if (payloadLength < minimum) {
    throw new WireError(`peer sent a ${MESSAGE_NAMES[id]} message with a ${payloadLength}-byte payload; it must be at least ${minimum} bytes`)
  }
}

/** Parses the message whose id byte is at `buf[start]` and which spans `length` bytes (>= 1). */
function parseMessage(buf: Buffer, start: number, length: number): Message {
  const id = buf[start]
  const p = start + 1
  const payloadLength = length - 1
  const end = start + length
  switch (id) {
    /** <len=0001><id=0> */
    case MessageId.Choke:
      expectPayload(id, payloadLength, 0)
      return { type: 'choke' }
    /** <len=0001><id=1> */
    case MessageId.Unchoke:
      expectPayload(id, payloadLength, 0)
      return { type: 'unchoke' }
    /** <len=0001><id=2> */
    case MessageId.Interested:
      expectPayload(id, payloadLength, 0)
      return { type: 'interested' }
    /** <len=0001><id=3> */
    case MessageId.NotInterested:
      expectPayload(id, payloadLength, 0)
      return { type: 'notInterested' }
    /** <len=0005><id=4><index> */
    case MessageId.Have:
      expectPayload(id, payloadLength, 4)
      return { type: 'have', index: buf.readUInt32BE(p) }
    /** <len=0001+X><id=5><bitfield>; its size against the piece count is the caller's check */
    case MessageId.Bitfield:
      return { type: 'bitfield', bitfield: buf.subarray(p, end) }
    /** <len=0013><id=6><index><begin><length> */
    case MessageId.Request:
      expectPayload(id, payloadLength, 12)
      return { type: 'request', index: buf.readUInt32BE(p), begin: buf.readUInt32BE(p + 4), length: buf.readUInt32BE(p + 8) }
    /** <len=0009+X><id=7><index><begin><block> */
    case MessageId.Piece:
      expectAtLeast(id, payloadLength, 8)
      return { type: 'piece', index: buf.readUInt32BE(p), begin: buf.readUInt32BE(p + 4), block: buf.subarray(p + 8, end) }
    /** <len=0013><id=8><index><begin><length> */
    case MessageId.Cancel:
      expectPayload(id, payloadLength, 12)
      return { type: 'cancel', index: buf.readUInt32BE(p), begin: buf.readUInt32BE(p + 4), length: buf.readUInt32BE(p + 8) }
    /** <len=0003><id=9><listen-port:u16> (BEP 5) */
    case MessageId.Port:
      expectPayload(id, payloadLength, 2)
      return { type: 'port', port: buf.readUInt16BE(p) }
    /** <len=0005><id=0x0d><index> (BEP 6) */
    case MessageId.Suggest:
      expectPayload(id, payloadLength, 4)
      return { type: 'suggest', index: buf.readUInt32BE(p) }
    /** <len=0001><id=0x0e> (BEP 6) */
    case MessageId.HaveAll:
      expectPayload(id, payloadLength, 0)
      return { type: 'haveAll' }
    /** <len=0001><id=0x0f> (BEP 6) */
    case MessageId.HaveNone:
      expectPayload(id, payloadLength, 0)
      return { type: 'haveNone' }
    /** <len=0013><id=0x10><index><begin><length> (BEP 6) */
    case MessageId.Reject:
      expectPayload(id, payloadLength, 12)
      return { type: 'reject', index: buf.readUInt32BE(p), begin: buf.readUInt32BE(p + 4), length: buf.readUInt32BE(p + 8) }
    /** <len=0005><id=0x11><index> (BEP 6) */
    case MessageId.AllowedFast:
      expectPayload(id, payloadLength, 4)
      return { type: 'allowedFast', index: buf.readUInt32BE(p) }
    /** <len=0002+X><id=20><ext-id><payload> (BEP 10) */
    case MessageId.Extended:
      expectAtLeast(id, payloadLength, 1)
      return { type: 'extended', extId: buf[p], payload: buf.subarray(p + 1, end) }
    /** <len=0031><id=21><pieces root:32><base layer><index><length><proof layers> (BEP 52) */
    case MessageId.HashRequest:
      expectPayload(id, payloadLength, HASH_RANGE_LENGTH)
      return { type: 'hashRequest', ...hashRange(buf, p) }
    /** <len=0031+32·n><id=22><pieces root:32><base layer><index><length><proof layers><hashes:32·n> (BEP 52) */
    case MessageId.Hashes:
      expectAtLeast(id, payloadLength, HASH_RANGE_LENGTH)
      if ((payloadLength - HASH_RANGE_LENGTH) % 32 !== 0) throw new WireError(`peer sent a hashes message whose hashes are ${payloadLength - HASH_RANGE_LENGTH} bytes, not a multiple of 32`)
      return { type: 'hashes', ...hashRange(buf, p), hashes: buf.subarray(p + HASH_RANGE_LENGTH, end) }
    /** <len=0031><id=23><pieces root:32><base layer><index><length><proof layers> (BEP 52) */
    case MessageId.HashReject:
      expectPayload(id, payloadLength, HASH_RANGE_LENGTH)
      return { type: 'hashReject', ...hashRange(buf, p) }
    /** <len=0001+X><id><payload>: an id we do not speak; BEP 3 says to ignore it */
    default:
      return { type: 'unknown', id, payload: buf.subarray(p, end) }
  }
}

/** The 48 bytes every BEP 52 hash message starts with; the root is a view, like a piece's block. */
function hashRange(buf: Buffer, p: number): HashRange {
  return {
    piecesRoot: buf.subarray(p, p + 32),
    baseLayer: buf.readUInt32BE(p + 32),
    index: buf.readUInt32BE(p + 36),
    length: buf.readUInt32BE(p + 40),
    proofLayers: buf.readUInt32BE(p + 44),
  }
}
