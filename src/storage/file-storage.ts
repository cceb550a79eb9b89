// Storage on disk: the torrent's files under one save folder, blocks split
// over file spans and written with positional writes through a small LRU of
// open handles (handle-cache.ts). Must never create, follow or write anything
// outside the save folder: every path goes through resolveInside and symlinks
// are refused; folders, files and symlinks are made by folders.ts.
// No work per file at open: a file is looked at (one lstat, or none when its
// folder is missing) only when a check asks whether a piece may be there or
// a skip needs to know, and created (extended sparse to its length) at its
// first write; zero-length files are made by createEmptyFiles, once, by the
// first start. Files under pieces resume data vouches for are taken to be
// there (assumeOnDisk). So a torrent of 100,000 files opens, and restarts,
// with no file touched.
// Skipped files that are not on disk are never created: their bytes go to the
// torrent's part file (part-file.ts) until they are un-skipped.
// BEP 47: pad files are never created; symlinks are created (relative) only
// when they and their target stay inside the save folder, else skipped with a
// warning; executable files get the x bit wherever they have the r bit.

import { lstat, mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { resolveInside, safePathComponents } from '../metainfo/safe-path.ts'
import { spansFor, type Span } from '../metainfo/layout.ts'
import type { Bitfield } from '../core/bitfield.ts'
import type { Storage } from './storage.ts'
import { StorageError, osError } from './storage-error.ts'
import { readStart, writeStart } from './range.ts'
import { PartFile } from './part-file.ts'
import { createFolders, createSymlink, ensureFile, exists } from './folders.ts'
import { HandleCache } from './handle-cache.ts'
import { eachLimited, readFully, syncFileSystem, writeFully } from './disk-ops.ts'

const DEFAULT_MAX_OPEN_FILES = 64
const UNKNOWN = 0
const ABSENT = 1
const PRESENT = 2
const NO = 0
const YES = 1
const PROBE = 2
/** lstats under way at once when many files are looked at together. */
const PROBE_BATCH = 64
/** File spans of one read or write under way at once. */
const SPANS_AT_ONCE = 16
/** Dirty files a flush fdatasyncs one by one; past this it syncs the whole file system once. */
const SYNC_EACH_UP_TO = 64

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
  /** Per file, what we know of it on disk: UNKNOWN until looked at, then ABSENT or PRESENT. */
  readonly #onDisk: Uint8Array
  /** Per file: NO while its bytes live in the file itself, YES in the part file, PROBE when skipped but not yet looked at. */
  readonly #inPartFile: Uint8Array
  readonly #part: PartFile
  /**
   * Per file, how many leading bytes may hold data (valid once it is looked
   * at): its size on disk, raised by our writes. Bytes past it are holes we
   * made, so a piece there cannot be complete and a check need not read it.
   */
  readonly #dataEnd: Float64Array
  /** Folders known to exist (made or seen), and whether a folder exists, asked once. */
  readonly #readyFolders = new Set<string>()
  readonly #folderExists = new Map<string, Promise<boolean>>()
  /** Folders holding a file we know is on disk: what findMissing watches. */
  readonly #dataFolders = new Set<string>()
  /** Looks and creates under way, so concurrent writes to one new file create it once. */
  readonly #probing = new Map<number, Promise<void>>()
  readonly #creating = new Map<number, Promise<void>>()
  readonly #handles: HandleCache
  readonly #dirty = new Set<number>()
  #inflight = 0
  #idleWaiters: (() => void)[] = []
  /** Set while a skip change runs alone: reads and writes wait for it. */
  #gate: Promise<void> | null = null
  #closed = false
  /** What open refused to create (symlinks that would point outside the save folder), one line each. */
  readonly warnings: string[] = []

  private constructor(meta: Metainfo, root: string, skip: boolean[], part: PartFile, maxOpenFiles: number) {
    const count = meta.files.length
    this.#meta = meta
    this.#root = root
    this.#onDisk = new Uint8Array(count)
    this.#inPartFile = new Uint8Array(count)
    this.#dataEnd = new Float64Array(count)
    for (const [i, file] of meta.files.entries()) {
      if (file.padding || file.symlink) {
        this.#onDisk[i] = ABSENT
        this.#dataEnd[i] = file.length
      } else if (skip[i] === true) {
        this.#inPartFile[i] = PROBE
      }
    }
    this.#part = part
    this.#handles = new HandleCache(maxOpenFiles, root, (i) => this.#pathOf(i))
  }

  /**
   * Creates the save folder and BEP 47 symlinks, and reads the part file's
   * index; files are left alone until used (see the header). Files are never
   * shrunk or overwritten. Part-file bytes of files that are no longer
   * skipped are moved into them.
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
    const part = await PartFile.open(meta, root)
    const storage = new FileStorage(meta, root, skip, part, maxOpenFiles)
    for (const file of meta.files) {
      if (file.symlink) await createSymlink(root, file, storage.#readyFolders, storage.warnings)
    }
    try {
      for (const fileIndex of part.filesWithRecords()) {
        if (skip[fileIndex] !== true) await storage.#moveOutOfPartFile(fileIndex)
      }
    } catch (err) {
      await storage.close().catch(() => {})
      throw err
    }
    return storage
  }

  /**
   * Files under pieces resume data vouches for are on disk and whole, taken on
   * its word: no lstat, and no create at their next write (so a deleted one
   * fails as ENOENT rather than coming back empty under verified pieces).
   * Skipped files keep their look-before-use: their bytes may be in the part file.
   */
  assumeOnDisk(pieces: Bitfield): void {
    const { files, pieceLength } = this.#meta
    for (let i = 0; i < files.length; i++) {
      const file = files[i]
      if (file.length === 0 || this.#onDisk[i] !== UNKNOWN || this.#inPartFile[i] !== NO) continue
      const last = Math.floor((file.offset + file.length - 1) / pieceLength)
      for (let p = Math.floor(file.offset / pieceLength); p <= last; p++) {
        if (!pieces.get(p)) continue
        this.#onDisk[i] = PRESENT
        this.#dataEnd[i] = file.length
        break
      }
    }
  }

  /** Creates the zero-length files not skipped (no write ever creates them): once, at a torrent's first start. */
  async createEmptyFiles(): Promise<void> {
    await this.#track(async () => {
      for (const [i, file] of this.#meta.files.entries()) {
        if (file.length !== 0 || file.padding || file.symlink || this.#inPartFile[i] !== NO) continue
        await this.#createFile(i)
      }
    })
  }

  /**
   * Skips or un-skips files. Skipping only redirects a file that is not on
   * disk (an existing one is left alone and kept in use); whether it is is
   * looked at when the file is next used, not now. Un-skipping moves the
   * file's bytes out of the part file, which is deleted once empty. Reads and
   * writes wait while this runs.
   */
  async setSkipped(fileIndexes: number | readonly number[], skipped: boolean): Promise<void> {
    const indexes = typeof fileIndexes === 'number' ? [fileIndexes] : fileIndexes
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= this.#meta.files.length) throw new RangeError(`file ${i} out of range 0..${this.#meta.files.length - 1}`)
    }
    await this.#exclusive(async () => {
      const withRecords = skipped ? undefined : this.#part.filesWithRecords()
      for (const i of indexes) {
        const file = this.#meta.files[i]
        if (file.padding || file.symlink) continue // BEP 47: pad files are never on disk either way
        if (skipped) {
          if (this.#inPartFile[i] !== NO || this.#onDisk[i] === PRESENT) continue
          this.#handles.drop(i)
          this.#dirty.delete(i)
          this.#inPartFile[i] = this.#onDisk[i] === ABSENT ? YES : PROBE
          if (this.#onDisk[i] === ABSENT) this.#dataEnd[i] = 0
          continue
        }
        if (this.#inPartFile[i] === NO) continue
        this.#inPartFile[i] = NO
        if (file.length === 0) await this.#createFile(i)
        if (withRecords?.has(i)) await this.#moveOutOfPartFile(i)
      }
    })
  }

  async read(index: number, begin: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length)
    await this.readInto(index, begin, buf)
    return buf
  }

  async readInto(index: number, begin: number, into: Buffer): Promise<void> {
    const length = into.length
    const start = readStart(this.#meta, index, begin, length)
    await this.#track(() => {
      const spans = spansFor(this.#meta.files, start, length)
      // One span (most pieces) skips the fan-out: a seed reads hundreds of pieces a second.
      if (spans.length === 1) return this.#readSpan(into, spans[0], start)
      // A check's read may cover a thousand small files: a few at a time, so the handle cache is not swamped.
      return eachLimited(spans, SPANS_AT_ONCE, (span) => this.#readSpan(into, span, start))
    })
  }

  write(index: number, begin: number, data: Buffer): Promise<void> {
    let spans: Span[]
    try {
      spans = spansFor(this.#meta.files, writeStart(this.#meta, index, begin, data.length), data.length)
    } catch (err) {
      return Promise.reject(err)
    }
    // One span (most pieces) skips the fan-out: every promise of a write lives as long as the disk takes.
    if (spans.length === 1) return this.#track(() => this.#writeSpanOf(index, begin, data, spans[0]))
    return this.#track(() => eachLimited(spans, SPANS_AT_ONCE, (span) => this.#writeSpanOf(index, begin, data, span)))
  }

  async #writeSpanOf(index: number, begin: number, data: Buffer, span: Span): Promise<void> {
    if (this.#inPartFile[span.fileIndex] === PROBE) await this.#probe(span.fileIndex)
    if (this.#inPartFile[span.fileIndex] === YES) return this.#part.write(index, begin + span.chunkOffset, span.fileIndex, data, span.chunkOffset, span.length)
    return this.#writeSpan(data, span)
  }

  async mayHavePiece(index: number): Promise<boolean> {
    const start = readStart(this.#meta, index, 0, 0)
    const size = index === this.#meta.pieceCount - 1 ? this.#meta.lastPieceLength : this.#meta.pieceLength
    for (const span of spansFor(this.#meta.files, start, size)) {
      if (this.#onDisk[span.fileIndex] === UNKNOWN) await this.#probe(span.fileIndex)
      if (this.#inPartFile[span.fileIndex] === YES) {
        if (!this.#part.covers(start + span.chunkOffset, span.length)) return false
      } else if (this.#dataEnd[span.fileIndex] < span.fileOffset + span.length) {
        return false
      }
    }
    return true
  }

  /**
   * The first folder holding files of ours known to be on disk that is gone
   * (named by its highest missing ancestor inside the save folder),
   * or an open file whose last link was removed (reads through its handle
   * would still succeed, from a file no longer on disk). One lstat per folder
   * and one fstat per open handle: never a walk over every file.
   */
  async findMissing(): Promise<string | undefined> {
    if (this.#closed) return undefined
    for (const folder of [...this.#dataFolders]) {
      if (await exists(folder)) continue
      // The highest folder gone under the save folder, whichever of its subfolders was looked at first.
      let gone = folder
      for (let up = path.dirname(gone); up !== this.#root && up.startsWith(this.#root + path.sep) && !(await exists(up)); up = path.dirname(up)) gone = up
      return gone
    }
    for (const [i, opened] of this.#handles.entries()) {
      const handle = await opened.catch(() => undefined)
      const st = await handle?.stat().catch(() => undefined)
      if (st && st.nlink === 0) return this.#pathOf(i)
    }
    return undefined
  }

  /** fdatasync every file written since the last flush, reopening any the cache has closed. */
  async flush(): Promise<void> {
    await this.#track(async () => {
      const dirty = [...this.#dirty]
      this.#dirty.clear()
      try {
        // Thousands of small files written: one syncfs of the save folder's file system, not a reopen and fdatasync each.
        if (dirty.length > SYNC_EACH_UP_TO && (await syncFileSystem(this.#root))) await this.#part.flush()
        else await Promise.all([...dirty.map((i) => this.#handles.use(i, 'sync', (h) => h.datasync())), this.#part.flush()])
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
    const handlesClosed = this.#handles.closeAll()
    const partClosed = this.#part.close()
    await handlesClosed
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
    if (wrote) await this.#handles.use(fileIndex, 'sync', (h) => h.datasync())
    await this.#part.drop(fileIndex)
  }

  async #readSpan(buf: Buffer, span: Span, start: number): Promise<void> {
    if (this.#meta.files[span.fileIndex].padding) {
      buf.fill(0, span.chunkOffset, span.chunkOffset + span.length) // BEP 47: pad bytes are zeros
      return
    }
    if (this.#inPartFile[span.fileIndex] === PROBE) await this.#probe(span.fileIndex)
    if (this.#inPartFile[span.fileIndex] === YES) return this.#part.readInto(buf, span.chunkOffset, start + span.chunkOffset, span.length)
    await this.#handles.use(span.fileIndex, 'read', async (h) => {
      const done = await readFully(h.fd, buf, span.chunkOffset, span.length, span.fileOffset)
      if (done < span.length) {
        const filePath = this.#pathOf(span.fileIndex)
        throw new StorageError(`cannot read ${filePath}: it ends at ${span.fileOffset + done} bytes but should hold ${this.#meta.files[span.fileIndex].length}`, { path: filePath, missing: true })
      }
    })
  }

  async #writeSpan(data: Buffer, span: Span): Promise<void> {
    if (this.#meta.files[span.fileIndex].padding || this.#meta.files[span.fileIndex].symlink) return // BEP 47: pad bytes are not stored
    // A file not known to be on disk is created by its first write; one that was there is never recreated.
    if (this.#onDisk[span.fileIndex] !== PRESENT) await this.#createFile(span.fileIndex)
    await this.#handles.use(span.fileIndex, 'write', (h) => writeFully(h.fd, data, span.chunkOffset, span.length, span.fileOffset))
    this.#dirty.add(span.fileIndex)
    const end = span.fileOffset + span.length
    if (this.#dataEnd[span.fileIndex] < end) this.#dataEnd[span.fileIndex] = end
  }

  #pathOf(fileIndex: number): string {
    return resolveInside(this.#root, safePathComponents(this.#meta.files[fileIndex].path))
  }

  /** Looks at file `fileIndex` once: on disk (and how long) or not; a skipped file not there goes to the part file. */
  #probe(fileIndex: number): Promise<void> {
    let probing = this.#probing.get(fileIndex)
    if (!probing) {
      probing = (async () => {
        const filePath = this.#pathOf(fileIndex)
        const folder = path.dirname(filePath)
        let known = this.#folderExists.get(folder)
        if (!known) this.#folderExists.set(folder, (known = exists(folder)))
        const st = (await known) ? await lstat(filePath).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
          throw osError(err, 'look for', filePath)
        }) : undefined
        if (this.#onDisk[fileIndex] !== UNKNOWN) return // a write created it meanwhile
        if (st && !st.isFile()) throw new StorageError(`cannot use ${filePath}: it exists and is not a regular file`, { path: filePath })
        this.#markOnDisk(fileIndex, st ? st.size : undefined)
      })().finally(() => this.#probing.delete(fileIndex))
      this.#probing.set(fileIndex, probing)
    }
    return probing
  }

  /** Looks at many files, a batch at a time, before a check asks mayHavePiece of every piece. */
  async probeFiles(fileIndexes: Iterable<number>): Promise<void> {
    let batch: Promise<void>[] = []
    for (const i of fileIndexes) {
      if (this.#onDisk[i] !== UNKNOWN) continue
      batch.push(this.#probe(i))
      if (batch.length === PROBE_BATCH) {
        await Promise.all(batch)
        batch = []
      }
    }
    await Promise.all(batch)
  }

  /** Records what a look or a create found: `size` on disk, or undefined when the file is not there. */
  #markOnDisk(fileIndex: number, size: number | undefined): void {
    if (size === undefined) {
      this.#onDisk[fileIndex] = ABSENT
      this.#dataEnd[fileIndex] = 0
      if (this.#inPartFile[fileIndex] === PROBE) this.#inPartFile[fileIndex] = YES
      return
    }
    this.#onDisk[fileIndex] = PRESENT
    this.#dataEnd[fileIndex] = Math.max(this.#dataEnd[fileIndex], size)
    if (this.#inPartFile[fileIndex] === PROBE) this.#inPartFile[fileIndex] = NO
    this.#dataFolders.add(path.dirname(this.#pathOf(fileIndex)))
  }

  /** Creates file `fileIndex` (its folders first, refusing symlinks), extended sparse to its length; once, however many writes ask. */
  #createFile(fileIndex: number): Promise<void> {
    let creating = this.#creating.get(fileIndex)
    if (!creating) {
      const file = this.#meta.files[fileIndex]
      creating = (async () => {
        if (this.#onDisk[fileIndex] === PRESENT) return
        const parts = safePathComponents(file.path)
        await createFolders(this.#root, parts, this.#readyFolders)
        const before = await ensureFile(resolveInside(this.#root, parts), file.length, this.#root, file.executable === true)
        this.#markOnDisk(fileIndex, before)
      })().finally(() => this.#creating.delete(fileIndex))
      this.#creating.set(fileIndex, creating)
    }
    return creating
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
    const err = this.#handles.takeDeferredError()
    if (err) throw err
  }
}
