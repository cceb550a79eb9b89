// BEP 9 answers to a peer's ut_metadata request: a 16 KiB slice of our info dict, or a reject.
// Pure: returns the message and leaves sending (and any rate limiting) to the caller.
// Never copies the info dict: the data is a view of it.

import { METADATA_PIECE_SIZE, type MetadataMessage } from '../wire/ut-metadata.ts'

/** BEP 9: reject when we have no metadata yet or the piece lies past its end. */
export function metadataResponse(info: Buffer | undefined, piece: number): MetadataMessage {
  const begin = piece * METADATA_PIECE_SIZE
  if (info === undefined || info.length === 0 || !Number.isInteger(piece) || piece < 0 || begin >= info.length) {
    return { msgType: 'reject', piece }
  }
  const end = Math.min(begin + METADATA_PIECE_SIZE, info.length)
  return { msgType: 'data', piece, totalSize: info.length, data: info.subarray(begin, end) }
}
