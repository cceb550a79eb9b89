// NAT-PMP (RFC 6886) messages, encoded and decoded: the external address
// request and the TCP/UDP mapping request, and the router's answers to both.
// Pure: never a socket. A reply that is not exactly the layout below (short,
// wrong version, wrong opcode) decodes to undefined, never throws.

/** RFC 6886 §3: the gateway listens here; its announcements go to 224.0.0.1:5350. */
export const NAT_PMP_PORT = 5351
export const NAT_PMP_VERSION = 0

export type NatPmpProtocol = 'udp' | 'tcp'

const OPCODE_EXTERNAL_ADDRESS = 0
const OPCODE_MAP: Record<NatPmpProtocol, number> = { udp: 1, tcp: 2 }
/** A reply's opcode is the request's plus 128 (§3.2). */
const REPLY_BIT = 128

/** §3.5 result codes. */
export const NAT_PMP_RESULTS: Record<number, string> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized/refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
}

export function resultText(code: number): string {
  return NAT_PMP_RESULTS[code] ?? `result code ${code}`
}

/** §3.2: <version=0><opcode=0> */
export function encodeExternalAddressRequest(): Buffer {
  return Buffer.from([NAT_PMP_VERSION, OPCODE_EXTERNAL_ADDRESS])
}

/**
 * §3.3: <version=0><opcode=1 UDP|2 TCP><reserved=0 u16><internal port u16>
 * <suggested external port u16><requested lifetime s u32>. A lifetime of 0
 * with external port 0 deletes the mapping (§3.4).
 */
export function encodeMapRequest(protocol: NatPmpProtocol, internalPort: number, externalPort: number, lifetimeSec: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt8(NAT_PMP_VERSION, 0)
  b.writeUInt8(OPCODE_MAP[protocol], 1)
  b.writeUInt16BE(0, 2)
  b.writeUInt16BE(internalPort, 4)
  b.writeUInt16BE(externalPort, 6)
  b.writeUInt32BE(lifetimeSec, 8)
  return b
}

export interface ExternalAddressReply {
  resultCode: number
  epochSec: number
  address: string
}

/** §3.2: <version=0><opcode=128><result u16><seconds since epoch u32><external IPv4 4 bytes> */
export function decodeExternalAddressReply(b: Buffer): ExternalAddressReply | undefined {
  if (b.length < 12 || b[0] !== NAT_PMP_VERSION || b[1] !== REPLY_BIT + OPCODE_EXTERNAL_ADDRESS) return undefined
  return { resultCode: b.readUInt16BE(2), epochSec: b.readUInt32BE(4), address: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` }
}

export interface MapReply {
  protocol: NatPmpProtocol
  resultCode: number
  epochSec: number
  internalPort: number
  externalPort: number
  lifetimeSec: number
}

/** §3.3: <version=0><opcode=129|130><result u16><epoch u32><internal port u16><mapped external port u16><lifetime s u32> */
export function decodeMapReply(b: Buffer): MapReply | undefined {
  if (b.length < 16 || b[0] !== NAT_PMP_VERSION) return undefined
  const protocol = b[1] === REPLY_BIT + OPCODE_MAP.udp ? 'udp' : b[1] === REPLY_BIT + OPCODE_MAP.tcp ? 'tcp' : undefined
  if (!protocol) return undefined
  return {
    protocol,
    resultCode: b.readUInt16BE(2),
    epochSec: b.readUInt32BE(4),
    internalPort: b.readUInt16BE(8),
    externalPort: b.readUInt16BE(10),
    lifetimeSec: b.readUInt32BE(12),
  }
}

/** A result code in an answer too short to be the reply asked for (§3.5: version or opcode unsupported). */
export function decodeErrorReply(b: Buffer): number | undefined {
  return b.length >= 4 && b[0] === NAT_PMP_VERSION && b[1] >= REPLY_BIT ? b.readUInt16BE(2) : undefined
}
