// Bounds checks shared by the Storage implementations: a bad offset is a bug
// in the caller, so it is a RangeError rather than a FriendError.

import { pieceSize, type Metainfo } from '../metainfo/metainfo.ts'

/** Payload offset of a read, which may cross into later pieces but not past the payload's end. */
export function readStart(meta: Metainfo, index: number, begin: number, length: number): number {
  checkNumbers(meta, index, begin, length)
  const start = index * meta.pieceLength + begin
  if (start + length > meta.length) {
    throw new RangeError(`read of ${length} bytes at piece ${index} offset ${begin} runs past the payload end (${meta.length} bytes)`)
  }
  return start
}

/** Payload offset of a write, which must stay within piece `index`. */
export function writeStart(meta: Metainfo, index: number, begin: number, length: number): number {
  checkNumbers(meta, index, begin, length)
  const size = pieceSize(meta, index)
  if (begin + length > size) throw new RangeError(`write of ${length} bytes at offset ${begin} runs past the end of piece ${index} (${size} bytes)`)
  return index * meta.pieceLength + begin
}

function checkNumbers(meta: Metainfo, index: number, begin: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) throw new RangeError(`piece ${index} out of range 0..${meta.pieceCount - 1}`)
  if (!Number.isInteger(begin) || begin < 0) throw new RangeError(`offset ${begin} must be a whole number, 0 or more`)
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length ${length} must be a whole number, 0 or more`)
}
