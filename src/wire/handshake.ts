// The BEP 3 handshake: <pstrlen=19><"BitTorrent protocol"><reserved:8><info_hash:20><peer_id:20>.
// Encodes ours and checks theirs; the reserved bits announce BEP 10, BEP 5, BEP 6 and BEP 52.
// Pure: never touches a socket.

import { WireError } from './wire-error.ts'

export const PROTOCOL = 'BitTorrent protocol'
export const HANDSHAKE_LENGTH = 68

/** The 20 bytes every handshake starts with: pstrlen then pstr. */
export const PROTOCOL_PREFIX: Buffer = Buffer.concat([Buffer.from([PROTOCOL.length]), Buffer.from(PROTOCOL, 'latin1')])

export interface Handshake {
  infoHash: Buffer
  peerId: Buffer
  reserved: Buffer
}

const RESERVED_OFFSET = 20
const INFO_HASH_OFFSET = 28
const PEER_ID_OFFSET = 48

export function encodeHandshake(
  infoHash: Buffer,
  peerId: Buffer,
  opts: { extended?: boolean; dht?: boolean; fast?: boolean; v2?: boolean } = {},
): Buffer {
  if (infoHash.length !== 20) throw new RangeError(`info hash must be 20 bytes, got ${infoHash.length}`)
  if (peerId.length !== 20) throw new RangeError(`peer id must be 20 bytes, got ${peerId.length}`)
  const buf = Buffer.alloc(HANDSHAKE_LENGTH)
  PROTOCOL_PREFIX.copy(buf, 0)
  // BEP 10: reserved[5] & 0x10; BEP 5: reserved[7] & 0x01; BEP 6: reserved[7] & 0x04
  if (opts.extended ?? true) buf[RESERVED_OFFSET + 5] |= 0x10
  if (opts.dht ?? false) buf[RESERVED_OFFSET + 7] |= 0x01
  if (opts.fast ?? false) buf[RESERVED_OFFSET + 7] |= 0x04
  // BEP 52: reserved[7] & 0x10, "I speak v2 (hash messages)"
  if (opts.v2 ?? false) buf[RESERVED_OFFSET + 7] |= 0x10
  infoHash.copy(buf, INFO_HASH_OFFSET)
  peerId.copy(buf, PEER_ID_OFFSET)
  return buf
}

/** Parses exactly one 68-byte handshake. The fields are copies, so `buf` can be reused. */
export function decodeHandshake(buf: Buffer): Handshake {
  if (buf.length !== HANDSHAKE_LENGTH) {
    throw new WireError(`handshake must be ${HANDSHAKE_LENGTH} bytes, got ${buf.length}`)
  }
  if (!buf.subarray(0, PROTOCOL_PREFIX.length).equals(PROTOCOL_PREFIX)) {
    throw new WireError('not a BitTorrent handshake')
  }
  return {
    reserved: Buffer.from(buf.subarray(RESERVED_OFFSET, INFO_HASH_OFFSET)),
    infoHash: Buffer.from(buf.subarray(INFO_HASH_OFFSET, PEER_ID_OFFSET)),
    peerId: Buffer.from(buf.subarray(PEER_ID_OFFSET, HANDSHAKE_LENGTH)),
  }
}

/** BEP 10 */
export function supportsExtensionProtocol(reserved: Buffer): boolean {
  return (reserved[5] & 0x10) !== 0
}

/** BEP 52: the peer speaks v2 (hash request / hashes / hash reject). */
export function supportsV2(reserved: Buffer): boolean {
  return (reserved[7] & 0x10) !== 0
}
