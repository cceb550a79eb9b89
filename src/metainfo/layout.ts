// Maps a byte range of the torrent's concatenated payload onto its files.
// Pure arithmetic on FileEntry offsets: O(log files) per call, never touches disk.
// Zero-length files occupy no bytes, so they never produce a span.

import type { FileEntry } from './metainfo.ts'

export interface Span {
  fileIndex: number
  fileOffset: number
  length: number
  /** Where in the caller's buffer this span starts. */
  chunkOffset: number
}

/** The file spans covering `length` bytes from `torrentOffset`, in payload order. */
export function spansFor(files: FileEntry[], torrentOffset: number, length: number): Span[] {
  const spans: Span[] = []
  if (length === 0) return spans
  const last = files[files.length - 1]
  const totalLength = last ? last.offset + last.length : 0
  if (!Number.isSafeInteger(torrentOffset) || !Number.isSafeInteger(length) || torrentOffset < 0 || length < 0 ||
    torrentOffset + length > totalLength) {
    throw new RangeError(`range ${torrentOffset}+${length} is outside the payload of ${totalLength} bytes`)
  }
  let i = lastFileStartingAtOrBefore(files, torrentOffset)
  let pos = torrentOffset
  const end = torrentOffset + length
  while (pos < end) {
    const file = files[i]
    const fileEnd = file.offset + file.length
    if (fileEnd > pos) {
      const spanLength = Math.min(fileEnd, end) - pos
      spans.push({ fileIndex: i, fileOffset: pos - file.offset, length: spanLength, chunkOffset: pos - torrentOffset })
      pos += spanLength
    }
    i++
  }
  return spans
}

/**
 * Largest i with files[i].offset <= pos. Zero-length files share their offset
 * with the next file, so the largest such index is the one holding byte `pos`.
 */
function lastFileStartingAtOrBefore(files: FileEntry[], pos: number): number {
  let lo = 0
  let hi = files.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (files[mid].offset <= pos) lo = mid
    else hi = mid - 1
  }
  return lo
}

/**
 * Verified bytes of each file: the part of each file covered by a verified
 * piece (`hasPiece`). O(files + pieces), for progress per file in views.
 */
export function verifiedBytesPerFile(files: FileEntry[], pieceLength: number, hasPiece: (index: number) => boolean): number[] {
  return files.map((file) => {
    if (file.length === 0) return 0
    const end = file.offset + file.length
    let bytes = 0
    for (let p = Math.floor(file.offset / pieceLength); p * pieceLength < end; p++) {
      if (!hasPiece(p)) continue
      bytes += Math.min(end, (p + 1) * pieceLength) - Math.max(file.offset, p * pieceLength)
    }
    return bytes
  })
}
