// BEP 9 ut_metadata payloads: request, data and reject for one 16 KiB piece of the
// info dictionary. A data message is a bencoded dict followed by the raw piece; the
// dict's end is found by a strict bencode scan, never guessed. Never touches a socket.

import { decodeDict, encodeDict, own, safeInteger } from './bencode-dict.ts'
import { WireError } from './wire-error.ts'

export const METADATA_PIECE_SIZE = 16384

export type MetadataMessage =
  | { msgType: 'request'; piece: number }
  | { msgType: 'data'; piece: number; totalSize: number; data: Buffer }
  | { msgType: 'reject'; piece: number }

const MSG_REQUEST = 0
const MSG_DATA = 1
const MSG_REJECT = 2

/** The payload of a ut_metadata message (the ext-id byte is the frame's job). */
export function encodeMetadataMessage(m: MetadataMessage): Buffer {
  switch (m.msgType) {
    /** d8:msg_typei0e5:piecei<piece>ee */
    case 'request': return encodeDict({ msg_type: MSG_REQUEST, piece: m.piece })
    /** d8:msg_typei1e5:piecei<piece>e10:total_sizei<size>ee<data> */
    case 'data': {
      const dict = encodeDict({ msg_type: MSG_DATA, piece: m.piece, total_size: m.totalSize })
      return Buffer.concat([dict, m.data], dict.length + m.data.length)
    }
    /** d8:msg_typei2e5:piecei<piece>ee */
    case 'reject': return encodeDict({ msg_type: MSG_REJECT, piece: m.piece })
  }
}

/**
 * Parses a ut_metadata payload. For data, `data` is a view of `payload` and its
 * length is checked against `totalSize` (BEP 9: every piece is 16 KiB but the last).
 */
export function decodeMetadataMessage(payload: Buffer): MetadataMessage {
  const { dict, end } = decodeDict(payload, 'ut_metadata message')
  const msgType = safeInteger(own(dict, 'msg_type'))
  const piece = safeInteger(own(dict, 'piece'))
  if (piece === undefined || piece < 0) throw new WireError('ut_metadata message has no valid "piece"')
  switch (msgType) {
    case MSG_REQUEST:
      return { msgType: 'request', piece }
    case MSG_REJECT:
      return { msgType: 'reject', piece }
    case MSG_DATA: {
      const totalSize = safeInteger(own(dict, 'total_size'))
      if (totalSize === undefined || totalSize <= 0) throw new WireError('ut_metadata data message has no valid "total_size"')
      const pieceStart = piece * METADATA_PIECE_SIZE
      if (pieceStart >= totalSize) {
        throw new WireError(`ut_metadata data for piece ${piece} lies past total_size ${totalSize}`)
      }
      const expected = Math.min(METADATA_PIECE_SIZE, totalSize - pieceStart)
      const data = payload.subarray(end)
      if (data.length !== expected) {
        throw new WireError(`ut_metadata data for piece ${piece} is ${data.length} bytes; total_size ${totalSize} implies ${expected}`)
      }
      return { msgType: 'data', piece, totalSize, data }
    }
    default:
      throw new WireError(`ut_metadata message has unknown msg_type ${String(own(dict, 'msg_type'))}`)
  }
}
