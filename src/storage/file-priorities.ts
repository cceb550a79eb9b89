// Turns per-file choices (skip / low / normal / high) into per-piece priorities
// for the picker (0 = never fetch, higher first), and says which files a change
// of choices skips or brings back. Pure arithmetic on file offsets: never
// touches disk. A piece touching any wanted file is fetched.

import type { Metainfo } from '../metainfo/metainfo.ts'

export type FilePriority = 'skip' | 'low' | 'normal' | 'high'
export const FILE_PRIORITIES: readonly FilePriority[] = ['skip', 'low', 'normal', 'high']

const PIECE_PRIORITY: Record<FilePriority, number> = { skip: 0, low: 1, normal: 2, high: 3 }

/**
 * Per piece: the highest priority among the files it touches, or 0 when all
 * of them are skipped. Zero-length files cover no bytes and BEP 47 pad files
 * are never stored, so neither makes a piece wanted.
 */
export function piecePriorities(meta: Metainfo, filePriorities: FilePriority[]): Uint8Array {
  if (filePriorities.length !== meta.files.length) {
    throw new RangeError(`expected one priority per file (${meta.files.length}), got ${filePriorities.length}`)
  }
  const priorities = new Uint8Array(meta.pieceCount)
  for (let i = 0; i < meta.files.length; i++) {
    const file = meta.files[i]
    const name = filePriorities[i]
    if (!Object.hasOwn(PIECE_PRIORITY, name)) {
      throw new RangeError(`file ${i} priority must be skip, low, normal or high, got ${String(name)}`)
    }
    const priority = PIECE_PRIORITY[name]
    if (priority === 0 || file.padding || file.length === 0) continue
    const first = Math.floor(file.offset / meta.pieceLength)
    const last = Math.floor((file.offset + file.length - 1) / meta.pieceLength)
    for (let piece = first; piece <= last; piece++) {
      if (priorities[piece] < priority) priorities[piece] = priority
    }
  }
  return priorities
}

/** The files `after` skips that `before` did not, and those it no longer skips (no choices before: all normal). */
export function skipChanges(before: readonly FilePriority[] | undefined, after: readonly FilePriority[]): { skip: number[]; unskip: number[] } {
  const skip: number[] = []
  const unskip: number[] = []
  for (let i = 0; i < after.length; i++) {
    const wasSkipped = (before?.[i] ?? 'normal') === 'skip'
    if (wasSkipped !== (after[i] === 'skip')) (wasSkipped ? unskip : skip).push(i)
  }
  return { skip, unskip }
}
