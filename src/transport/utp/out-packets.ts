// The bytes of the datagrams a UtpSocket sends: the header (and extensions) of
// a packet that takes a sequence number (a SYN with EXT_MAX_DATAGRAM, a data
// packet padded into an MTU probe), a probe's header again without its padding
// for a resend, and a one-off STATE (selective ACK, EXT_MAX_DATAGRAM), FIN or
// RESET. Pure: sequence numbers, windows and timing stay with the socket.
import type { ReorderBuffer } from './reorder-buffer.ts'
import {
  HEADER_LENGTH, ST_STATE, ST_SYN, EXT_SELECTIVE_ACK, EXT_BITS, SYN_EXTENSIONS_BYTES,
  writeHeader, writeProbePadding, writeSynExtensions,
  type HeaderFields, type PacketType,
} from './utp-packet.ts'

/** The largest datagram we take (Node reads each into 64 KiB): what EXT_MAX_DATAGRAM says. */
export const MAX_RECEIVE_DATAGRAM = 65_535
/** The selective ACK covers up to this many bytes of bitmask (256 packets). */
const MAX_SACK_BYTES = 32

/**
 * The header of a packet that waits for its ACK: a SYN says how large a datagram
 * we take (EXT_MAX_DATAGRAM); a data packet with `probeBytes` > 0 is padded to
 * that size (header, padding and `payloadBytes`). Either behind EXT_BITS, as
 * libutp needs. Timestamps, window and ack_nr are filled in at each transmission.
 */
export function newPacketHeader(type: PacketType, connectionId: number, seqNr: number, ackNr: number, payloadBytes: number, probeBytes: number): Buffer {
  const ext = type === ST_SYN ? SYN_EXTENSIONS_BYTES : probeBytes > 0 ? probeBytes - HEADER_LENGTH - payloadBytes : 0
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + ext)
  writeHeader(buf, { type, connectionId, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr, ackNr }, ext ? EXT_BITS : 0)
  if (type === ST_SYN) writeSynExtensions(buf, HEADER_LENGTH, 0, MAX_RECEIVE_DATAGRAM)
  else if (probeBytes > 0) writeProbePadding(buf, HEADER_LENGTH, ext)
  return buf
}

/** A probe's header without its padding, for a resend: what it carries fits the floor. */
export function unpaddedHeader(header: Buffer): Buffer {
  const plain = Buffer.from(header.subarray(0, HEADER_LENGTH))
  plain[1] = 0
  return plain
}

/** A control packet's header fields: the type is the packet's own. */
export type ControlFields = Omit<HeaderFields, 'type'>

/**
 * A STATE, with a selective ACK of `reorder`'s packets when some wait out of
 * order and, before it, EXT_MAX_DATAGRAM while `advertiseMaxDatagram` (our
 * answer to a SYN); or a FIN/RESET, bare.
 */
export function controlPacket(type: PacketType, fields: ControlFields, reorder: ReorderBuffer, advertiseMaxDatagram: boolean): Buffer {
  const sackBytes = type === ST_STATE ? reorder.sackBytes(fields.ackNr, MAX_SACK_BYTES) : 0
  const ext = type === ST_STATE && advertiseMaxDatagram ? SYN_EXTENSIONS_BYTES : 0
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + ext + (sackBytes ? 2 + sackBytes : 0))
  writeHeader(buf, { type, ...fields }, ext ? EXT_BITS : sackBytes ? EXT_SELECTIVE_ACK : 0)
  if (ext) writeSynExtensions(buf, HEADER_LENGTH, sackBytes ? EXT_SELECTIVE_ACK : 0, MAX_RECEIVE_DATAGRAM)
  if (sackBytes) {
    buf[HEADER_LENGTH + ext] = 0
    buf[HEADER_LENGTH + ext + 1] = sackBytes
    reorder.writeSack(buf, HEADER_LENGTH + ext + 2, sackBytes, fields.ackNr)
  }
  return buf
}
