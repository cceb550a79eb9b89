// The hidden part file: bytes of pieces that land in skipped files, kept out
// of those files so a skipped file never appears half-written. One per torrent,
// `.<infohash-hex>.parts` in the save folder; it must never hold the only copy
// of bytes a real file should have, and it is deleted as soon as it is empty.
//
// Layout: append-only records <index u32be><begin u32be><length u32be><data>,
// each inside one file; where records overlap the later one wins. The index
// (piece -> records, oldest first) lives in memory and is rebuilt at open by
// reading the headers. Records made dead by rewrites or by moving bytes out
// are squeezed out by sliding the live ones down. A crash mid-append or
// mid-squeeze leaves a tail that is cut at the first header that makes no
// sense; piece hashes catch any wrong bytes, so a crash costs a re-download.

import { constants as fsConstants } from 'node:fs'
import { open, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { pieceSize, type Metainfo } from '../metainfo/metainfo.ts'
import { spansFor } from '../metainfo/layout.ts'
import { StorageError, osError } from './storage-error.ts'

const HEADER_BYTES = 12
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0
const OPEN_EXISTING = fsConstants.O_RDWR | O_NOFOLLOW
const OPEN_OR_CREATE = fsConstants.O_RDWR | fsConstants.O_CREAT | O_NOFOLLOW

interface PartRecord {
  index: number
  begin: number
  length: number
  fileIndex: number
  /** Payload offset of the record's first byte. */
  start: number
  /** Where its data (after the header) sits in the part file. */
  dataPos: number
}

export class PartFile {
  readonly path: string
  readonly #meta: Metainfo
  /** Per piece, its records in append order (dataPos ascending). */
  readonly #byPiece = new Map<number, PartRecord[]>()
  /** Next append position; reserved synchronously so concurrent appends never overlap. */
  #end = 0
  /** Header and data bytes of the records in the index; less than #end means there is dead space. */
  #liveBytes = 0
  #handle: Promise<FileHandle> | null = null
  #dirty = false

  private constructor(meta: Metainfo, partPath: string) {
    this.#meta = meta
    this.path = partPath
  }

  /** The part file name for a torrent; fixed, hidden and free of separators whatever the torrent says. */
  static fileName(meta: Metainfo): string {
    if (!/^[0-9a-f]{40}$/.test(meta.infoHashHex)) throw new RangeError(`info hash ${meta.infoHashHex} is not 40 lowercase hex digits`)
    return `.${meta.infoHashHex}.parts`
  }

  /** Loads the index of an existing part file in `root`; creates nothing until the first write. */
  static async open(meta: Metainfo, root: string): Promise<PartFile> {
    const part = new PartFile(meta, path.join(root, PartFile.fileName(meta)))
    await part.#load()
    return part
  }

  get isEmpty(): boolean {
    return this.#byPiece.size === 0
  }

  /** Every file index some record belongs to. */
  filesWithRecords(): Set<number> {
    const files = new Set<number>()
    for (const records of this.#byPiece.values()) for (const r of records) files.add(r.fileIndex)
    return files
  }

  /** Appends `length` bytes of `data` from `dataOffset` as piece `index`, offset `begin`, all inside file `fileIndex`. */
  async write(index: number, begin: number, fileIndex: number, data: Buffer, dataOffset: number, length: number): Promise<void> {
    const headerPos = this.#end
    this.#end += HEADER_BYTES + length
    const header = Buffer.allocUnsafe(HEADER_BYTES)
    header.writeUInt32BE(index, 0)
    header.writeUInt32BE(begin, 4)
    header.writeUInt32BE(length, 8)
    const h = await this.#openHandle()
    try {
      await writeFully(h, [header, data.subarray(dataOffset, dataOffset + length)], headerPos)
    } catch (err) {
      throw osError(err, 'write', this.path)
    }
    this.#dirty = true
    this.#insert({ index, begin, length, fileIndex, start: index * this.#meta.pieceLength + begin, dataPos: headerPos + HEADER_BYTES })
  }

  /** Fills buf[bufOffset, +length) with payload bytes from `start`; bytes never written read as zeros, like a sparse file's holes. */
  async readInto(buf: Buffer, bufOffset: number, start: number, length: number): Promise<void> {
    buf.fill(0, bufOffset, bufOffset + length)
    const end = start + length
    const pieceLength = this.#meta.pieceLength
    for (let piece = Math.floor(start / pieceLength); piece * pieceLength < end; piece++) {
      const records = this.#byPiece.get(piece)
      if (!records) continue
      // Oldest first and one at a time, so a later record's bytes land last.
      for (const r of records) {
        const lo = Math.max(r.start, start)
        const hi = Math.min(r.start + r.length, end)
        if (lo >= hi) continue
        const h = await this.#openHandle()
        try {
          await readFully(h, buf, bufOffset + lo - start, hi - lo, r.dataPos + lo - r.start, this.path)
        } catch (err) {
          throw osError(err, 'read', this.path)
        }
      }
    }
  }

  /** True when records hold every byte of payload range [start, start + length). */
  covers(start: number, length: number): boolean {
    const end = start + length
    const pieceLength = this.#meta.pieceLength
    const ranges: [number, number][] = []
    for (let piece = Math.floor(start / pieceLength); piece * pieceLength < end; piece++) {
      for (const r of this.#byPiece.get(piece) ?? []) {
        const lo = Math.max(r.start, start)
        const hi = Math.min(r.start + r.length, end)
        if (lo < hi) ranges.push([lo, hi])
      }
    }
    ranges.sort((a, b) => a[0] - b[0])
    let reached = start
    for (const [lo, hi] of ranges) {
      if (lo > reached) return false
      if (hi > reached) reached = hi
    }
    return reached >= end
  }

  /** Hands every record of file `fileIndex` to `sink` in append order, as (offset in that file, bytes). Removes nothing. */
  async copyOut(fileIndex: number, sink: (fileOffset: number, data: Buffer) => Promise<void>): Promise<void> {
    const records: PartRecord[] = []
    for (const list of this.#byPiece.values()) for (const r of list) if (r.fileIndex === fileIndex) records.push(r)
    records.sort((a, b) => a.dataPos - b.dataPos)
    const fileStart = this.#meta.files[fileIndex].offset
    for (const r of records) {
      const data = Buffer.allocUnsafe(r.length)
      const h = await this.#openHandle()
      try {
        await readFully(h, data, 0, r.length, r.dataPos, this.path)
      } catch (err) {
        throw osError(err, 'read', this.path)
      }
      await sink(r.start - fileStart, data)
    }
  }

  /** Forgets every record of file `fileIndex`, then squeezes the part file, or deletes it if nothing is left. */
  async drop(fileIndex: number): Promise<void> {
    for (const [piece, list] of this.#byPiece) {
      const kept = list.filter((r) => r.fileIndex !== fileIndex)
      for (const r of list) if (r.fileIndex === fileIndex) this.#liveBytes -= HEADER_BYTES + r.length
      if (kept.length === 0) this.#byPiece.delete(piece)
      else if (kept.length !== list.length) this.#byPiece.set(piece, kept)
    }
    await this.#settle()
  }

  async flush(): Promise<void> {
    if (!this.#dirty || !this.#handle) return
    this.#dirty = false
    const h = await this.#openHandle()
    try {
      await h.datasync()
    } catch (err) {
      this.#dirty = true
      throw osError(err, 'sync', this.path)
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = null
    if (!handle) return
    let h: FileHandle
    try {
      h = await handle
    } catch {
      return // it never opened; the operation that opened it already got the error
    }
    try {
      await h.close()
    } catch (err) {
      throw osError(err, 'close', this.path)
    }
  }

  async #load(): Promise<void> {
    let h: FileHandle
    try {
      h = await open(this.path, OPEN_EXISTING)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw openError(err, this.path)
    }
    this.#handle = Promise.resolve(h)
    try {
      const st = await h.stat()
      if (!st.isFile()) throw new StorageError(`cannot use ${this.path}: it exists and is not a regular file; move it away`, { path: this.path })
      const header = Buffer.allocUnsafe(HEADER_BYTES)
      let pos = 0
      while (pos + HEADER_BYTES <= st.size) {
        await readFully(h, header, 0, HEADER_BYTES, pos, this.path)
        const record = this.#recordAt(header.readUInt32BE(0), header.readUInt32BE(4), header.readUInt32BE(8), pos + HEADER_BYTES)
        if (!record || record.dataPos + record.length > st.size) break
        this.#insert(record)
        pos = record.dataPos + record.length
      }
      this.#end = pos
      if (pos < st.size) await h.truncate(pos)
    } catch (err) {
      await this.close().catch(() => {})
      throw osError(err, 'load', this.path)
    }
    await this.#settle()
  }

  /** The record a header describes, or null when it cannot be one we wrote: out of range or not inside exactly one stored file. */
  #recordAt(index: number, begin: number, length: number, dataPos: number): PartRecord | null {
    if (index >= this.#meta.pieceCount || length === 0 || begin + length > pieceSize(this.#meta, index)) return null
    const start = index * this.#meta.pieceLength + begin
    const spans = spansFor(this.#meta.files, start, length)
    if (spans.length !== 1 || this.#meta.files[spans[0].fileIndex].padding) return null
    return { index, begin, length, fileIndex: spans[0].fileIndex, start, dataPos }
  }

  /** Adds a record in append order, dropping older ones it fully covers (a rewrite of the same block). */
  #insert(record: PartRecord): void {
    let list = this.#byPiece.get(record.index)
    if (!list) {
      list = []
      this.#byPiece.set(record.index, list)
    }
    const end = record.start + record.length
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i]
      const covered = r.start >= record.start && r.start + r.length <= end
      const covers = record.start >= r.start && end <= r.start + r.length
      if (r.dataPos < record.dataPos && covered) {
        list.splice(i, 1)
        this.#liveBytes -= HEADER_BYTES + r.length
      } else if (r.dataPos > record.dataPos && covers) {
        return // a later append already replaced it
      }
    }
    let at = list.length
    while (at > 0 && list[at - 1].dataPos > record.dataPos) at--
    list.splice(at, 0, record)
    this.#liveBytes += HEADER_BYTES + record.length
  }

  /** Deletes the file when no record is left, else slides live records down over dead space. */
  async #settle(): Promise<void> {
    if (this.#byPiece.size === 0) {
      await this.close()
      try {
        await unlink(this.path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw osError(err, 'delete', this.path)
      }
      this.#end = 0
      this.#liveBytes = 0
      this.#dirty = false
      return
    }
    if (this.#liveBytes < this.#end) await this.#compact()
  }

  async #compact(): Promise<void> {
    const records: PartRecord[] = []
    for (const list of this.#byPiece.values()) records.push(...list)
    records.sort((a, b) => a.dataPos - b.dataPos)
    const h = await this.#openHandle()
    try {
      let scratch = Buffer.alloc(0)
      let pos = 0
      for (const r of records) {
        const size = HEADER_BYTES + r.length
        const from = r.dataPos - HEADER_BYTES
        if (from !== pos) {
          if (scratch.length < size) scratch = Buffer.allocUnsafe(size)
          await readFully(h, scratch, 0, size, from, this.path)
          await writeFully(h, [scratch.subarray(0, size)], pos)
          r.dataPos = pos + HEADER_BYTES
        }
        pos += size
      }
      await h.truncate(pos)
      await h.datasync()
      this.#end = pos
      this.#liveBytes = pos
      this.#dirty = false
    } catch (err) {
      throw osError(err, 'compact', this.path)
    }
  }

  async #openHandle(): Promise<FileHandle> {
    if (!this.#handle) {
      const opening = open(this.path, OPEN_OR_CREATE, 0o666)
      this.#handle = opening
      opening.catch(() => {
        if (this.#handle === opening) this.#handle = null
      })
    }
    try {
      return await this.#handle
    } catch (err) {
      throw openError(err, this.path)
    }
  }
}

async function readFully(h: FileHandle, buf: Buffer, offset: number, length: number, position: number, filePath: string): Promise<void> {
  let done = 0
  while (done < length) {
    const { bytesRead } = await h.read(buf, offset + done, length - done, position + done)
    if (bytesRead === 0) throw new StorageError(`cannot read ${filePath}: it ends at ${position + done} bytes, inside a record; delete it to re-download those pieces`, { path: filePath })
    done += bytesRead
  }
}

async function writeFully(h: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  const total = chunks.reduce((sum, c) => sum + c.length, 0)
  let done = (await h.writev(chunks, position)).bytesWritten
  if (done >= total) return
  const rest = Buffer.concat(chunks).subarray(done)
  while (done < total) {
    const { bytesWritten } = await h.write(rest, done - (total - rest.length), total - done, position + done)
    done += bytesWritten
  }
}

function openError(err: unknown, filePath: string): StorageError {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
    return new StorageError(`refusing to use ${filePath}: it is a symbolic link; remove it`, { path: filePath, code: 'ELOOP' })
  }
  return osError(err, 'open', filePath)
}
