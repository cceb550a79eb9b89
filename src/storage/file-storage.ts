// Storage on disk: the torrent's files under one save folder, blocks split
// over file spans and written with positional writes through a small LRU of
// open handles. Must never create, follow or write anything outside the save
// folder: every path goes through resolveInside and symlinks are refused.
// Skipped files that are not on disk are never created: their bytes go to the
// torrent's part file (part-file.ts) until they are un-skipped.
// BEP 47: pad files are never created; symlinks are created (relative) only
// when they and their target stay inside the save folder, else skipped with a
// warning; executable files get the x bit wherever they have the r bit.

import { constants as fsConstants } from 'node:fs'
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { resolveInside, safePathComponents } from '../metainfo/safe-path.ts'
import { spansFor, type Span } from '../metainfo/layout.ts'
import type { Storage } from './storage.ts'
import { StorageError, osError } from './storage-error.ts'
import { readStart, writeStart } from './range.ts'
import { PartFile } from './part-file.ts'
import { createFolders, createSymlink, symlinkRefused } from './folders.ts'

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

export interface FileStorageOptions {
  maxOpenFiles?: number
  /**
   * Per file, true to skip it. A skipped file that is not on disk is never
   * created; one that already exists is left in place and used as it is,
   * since pieces already verified may rely on its bytes.
   */
  skip?: boolean[]
}

export class FileStorage implements Storage {
  readonly #meta: Metainfo
  readonly #root: string
  /** Absolute path per file; null for BEP 47 pad files, which are never on disk. */
  readonly #paths: (string | null)[]
  /** Per file, true while its bytes live in the part file rather than in the file itself. */
  readonly #inPartFile: boolean[]
  readonly #part: PartFile
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
  #idleWaiters: (() => void)[] = []
  /** Set while a skip change runs alone: reads and writes wait for it. */
  #gate: Promise<void> | null = null
  #closed = false
  /** A close of an evicted handle that failed; reported by the next flush or close. */
  #deferredError: unknown = null
  /** What open refused to create (symlinks that would point outside the save folder), one line each. */
  readonly warnings: string[] = []

  private constructor(meta: Metainfo, root: string, paths: (string | null)[], dataEnd: number[], inPartFile: boolean[], part: PartFile, maxOpenFiles: number) {
    this.#meta = meta
    this.#root = root
    this.#paths = paths
    this.#dataEnd = dataEnd
    this.#inPartFile = inPartFile
    this.#part = part
    this.#maxOpenFiles = maxOpenFiles
  }

  /**
   * Creates the save folder, every folder and every file not skipped
   * (zero-length ones too). Files shorter than their length are extended
   * sparse; none is ever shrunk or overwritten. Part-file bytes of files that
   * are no longer skipped are moved into them.
   */
  static async open(meta: Metainfo, saveDir: string, opts: FileStorageOptions = {}): Promise<FileStorage> {
    const maxOpenFiles = opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 1) throw new RangeError(`maxOpenFiles must be 1 or more, got ${maxOpenFiles}`)
    const skip = opts.skip ?? []
    if (opts.skip && skip.length !== meta.files.length) throw new RangeError(`skip needs one entry per file (${meta.files.length}), got ${skip.length}`)
    const root = path.resolve(saveDir)
    try {
      await mkdir(root, { recursive: true })
    } catch (err) {
      throw osError(err, 'create the save folder', root)
    }
    const readyFolders = new Set<string>()
    const paths: (string | null)[] = []
    const dataEnd: number[] = []
    const inPartFile: boolean[] = []
    for (const [i, file] of meta.files.entries()) {
      if (file.padding || file.symlink) {
        paths.push(null)
        dataEnd.push(file.length)
        inPartFile.push(false)
        continue
      }
      const parts = safePathComponents(file.path)
      const full = resolveInside(root, parts)
      paths.push(full)
      if (skip[i] === true && !(await exists(full))) {
        dataEnd.push(0)
        inPartFile.push(true)
        continue
      }
      inPartFile.push(false)
      dataEnd.push(await createFile(root, parts, file.length, readyFolders, file.executable === true))
    }
    const warnings: string[] = []
    for (const file of meta.files) {
      if (file.symlink) await createSymlink(root, file, readyFolders, warnings)
    }
    const part = await PartFile.open(meta, root)
    const storage = new FileStorage(meta, root, paths, dataEnd, inPartFile, part, maxOpenFiles)
    storage.warnings.push(...warnings)
    try {
      for (const fileIndex of part.filesWithRecords()) {
        if (!inPartFile[fileIndex]) await storage.#moveOutOfPartFile(fileIndex)
      }
    } catch (err) {
      await storage.close().catch(() => {})
      throw err
    }
    return storage
  }

  /**
   * Skips or un-skips file `fileIndex`. Skipping only redirects a file that is
   * not on disk (an existing one is left alone and kept in use). Un-skipping
   * creates the file and moves its bytes out of the part file, which is
   * deleted once empty. Reads and writes wait while this runs.
   */
  async setSkipped(fileIndex: number, skipped: boolean): Promise<void> {
    if (!Number.isInteger(fileIndex) || fileIndex < 0 || fileIndex >= this.#meta.files.length) {
      throw new RangeError(`file ${fileIndex} out of range 0..${this.#meta.files.length - 1}`)
    }
    const filePath = this.#paths[fileIndex]
    if (filePath === null) return // BEP 47: pad files are never on disk either way
    await this.#exclusive(async () => {
      if (skipped) {
        if (this.#inPartFile[fileIndex] || await exists(filePath)) return
        const entry = this.#open.get(fileIndex)
        if (entry) {
          this.#open.delete(fileIndex)
          this.#closeEntry(fileIndex, entry)
        }
        this.#dirty.delete(fileIndex)
        this.#dataEnd[fileIndex] = 0
        this.#inPartFile[fileIndex] = true
        return
      }
      if (!this.#inPartFile[fileIndex]) return
      const file = this.#meta.files[fileIndex]
      this.#dataEnd[fileIndex] = await createFile(this.#root, safePathComponents(file.path), file.length, new Set(), file.executable === true)
      this.#inPartFile[fileIndex] = false
      await this.#moveOutOfPartFile(fileIndex)
    })
  }

  async read(index: number, begin: number, length: number): Promise<Buffer> {
    const start = readStart(this.#meta, index, begin, length)
    const buf = Buffer.allocUnsafe(length)
    await this.#track(async () => {
      const spans = spansFor(this.#meta.files, start, length)
      await Promise.all(spans.map((span) => this.#readSpan(buf, span, start)))
    })
    return buf
  }

  async write(index: number, begin: number, data: Buffer): Promise<void> {
    const start = writeStart(this.#meta, index, begin, data.length)
    await this.#track(async () => {
      const spans = spansFor(this.#meta.files, start, data.length)
      await Promise.all(spans.map((span) => {
        if (this.#inPartFile[span.fileIndex]) return this.#part.write(index, begin + span.chunkOffset, span.fileIndex, data, span.chunkOffset, span.length)
        return this.#writeSpan(data, span)
      }))
    })
  }

  async mayHavePiece(index: number): Promise<boolean> {
    const start = readStart(this.#meta, index, 0, 0)
    const size = index === this.#meta.pieceCount - 1 ? this.#meta.lastPieceLength : this.#meta.pieceLength
    for (const span of spansFor(this.#meta.files, start, size)) {
      if (this.#inPartFile[span.fileIndex]) {
        if (!this.#part.covers(start + span.chunkOffset, span.length)) return false
      } else if (this.#dataEnd[span.fileIndex] < span.fileOffset + span.length) {
        return false
      }
    }
    return true
  }

  /**
   * The first folder holding our files that is gone, or an open file whose
   * last link was removed (reads through its handle would still succeed, from
   * a file no longer on disk). One lstat per folder and one fstat per open
   * handle: never a walk over every file.
   */
  async findMissing(): Promise<string | undefined> {
    if (this.#closed) return undefined
    const folders = new Set<string>()
    for (const [i, p] of this.#paths.entries()) if (p !== null && !this.#inPartFile[i]) folders.add(path.dirname(p))
    for (const folder of folders) {
      if (!(await exists(folder))) return folder
    }
    for (const [i, entry] of [...this.#open]) {
      const handle = await entry.handle.catch(() => undefined)
      const st = await handle?.stat().catch(() => undefined)
      if (st && st.nlink === 0) return this.#paths[i] as string
    }
    return undefined
  }

  /** fdatasync every file written since the last flush, reopening any the cache has closed. */
  async flush(): Promise<void> {
    await this.#track(async () => {
      const dirty = [...this.#dirty]
      this.#dirty.clear()
      try {
        await Promise.all([...dirty.map((i) => this.#use(i, 'sync', (h) => h.datasync())), this.#part.flush()])
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
    while (this.#gate) await this.#gate
    await this.#idle()
    for (const [i, entry] of this.#open) this.#closeEntry(i, entry)
    this.#open.clear()
    const partClosed = this.#part.close()
    await Promise.all([...this.#closing])
    await partClosed
    this.#throwDeferred()
  }

  /** Moves file `fileIndex`'s bytes from the part file into the file, syncs them, then drops them from the part file. */
  async #moveOutOfPartFile(fileIndex: number): Promise<void> {
    let wrote = false
    await this.#part.copyOut(fileIndex, async (fileOffset, data) => {
      await this.#writeSpan(data, { fileIndex, fileOffset, length: data.length, chunkOffset: 0 })
      wrote = true
    })
    // Durable in the file before it leaves the part file, so a crash loses nothing.
    if (wrote) await this.#use(fileIndex, 'sync', (h) => h.datasync())
    await this.#part.drop(fileIndex)
  }

  async #readSpan(buf: Buffer, span: Span, start: number): Promise<void> {
    const filePath = this.#paths[span.fileIndex]
    if (filePath === null) {
      buf.fill(0, span.chunkOffset, span.chunkOffset + span.length) // BEP 47: pad bytes are zeros
      return
    }
    if (this.#inPartFile[span.fileIndex]) return this.#part.readInto(buf, span.chunkOffset, start + span.chunkOffset, span.length)
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
    while (this.#gate) await this.#gate
    if (this.#closed) throw new StorageError('storage is closed')
    this.#inflight++
    try {
      return await fn()
    } finally {
      this.#leave()
    }
  }

  #leave(): void {
    if (--this.#inflight === 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake()
    }
  }

  /** Runs `fn` with no other operation under way: later ones wait for it, earlier ones finish first. */
  async #exclusive(fn: () => Promise<void>): Promise<void> {
    while (this.#gate) await this.#gate
    if (this.#closed) throw new StorageError('storage is closed')
    let release!: () => void
    this.#gate = new Promise<void>((resolve) => { release = resolve })
    try {
      await this.#idle()
      this.#inflight++ // counted, so close waits for it
      try {
        await fn()
      } finally {
        this.#leave()
      }
    } finally {
      this.#gate = null
      release()
    }
  }

  #idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve()
    return new Promise<void>((resolve) => { this.#idleWaiters.push(resolve) })
  }

  #throwDeferred(): void {
    const err = this.#deferredError
    this.#deferredError = null
    if (err) throw err
  }
}

/** Creates the file's folders (refusing symlinks) and the file itself; returns its size before extension. */
async function createFile(root: string, parts: string[], length: number, readyFolders: Set<string>, executable: boolean): Promise<number> {
  await createFolders(root, parts, readyFolders)
  return ensureFile(resolveInside(root, parts), length, root, executable)
}

/** Whether anything is at `target` (a symlink counts); a missing folder on the way means no. */
async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return false
    throw osError(err, 'look for', target)
  }
}

/** Creates or opens the file, extends it sparse to `length` if shorter, and returns its size before that. */
async function ensureFile(filePath: string, length: number, root: string, executable: boolean): Promise<number> {
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
    // BEP 47 "x": execute permission wherever read permission is (0644 → 0755).
    if (executable && (st.mode & 0o111) === 0) await h.chmod((st.mode & 0o7777) | ((st.mode & 0o444) >> 2))
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
