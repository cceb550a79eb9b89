// Storage on disk: the torrent's files under one save folder, blocks split
// over file spans and written with positional writes through a small LRU of
// open handles. Must never create, follow or write anything outside the save
// folder: every path goes through resolveInside and symlinks are refused.

import { constants as fsConstants } from 'node:fs'
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { resolveInside, safePathComponents } from '../metainfo/safe-path.ts'
import { spansFor, type Span } from '../metainfo/layout.ts'
import type { Storage } from './storage.ts'
import { StorageError, osError } from './storage-error.ts'
import { readStart, writeStart } from './range.ts'

const DEFAULT_MAX_OPEN_FILES = 64
// O_NOFOLLOW makes open fail (ELOOP) if the final component is a symlink; absent on Windows.
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0
const OPEN_EXISTING = fsConstants.O_RDWR | O_NOFOLLOW
const OPEN_OR_CREATE = fsConstants.O_RDWR | fsConstants.O_CREAT | O_NOFOLLOW

interface OpenFile {
  handle: Promise<FileHandle>
  /** Operations using the handle right now; an entry in use is never closed by eviction. */
  users: number
}

export class FileStorage implements Storage {
  readonly #meta: Metainfo
  readonly #root: string
  /** Absolute path per file; null for BEP 47 pad files, which are never on disk. */
  readonly #paths: (string | null)[]
  /**
   * Per file, how many leading bytes may hold data: its size before open
   * extended it, raised by our writes. Bytes past it are holes we made, so a
   * piece there cannot be complete and a check need not read it.
   */
  readonly #dataEnd: number[]
  readonly #maxOpenFiles: number
  /** Map order is LRU order: least recently used first. */
  readonly #open = new Map<number, OpenFile>()
  readonly #closing = new Set<Promise<void>>()
  readonly #dirty = new Set<number>()
  #inflight = 0
  #onIdle: (() => void) | null = null
  #closed = false
  /** A close of an evicted handle that failed; reported by the next flush or close. */
  #deferredError: unknown = null

  private constructor(meta: Metainfo, root: string, paths: (string | null)[], dataEnd: number[], maxOpenFiles: number) {
    this.#meta = meta
    this.#root = root
    this.#paths = paths
    this.#dataEnd = dataEnd
    this.#maxOpenFiles = maxOpenFiles
  }

  /**
   * Creates the save folder, every folder and every file (zero-length ones
   * too). Files shorter than their length are extended sparse; none is ever
   * shrunk or overwritten.
   */
  static async open(meta: Metainfo, saveDir: string, opts: { maxOpenFiles?: number } = {}): Promise<FileStorage> {
    const maxOpenFiles = opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 1) throw new RangeError(`maxOpenFiles must be 1 or more, got ${maxOpenFiles}`)
    const root = path.resolve(saveDir)
    try {
      await mkdir(root, { recursive: true })
    } catch (err) {
      throw osError(err, 'create the save folder', root)
    }
    const readyFolders = new Set<string>()
    const paths: (string | null)[] = []
    const dataEnd: number[] = []
    for (const file of meta.files) {
      if (file.padding) {
        paths.push(null)
        dataEnd.push(file.length)
        continue
      }
      const parts = safePathComponents(file.path)
      for (let n = 1; n < parts.length; n++) {
        const folder = resolveInside(root, parts.slice(0, n))
        if (readyFolders.has(folder)) continue
        await ensureFolder(folder, root)
        readyFolders.add(folder)
      }
      const full = resolveInside(root, parts)
      paths.push(full)
      dataEnd.push(await ensureFile(full, file.length, root))
    }
    return new FileStorage(meta, root, paths, dataEnd, maxOpenFiles)
  }

  async read(index: number, begin: number, length: number): Promise<Buffer> {
    const start = readStart(this.#meta, index, begin, length)
    const buf = Buffer.allocUnsafe(length)
    await this.#track(async () => {
      const spans = spansFor(this.#meta.files, start, length)
      await Promise.all(spans.map((span) => this.#readSpan(buf, span)))
    })
    return buf
  }

  async write(index: number, begin: number, data: Buffer): Promise<void> {
    const start = writeStart(this.#meta, index, begin, data.length)
    await this.#track(async () => {
      const spans = spansFor(this.#meta.files, start, data.length)
      await Promise.all(spans.map((span) => this.#writeSpan(data, span)))
    })
  }

  async mayHavePiece(index: number): Promise<boolean> {
    const start = readStart(this.#meta, index, 0, 0)
    const size = index === this.#meta.pieceCount - 1 ? this.#meta.lastPieceLength : this.#meta.pieceLength
    for (const span of spansFor(this.#meta.files, start, size)) {
      if (this.#dataEnd[span.fileIndex] < span.fileOffset + span.length) return false
    }
    return true
  }

  /** fdatasync every file written since the last flush, reopening any the cache has closed. */
  async flush(): Promise<void> {
    await this.#track(async () => {
      const dirty = [...this.#dirty]
      this.#dirty.clear()
      try {
        await Promise.all(dirty.map((i) => this.#use(i, 'sync', (h) => h.datasync())))
      } catch (err) {
        for (const i of dirty) this.#dirty.add(i)
        throw err
      }
    })
    this.#throwDeferred()
  }

  /** Waits for operations under way, then closes every handle. Later calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#inflight > 0) await new Promise<void>((resolve) => { this.#onIdle = resolve })
    for (const [i, entry] of this.#open) this.#closeEntry(i, entry)
    this.#open.clear()
    await Promise.all([...this.#closing])
    this.#throwDeferred()
  }

  async #readSpan(buf: Buffer, span: Span): Promise<void> {
    const filePath = this.#paths[span.fileIndex]
    if (filePath === null) {
      buf.fill(0, span.chunkOffset, span.chunkOffset + span.length) // BEP 47: pad bytes are zeros
      return
    }
    await this.#use(span.fileIndex, 'read', async (h) => {
      let done = 0
      while (done < span.length) {
        const { bytesRead } = await h.read(buf, span.chunkOffset + done, span.length - done, span.fileOffset + done)
        if (bytesRead === 0) {
          throw new StorageError(`cannot read ${filePath}: it ends at ${span.fileOffset + done} bytes but should hold ${this.#meta.files[span.fileIndex].length}`, { path: filePath })
        }
        done += bytesRead
      }
    })
  }

  async #writeSpan(data: Buffer, span: Span): Promise<void> {
    if (this.#paths[span.fileIndex] === null) return // BEP 47: pad bytes are not stored
    await this.#use(span.fileIndex, 'write', async (h) => {
      let done = 0
      while (done < span.length) {
        const { bytesWritten } = await h.write(data, span.chunkOffset + done, span.length - done, span.fileOffset + done)
        done += bytesWritten
      }
    })
    this.#dirty.add(span.fileIndex)
    const end = span.fileOffset + span.length
    if (this.#dataEnd[span.fileIndex] < end) this.#dataEnd[span.fileIndex] = end
  }

  /** Runs `fn` with file `fileIndex`'s handle, opening it (and evicting the least recently used idle one) if needed. */
  async #use<T>(fileIndex: number, verb: string, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const filePath = this.#paths[fileIndex] as string
    let entry = this.#open.get(fileIndex)
    if (entry) {
      this.#open.delete(fileIndex)
      this.#open.set(fileIndex, entry)
    } else {
      const opened: OpenFile = { handle: open(filePath, OPEN_EXISTING), users: 0 }
      opened.handle.catch(() => {
        if (this.#open.get(fileIndex) === opened) this.#open.delete(fileIndex)
      })
      this.#open.set(fileIndex, opened)
      entry = opened
    }
    entry.users++
    this.#evict()
    try {
      let handle: FileHandle
      try {
        handle = await entry.handle
      } catch (err) {
        throw openError(err, filePath, this.#root)
      }
      try {
        return await fn(handle)
      } catch (err) {
        throw osError(err, verb, filePath)
      }
    } finally {
      entry.users--
      if (this.#open.size > this.#maxOpenFiles) this.#evict()
    }
  }

  #evict(): void {
    for (const [i, entry] of this.#open) {
      if (this.#open.size <= this.#maxOpenFiles) return
      if (entry.users > 0) continue
      this.#open.delete(i)
      this.#closeEntry(i, entry)
    }
  }

  #closeEntry(fileIndex: number, entry: OpenFile): void {
    const closing = entry.handle.then(
      (h) => h.close().catch((err: unknown) => { this.#deferredError ??= osError(err, 'close', this.#paths[fileIndex] as string) }),
      () => {}, // it never opened; the operation that opened it already got the error
    )
    this.#closing.add(closing)
    void closing.finally(() => this.#closing.delete(closing))
  }

  async #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError('storage is closed')
    this.#inflight++
    try {
      return await fn()
    } finally {
      if (--this.#inflight === 0 && this.#onIdle) {
        this.#onIdle()
        this.#onIdle = null
      }
    }
  }

  #throwDeferred(): void {
    const err = this.#deferredError
    this.#deferredError = null
    if (err) throw err
  }
}

async function ensureFolder(folder: string, root: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const st = await lstat(folder)
      if (st.isSymbolicLink()) throw symlinkRefused(folder, root)
      if (!st.isDirectory()) throw new StorageError(`cannot use ${folder}: it exists and is not a folder`, { path: folder })
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw osError(err, 'use folder', folder)
    }
    try {
      await mkdir(folder)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw osError(err, 'create folder', folder)
    }
  }
}

/** Creates or opens the file, extends it sparse to `length` if shorter, and returns its size before that. */
async function ensureFile(filePath: string, length: number, root: string): Promise<number> {
  let h: FileHandle
  try {
    h = await open(filePath, OPEN_OR_CREATE, 0o666)
  } catch (err) {
    throw openError(err, filePath, root)
  }
  try {
    const st = await h.stat()
    if (!st.isFile()) throw new StorageError(`cannot use ${filePath}: it exists and is not a regular file`, { path: filePath })
    if (st.size < length) await h.truncate(length)
    return st.size
  } catch (err) {
    throw osError(err, 'extend', filePath)
  } finally {
    await h.close()
  }
}

function openError(err: unknown, filePath: string, root: string): StorageError {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') return symlinkRefused(filePath, root)
  return osError(err, 'open', filePath)
}

function symlinkRefused(target: string, root: string): StorageError {
  return new StorageError(`refusing to use ${target}: it is a symbolic link, and files must stay inside ${root}`, { path: target, code: 'ELOOP' })
}
