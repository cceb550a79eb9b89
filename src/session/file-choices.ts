// A torrent's files as the control channel shows them (numbered, pad files
// left out, with priorities), and a priority change checked against them.
// Pure: the session stores and applies what it returns. Built for 100,000
// files: rows are made a slice at a time, no per-file copies beyond the rows asked for.
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
export function fileRows(meta: Metainfo, priorities: readonly FilePriority[] | undefined): FileRows {
  return new FileRows(meta, priorities)
}

/**
 * The rows of fileRows, made only a slice at a time: 100,000 of them at once
 * were ~15 MB of objects and joined paths for one `files` answer. Reads like
 * an array (length, at, slice) and turns into one in JSON.
 */
export class FileRows {
  readonly #meta: Metainfo
  readonly #priorities: readonly FilePriority[] | undefined
  /** Row → file number when the torrent has pad files (left out); undefined when they are the same. */
  readonly #fileOf: Int32Array | undefined

  constructor(meta: Metainfo, priorities: readonly FilePriority[] | undefined) {
    this.#meta = meta
    this.#priorities = priorities
    if (meta.files.some((f) => f.padding)) {
      const fileOf: number[] = []
      meta.files.forEach((f, i) => f.padding || fileOf.push(i))
      this.#fileOf = Int32Array.from(fileOf)
    }
  }

  get length(): number {
    return this.#fileOf ? this.#fileOf.length : this.#meta.files.length
  }

  at(row: number): FileRow | undefined {
    if (!Number.isInteger(row) || row < 0 || row >= this.length) return undefined
    const index = this.#fileOf ? this.#fileOf[row] : row
    const f = this.#meta.files[index]
    return { index, path: f.path.join('/'), sizeBytes: f.length, priority: this.#priorities?.[index] ?? 'normal' }
  }

  /** Rows [from, to), clamped like Array.prototype.slice for whole numbers 0 or more. */
  slice(from = 0, to = this.length): FileRow[] {
    const rows: FileRow[] = []
    for (let row = Math.max(0, from); row < Math.min(to, this.length); row++) rows.push(this.at(row)!)
    return rows
  }

  toJSON(): FileRow[] {
    return this.slice()
  }
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
