// The uTP packet codec (BEP 29): the 20-byte header, the extension chain and
// the selective-ACK bitmask, plus the wrap-around arithmetic for 16-bit
// sequence numbers and 32-bit microsecond timestamps.
// Pure: never touches a socket. The hot path parses into a caller-owned view
// and writes headers in place, so a packet costs no allocation beyond its buffer.
//
// Header, big-endian:
//   <type:4|ver:4><extension:8><connection_id:16>
//   <timestamp_microseconds:32><timestamp_difference_microseconds:32>
//   <wnd_size:32><seq_nr:16><ack_nr:16>
// then per extension: <next_extension:8><len:8><len bytes>, the chain ending at next_extension 0.

export const HEADER_LENGTH = 20
export const UTP_VERSION = 1

export const ST_DATA = 0
export const ST_FIN = 1
export const ST_STATE = 2
export const ST_RESET = 3
export const ST_SYN = 4
export type PacketType = 0 | 1 | 2 | 3 | 4

/** BEP 29: extension 1 is the selective ACK; 2 (libutp's extension bits) is skipped like any unknown one. */
export const EXT_SELECTIVE_ACK = 1
/**
 * libutp's extension bits (2): 8 bytes, sent zero. Our own extensions always
 * follow one: libutp (Transmission's included) takes a packet whose first
 * extension is 3 or more for its old version-0 format and misreads it.
 */
export const EXT_BITS = 2
export const EXT_BITS_BYTES = 10
/**
 * Ours, in a SYN and in the STATE answering it: <largest datagram we take:16>.
 * libtorrent reads datagrams into 1500 bytes and Transmission into 4096, both
 * silently cutting off the rest, so nothing larger is sent to a peer that did
 * not say so. libtorrent (1, 3) and libutp (1, 2) skip extensions they do not know.
 */
export const EXT_MAX_DATAGRAM = 0x46
export const MAX_DATAGRAM_EXT_BYTES = 4
/**
 * Ours: filler that brings an MTU probe to the size tried while it carries no
 * more data than any other packet, so a probe too big for the path is resent
 * without it and never stalls the stream. Skipped by everyone.
 */
export const EXT_PADDING = 0x47

export class UtpCodecError extends Error {
  override name = 'UtpCodecError'
}

export function emptyView(): UtpPacketView {
  return { type: ST_DATA, connectionId: 0, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 0, ackNr: 0, sackOffset: 0, sackLength: 0, maxDatagram: 0, payloadOffset: HEADER_LENGTH }
}

/** True when the datagram starts like a uTP header (version 1, a known type); KRPC starts with 'd' and never does. */
export function looksLikeUtp(buf: Uint8Array): boolean {
  return buf.length >= HEADER_LENGTH && (buf[0] & 0x0f) === UTP_VERSION && buf[0] >> 4 <= ST_SYN
}

/**
 * Parses `buf` into `out`. Returns an error message for a malformed packet
 * (never throws on bad input) or undefined when it parsed.
 */
export function parsePacket(buf: Buffer, out: UtpPacketView): string | undefined {
  if (buf.length < HEADER_LENGTH) return `uTP packet of ${buf.length} bytes is shorter than its 20-byte header`
  const b0 = buf[0]
  if ((b0 & 0x0f) !== UTP_VERSION) return `uTP version ${b0 & 0x0f} is not 1`
  const type = b0 >> 4
  if (type > ST_SYN) return `uTP packet type ${type} is unknown`
  out.type = type as PacketType
  out.connectionId = buf.readUInt16BE(2)
  out.timestampUs = buf.readUInt32BE(4)
  out.timestampDiffUs = buf.readUInt32BE(8)
  out.wndSize = buf.readUInt32BE(12)
  out.seqNr = buf.readUInt16BE(16)
  out.ackNr = buf.readUInt16BE(18)
  out.sackOffset = 0
  out.sackLength = 0
  out.maxDatagram = 0
  let ext = buf[1]
  let at = HEADER_LENGTH
  while (ext !== 0) {
    if (at + 2 > buf.length) return 'uTP extension header runs past the end of the packet'
    const next = buf[at]
    const len = buf[at + 1]
    if (at + 2 + len > buf.length) return `uTP extension ${ext} of ${len} bytes runs past the end of the packet`
    if (ext === EXT_SELECTIVE_ACK) {
      // BEP 29 asks for a multiple of 4 bytes; libtorrent sends whole bytes (1–32), so any non-empty length is read.
      if (len === 0) return 'uTP selective ACK is empty'
      out.sackOffset = at + 2
      out.sackLength = len
    } else if (ext === EXT_MAX_DATAGRAM && len >= 2) {
      out.maxDatagram = buf.readUInt16BE(at + 2)
    }
    at += 2 + len
    ext = next
  }
  out.payloadOffset = at
  return undefined
}

export interface HeaderFields {
  type: PacketType
  connectionId: number
  timestampUs: number
  timestampDiffUs: number
  wndSize: number
  seqNr: number
  ackNr: number
}

/** A parsed packet. The selective ACK is left in the datagram as an offset and a length (0 when absent). */
export interface UtpPacketView extends HeaderFields {
  sackOffset: number
  sackLength: number
  /** The peer's EXT_MAX_DATAGRAM, 0 when absent. */
  maxDatagram: number
  payloadOffset: number
}

/** Writes the 20-byte header at the start of `buf`; `extension` is the first extension's type (0 for none). */
export function writeHeader(buf: Buffer, h: HeaderFields, extension = 0): void {
  buf[0] = (h.type << 4) | UTP_VERSION
  buf[1] = extension
  buf.writeUInt16BE(h.connectionId & 0xffff, 2)
  buf.writeUInt32BE(h.timestampUs >>> 0, 4)
  buf.writeUInt32BE(h.timestampDiffUs >>> 0, 8)
  buf.writeUInt32BE(h.wndSize >>> 0, 12)
  buf.writeUInt16BE(h.seqNr & 0xffff, 16)
  buf.writeUInt16BE(h.ackNr & 0xffff, 18)
}

/** Writes EXT_BITS (10 bytes, all bits clear) at `offset`, `next` the type of the extension after it. */
export function writeExtensionBits(buf: Buffer, offset: number, next: number): void {
  buf[offset] = next
  buf[offset + 1] = 8
  buf.fill(0, offset + 2, offset + EXT_BITS_BYTES)
}

/** Writes EXT_MAX_DATAGRAM (4 bytes) at `offset`, `next` the type of the extension after it. */
export function writeMaxDatagram(buf: Buffer, offset: number, next: number, bytes: number): void {
  buf[offset] = next
  buf[offset + 1] = 2
  buf.writeUInt16BE(bytes, offset + 2)
}

/**
 * Fills `bytes` (at least 2) at `offset` with EXT_PADDING extensions of up to
 * 255 bytes each, the last one's next being `next`. Returns the type of the first.
 */
export function writePadding(buf: Buffer, offset: number, bytes: number, next: number): number {
  let at = offset
  let left = bytes
  while (left > 0) {
    // Each takes 2 + len bytes; never leave a single byte behind.
    let len = Math.min(255, left - 2)
    if (left - (2 + len) === 1) len--
    left -= 2 + len
    buf[at] = left > 0 ? EXT_PADDING : next
    buf[at + 1] = len
    buf.fill(0, at + 2, at + 2 + len)
    at += 2 + len
  }
  return EXT_PADDING
}

/** Bytes of the extensions our SYN, and our answer to one, carry: EXT_BITS, then EXT_MAX_DATAGRAM. */
export const SYN_EXTENSIONS_BYTES = EXT_BITS_BYTES + MAX_DATAGRAM_EXT_BYTES
/** The least an MTU probe's extensions take: EXT_BITS and an empty EXT_PADDING. */
export const MIN_PROBE_EXTENSIONS_BYTES = EXT_BITS_BYTES + 2

/** Writes SYN_EXTENSIONS_BYTES at `offset` (the header's first extension is EXT_BITS); `next` follows them. */
export function writeSynExtensions(buf: Buffer, offset: number, next: number, maxDatagram: number): void {
  writeExtensionBits(buf, offset, EXT_MAX_DATAGRAM)
  writeMaxDatagram(buf, offset + EXT_BITS_BYTES, next, maxDatagram)
}

/** Fills `bytes` (at least MIN_PROBE_EXTENSIONS_BYTES) at `offset` with a probe's EXT_BITS and padding. */
export function writeProbePadding(buf: Buffer, offset: number, bytes: number): void {
  writeExtensionBits(buf, offset, EXT_PADDING)
  writePadding(buf, offset + EXT_BITS_BYTES, bytes - EXT_BITS_BYTES, 0)
}

/** Rewrites the fields a retransmission refreshes, in place. */
export function refreshHeader(buf: Buffer, timestampUs: number, timestampDiffUs: number, wndSize: number, ackNr: number): void {
  buf.writeUInt32BE(timestampUs >>> 0, 4)
  buf.writeUInt32BE(timestampDiffUs >>> 0, 8)
  buf.writeUInt32BE(wndSize >>> 0, 12)
  buf.writeUInt16BE(ackNr & 0xffff, 18)
}

/** A whole packet as a value, for tests and rare packets (SYN, RESET); the data path uses writeHeader. */
export interface UtpPacket extends HeaderFields {
  /** Selective-ACK bitmask bytes (a multiple of 4), if any. */
  sack?: Uint8Array
  payload?: Uint8Array
}

export function encodePacket(p: UtpPacket): Buffer {
  const sackLen = p.sack?.length ?? 0
  if (sackLen % 4 !== 0 || sackLen > 252) throw new UtpCodecError(`selective ACK of ${sackLen} bytes must be a multiple of 4, at most 252`)
  const payloadLen = p.payload?.length ?? 0
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + (sackLen ? 2 + sackLen : 0) + payloadLen)
  writeHeader(buf, p, sackLen ? EXT_SELECTIVE_ACK : 0)
  let at = HEADER_LENGTH
  if (sackLen) {
    buf[at] = 0
    buf[at + 1] = sackLen
    buf.set(p.sack!, at + 2)
    at += 2 + sackLen
  }
  if (payloadLen) buf.set(p.payload!, at)
  return buf
}

export function decodePacket(buf: Buffer): UtpPacket {
  const v = emptyView()
  const error = parsePacket(buf, v)
  if (error) throw new UtpCodecError(error)
  const p: UtpPacket = {
    type: v.type,
    connectionId: v.connectionId,
    timestampUs: v.timestampUs,
    timestampDiffUs: v.timestampDiffUs,
    wndSize: v.wndSize,
    seqNr: v.seqNr,
    ackNr: v.ackNr,
  }
  if (v.sackLength) p.sack = Uint8Array.from(buf.subarray(v.sackOffset, v.sackOffset + v.sackLength))
  if (v.payloadOffset < buf.length) p.payload = Uint8Array.from(buf.subarray(v.payloadOffset))
  return p
}

// --- Selective ACK -----------------------------------------------------------
// BEP 29: bit i of the mask (byte i >> 3, bit i & 7, least significant first)
// says that packet ack_nr + 2 + i arrived; ack_nr + 1 is by definition missing.

/**
 * Writes a bitmask of `lengthBytes` into `out` at `offset` for the packets
 * after `ackNr + 1` that `has` reports received.
 */
export function writeSack(out: Uint8Array, offset: number, lengthBytes: number, ackNr: number, has: (seqNr: number) => boolean): void {
  for (let i = 0; i < lengthBytes; i++) {
    let byte = 0
    for (let bit = 0; bit < 8; bit++) if (has((ackNr + 2 + i * 8 + bit) & 0xffff)) byte |= 1 << bit
    out[offset + i] = byte
  }
}

/** Calls `fn` for each sequence number the bitmask at `offset` acknowledges. */
export function forEachSacked(buf: Uint8Array, offset: number, lengthBytes: number, ackNr: number, fn: (seqNr: number) => void): void {
  for (let i = 0; i < lengthBytes; i++) {
    const byte = buf[offset + i]
    if (byte === 0) continue
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) fn((ackNr + 2 + i * 8 + bit) & 0xffff)
  }
}

// --- Wrap-around arithmetic ----------------------------------------------------

/** `a − b` for 16-bit sequence numbers, as a signed distance in [−32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16
}

/** True when sequence number `a` comes before `b`, across wrap-around. */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) < 0
}

/** `a − b` for 32-bit microsecond timestamps, wrapped to an unsigned 32-bit value. */
export function timestampDiff(a: number, b: number): number {
  return (a - b) >>> 0
}
