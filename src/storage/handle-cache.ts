// The open file handles of one FileStorage: a small LRU keyed by file index.
// A handle is opened (never created, never through a symlink) when a read,
// write or sync first needs it, and the least recently used idle one is
// closed when more than the limit are open; a handle in use is never closed.
// A close that fails in the background is kept and reported later.

import { constants as fsConstants } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { osError } from './storage-error.ts'
import { openError } from './folders.ts'

// O_NOFOLLOW makes open fail (ELOOP) if the final component is a symlink; absent on Windows.
const OPEN_EXISTING = fsConstants.O_RDWR | (fsConstants.O_NOFOLLOW ?? 0)

interface OpenFile {
  handle: Promise<FileHandle>
  /** Operations using the handle right now; an entry in use is never closed by eviction. */
  users: number
}

export class HandleCache {
  readonly #maxOpenFiles: number
  readonly #root: string
  readonly #pathOf: (fileIndex: number) => string
  /** Map order is LRU order: least recently used first. */
  readonly #open = new Map<number, OpenFile>()
  /** The file last used (the Map's last entry), or -1: using it again needs no reordering. */
  #newest = -1
  readonly #closing = new Set<Promise<void>>()
  /** A close of an evicted handle that failed; reported by the next takeDeferredError. */
  #deferredError: unknown = null

  constructor(maxOpenFiles: number, root: string, pathOf: (fileIndex: number) => string) {
    this.#maxOpenFiles = maxOpenFiles
    this.#root = root
    this.#pathOf = pathOf
  }

  /** Runs `fn` with file `fileIndex`'s handle, opening it (and evicting the least recently used idle one) if needed. */
  async use<T>(fileIndex: number, verb: string, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    // The path is made only to open or to name in an error: not for every read and write.
    let entry = this.#open.get(fileIndex)
    if (entry) {
      // A Map's delete and set on every read of a one-file torrent filled its table with deleted entries to rebuild (issue 15).
      if (this.#newest !== fileIndex) {
        this.#open.delete(fileIndex)
        this.#open.set(fileIndex, entry)
      }
    } else {
      const opened: OpenFile = { handle: open(this.#pathOf(fileIndex), OPEN_EXISTING), users: 0 }
      opened.handle.catch(() => {
        if (this.#open.get(fileIndex) === opened) this.#delete(fileIndex)
      })
      this.#open.set(fileIndex, opened)
      entry = opened
    }
    this.#newest = fileIndex
    entry.users++
    this.#evict()
    try {
      let handle: FileHandle
      try {
        handle = await entry.handle
      } catch (err) {
        throw openError(err, this.#pathOf(fileIndex), this.#root)
      }
      try {
        return await fn(handle)
      } catch (err) {
        throw osError(err, verb, this.#pathOf(fileIndex))
      }
    } finally {
      entry.users--
      if (this.#open.size > this.#maxOpenFiles) this.#evict()
    }
  }

  /** Closes file `fileIndex`'s handle if it is open (in the background). */
  drop(fileIndex: number): void {
    const entry = this.#open.get(fileIndex)
    if (!entry) return
    this.#delete(fileIndex)
    this.#closeEntry(fileIndex, entry)
  }

  /** The open (or opening) handles, by file index, least recently used first. */
  entries(): [number, Promise<FileHandle>][] {
    return [...this.#open].map(([i, entry]) => [i, entry.handle])
  }

  /** Closes every handle; resolves once every close under way has ended. */
  closeAll(): Promise<void> {
    for (const [i, entry] of this.#open) this.#closeEntry(i, entry)
    this.#open.clear()
    this.#newest = -1
    return Promise.all([...this.#closing]).then(() => {})
  }

  /** The error of a background close that failed since the last call, cleared. */
  takeDeferredError(): unknown {
    const err = this.#deferredError
    this.#deferredError = null
    return err
  }

  #evict(): void {
    for (const [i, entry] of this.#open) {
      if (this.#open.size <= this.#maxOpenFiles) return
      if (entry.users > 0) continue
      this.#delete(i)
      this.#closeEntry(i, entry)
    }
  }

  #delete(fileIndex: number): void {
    this.#open.delete(fileIndex)
    if (this.#newest === fileIndex) this.#newest = -1
  }

  #closeEntry(fileIndex: number, entry: OpenFile): void {
    const closing = entry.handle.then(
      (h) => h.close().catch((err: unknown) => { this.#deferredError ??= osError(err, 'close', this.#pathOf(fileIndex)) }),
      () => {}, // it never opened; the operation that opened it already got the error
    )
    this.#closing.add(closing)
    void closing.finally(() => this.#closing.delete(closing))
  }
}
