// Whether a whole piece's bytes are the torrent's: SHA-1 against "pieces" (v1),
// the merkle root of its 16 KiB blocks against the piece layer or the file's
// root (v2), both for a hybrid. Pure; the caller reads or gathers the bytes.
// A v2 piece whose file's piece layer we do not hold yet (a magnet, or a
// .torrent without "piece layers") cannot be judged: "unknown", never "good".

import { createHash } from 'node:crypto'
import { pieceRoot, HASH_SIZE } from './merkle.ts'
import { v2FileOfPiece } from './v2-info.ts'
import type { Metainfo } from './metainfo.ts'

export type PieceVerdict = 'good' | 'bad' | 'unknown'

export function checkPiece(meta: Metainfo, index: number, data: Uint8Array): PieceVerdict {
  if (meta.hasV1) {
    const expected = meta.pieceHashes.subarray(index * 20, (index + 1) * 20)
    if (!createHash('sha1').update(data).digest().equals(expected)) return 'bad'
    if (!meta.v2) return 'good'
  }
  const verdict = checkV2(meta, index, data)
  // A hybrid piece that passed SHA-1 but whose v2 layer we lack is still good.
  return verdict === 'unknown' && meta.hasV1 ? 'good' : verdict
}

/** The v2 hash piece `index` must have, or undefined while its file's piece layer is missing. */
export function expectedV2Hash(meta: Metainfo, index: number): Buffer | undefined {
  const file = meta.v2 && v2FileOfPiece(meta.v2, index)
  if (!file) return undefined
  if (file.length <= meta.pieceLength) return file.root
  if (!file.layer) return undefined
  const at = (index - file.firstPiece) * HASH_SIZE
  return file.layer.subarray(at, at + HASH_SIZE)
}

function checkV2(meta: Metainfo, index: number, data: Uint8Array): PieceVerdict {
  const file = v2FileOfPiece(meta.v2!, index)
  // A piece of padding only: its bytes must be zeros.
  if (!file) return data.every((b) => b === 0) ? 'good' : 'bad'
  const expected = expectedV2Hash(meta, index)
  if (!expected) return 'unknown'
  const start = index * meta.pieceLength
  const fileEnd = meta.files[file.fileIndex].offset + file.length
  const own = data.subarray(0, Math.min(data.length, fileEnd - start))
  // The bytes past the file's end in this piece are its pad file: zeros.
  if (!data.subarray(own.length).every((b) => b === 0)) return 'bad'
  return pieceRoot(own, meta.pieceLength, file.length).equals(expected) ? 'good' : 'bad'
}
