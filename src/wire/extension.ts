// BEP 10 extension protocol: the extended handshake (message 20, ext-id 0) and the
// frame of every extended message. Decoding is tolerant of unknown keys and of
// values of the wrong type (they are dropped), strict about broken bencode.
// Pure: never touches a socket.

import { decodeDict, encodeDict, own, safeInteger } from './bencode-dict.ts'
import { MessageId } from './messages.ts'

export const EXTENDED_HANDSHAKE_ID = 0

/** BEP 10: extension message ids are one byte. */
const MAX_EXTENSION_ID = 255

export interface ExtendedHandshake {
  /**
   * Extension name → the id the sender wants to receive it under.
   * 0 means the sender disabled it (BEP 10), which matters on a repeated handshake.
   */
  m: Record<string, number>
  /** Client name and version. */
  v?: string
  /** The sender's listen port. */
  p?: number
  /** How many outstanding requests the sender accepts. */
  reqq?: number
  /** BEP 9: size of the info dictionary in bytes. */
  metadataSize?: number
  /** Our address as the sender sees it: 4 or 16 bytes. */
  yourip?: Buffer
  /** Seconds since the sender last completed the torrent (libtorrent's "complete_ago"). */
  completeAgo?: number
}

/** The bencoded payload of an extended handshake, without the ext-id byte. */
export function encodeExtendedHandshake(h: ExtendedHandshake): Buffer {
  return encodeDict({
    m: h.m,
    v: h.v,
    p: h.p,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    yourip: h.yourip,
    complete_ago: h.completeAgo,
  })
}

export function decodeExtendedHandshake(payload: Buffer): ExtendedHandshake {
  const { dict } = decodeDict(payload, 'extended handshake')
  const m: Record<string, number> = {}
  const rawM = own(dict, 'm')
  if (rawM !== null && typeof rawM === 'object' && !ArrayBuffer.isView(rawM) && !Array.isArray(rawM)) {
    for (const [name, value] of Object.entries(rawM)) {
      const id = safeInteger(value)
      if (id !== undefined && id >= 0 && id <= MAX_EXTENSION_ID) m[name] = id
    }
  }
  const h: ExtendedHandshake = { m }

  const v = own(dict, 'v')
  if (v instanceof Uint8Array) h.v = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  const p = safeInteger(own(dict, 'p'))
  if (p !== undefined && p >= 1 && p <= 65535) h.p = p
  const reqq = safeInteger(own(dict, 'reqq'))
  if (reqq !== undefined && reqq >= 1) h.reqq = reqq
  const metadataSize = safeInteger(own(dict, 'metadata_size'))
  if (metadataSize !== undefined && metadataSize >= 0) h.metadataSize = metadataSize
  const yourip = own(dict, 'yourip')
  if (yourip instanceof Uint8Array && (yourip.length === 4 || yourip.length === 16)) h.yourip = Buffer.from(yourip)
  const completeAgo = safeInteger(own(dict, 'complete_ago'))
  if (completeAgo !== undefined) h.completeAgo = completeAgo
  return h
}

/** The whole frame of an extended message: <len><id=20><ext-id><payload>. */
export function encodeExtended(extId: number, payload: Buffer): Buffer {
  if (!Number.isInteger(extId) || extId < 0 || extId > MAX_EXTENSION_ID) {
    throw new RangeError(`extension message id must be 0-${MAX_EXTENSION_ID}, got ${extId}`)
  }
  const frame = Buffer.allocUnsafe(6 + payload.length)
  frame.writeUInt32BE(2 + payload.length, 0)
  frame[4] = MessageId.Extended
  frame[5] = extId
  frame.set(payload, 6)
  return frame
}
