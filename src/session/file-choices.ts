// A torrent's files as the control channel shows them (numbered, pad files
// left out, with priorities), and a priority change checked against them.
// Pure: the session stores and applies what it returns. Built for 100,000
// files: one pass, no per-file copies beyond the rows asked for.
import { FriendError } from '../core/types.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { FilePriority } from '../storage/file-priorities.ts'

export interface FileRow {
  index: number
  /** Under the save folder, '/'-separated (a multi-file torrent's folder first). */
  path: string
  sizeBytes: number
  priority: FilePriority
}

/** Every file but BEP 47 pad files, in the torrent's order. */
export function fileRows(meta: Metainfo, priorities: readonly FilePriority[] | undefined): FileRow[] {
  const rows: FileRow[] = []
  for (let index = 0; index < meta.files.length; index++) {
    const f = meta.files[index]
    if (!f.padding) rows.push({ index, path: f.path.join('/'), sizeBytes: f.length, priority: priorities?.[index] ?? 'normal' })
  }
  return rows
}

/**
 * The priorities after setting `which` files (their numbers, or "all") to
 * `priority`; a one-line FriendError for a number that is not a file's.
 */
export function withPriority(meta: Metainfo, name: string, current: readonly FilePriority[] | undefined, which: readonly number[] | 'all', priority: FilePriority): FilePriority[] {
  const count = meta.files.length
  if (which === 'all') return Array<FilePriority>(count).fill(priority)
  const bad = which.find((i) => !Number.isInteger(i) || i < 0 || i >= count)
  if (bad !== undefined) throw new FriendError(`${name} has files 0 to ${count - 1}, not ${bad}`)
  const next = current ? [...current] : Array<FilePriority>(count).fill('normal')
  for (const i of which) next[i] = priority
  return next
}

/** How many files `which` names: what a priority change reports. */
export function countOf(meta: Metainfo, which: readonly number[] | 'all'): number {
  return which === 'all' ? meta.files.filter((f) => !f.padding).length : which.length
}
