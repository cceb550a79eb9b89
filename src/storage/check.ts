// Verifies data already on disk against the piece hashes, e.g. when a torrent
// is added over an existing download. Reads large chunks a few ahead so disk
// and hashing overlap; never reads a piece the storage says cannot be there.

import { createHash } from 'node:crypto'
import { Bitfield } from '../core/bitfield.ts'
import { pieceHash, pieceSize, type Metainfo } from '../metainfo/metainfo.ts'
import { checkPiece } from '../metainfo/piece-check.ts'
import { spansFor } from '../metainfo/layout.ts'
import type { Storage } from './storage.ts'

/** Each read covers whole consecutive pieces up to this size, or a slice of one bigger piece. */
export const CHECK_CHUNK_BYTES = 1024 * 1024
const READS_AHEAD = 4
/** Pieces asked of mayHavePiece between turns of the event loop. */
const YIELD_EVERY_PIECES = 8192

interface ChunkRead {
  index: number
  begin: number
  length: number
}

export async function checkPieces(
  storage: Storage,
  meta: Metainfo,
  /** `only`: hash just these pieces (the rest are reported as not had). */
  opts: { onProgress?: (checked: number, total: number) => void; signal?: AbortSignal; only?: Bitfield } = {},
): Promise<Bitfield> {
  const { onProgress, signal } = opts
  const total = meta.pieceCount
  const have = new Bitfield(total)
  signal?.throwIfAborted()

  if (storage.probeFiles) await storage.probeFiles(opts.only ? filesOf(meta, opts.only) : meta.files.keys())
  const wanted = new Uint8Array(total)
  for (let i = 0; i < total; i++) {
    // Answered from what probeFiles saw, each await is a microtask: without a turn of the event
    // loop now and then, 500,000 pieces kept the session deaf (its control socket too) for 0.1–0.5 s.
    if (i % YIELD_EVERY_PIECES === YIELD_EVERY_PIECES - 1) await new Promise<void>((resolve) => setImmediate(resolve))
    wanted[i] = (!opts.only || opts.only.get(i)) && (await storage.mayHavePiece(i)) ? 1 : 0
  }

  let checked = 0 // pieces [0, checked) are settled: verified, failed or skipped
  const reportUpTo = (index: number): void => {
    while (checked < index) {
      checked++
      onProgress?.(checked, total)
    }
  }

  const plan = planReads(meta, wanted)
  const pending: { read: ChunkRead; data: Promise<Buffer>; buffer?: Buffer }[] = []
  // With readInto, the reads go into READS_AHEAD + 1 buffers used over and over (the one being
  // hashed and those in flight): a fresh 1 MiB buffer per read lived on as garbage until a full
  // GC, which a session's small heap rarely needs (a 30 GiB check: ~60 MB of them at a time).
  const free: Buffer[] = []
  const refill = (): void => {
    while (pending.length < READS_AHEAD) {
      const next = plan.next()
      if (next.done) return
      const { index, begin, length } = next.value
      let data: Promise<Buffer>
      let buffer: Buffer | undefined
      if (storage.readInto) {
        buffer = free.pop() ?? Buffer.allocUnsafeSlow(CHECK_CHUNK_BYTES)
        const into = buffer.subarray(0, length)
        data = storage.readInto(index, begin, into).then(() => into)
      } else {
        data = storage.read(index, begin, length)
      }
      data.catch(() => {}) // awaited below in order; this keeps an abandoned read from being "unhandled"
      pending.push({ read: next.value, data, buffer })
    }
  }

  // v1 hashes as the bytes stream by; a v2 or hybrid piece is gathered whole for checkPiece.
  let hash = createHash('sha1')
  let gathered: Buffer[] = []
  let piece = 0
  let pieceHashed = 0
  refill()
  while (pending.length > 0) {
    const { read, data: dataPromise, buffer } = pending.shift()!
    const data = await dataPromise
    signal?.throwIfAborted()
    refill()
    if (read.begin === 0) {
      reportUpTo(read.index)
      piece = read.index
    }
    let pos = 0
    while (pos < data.length) {
      const take = Math.min(pieceSize(meta, piece) - pieceHashed, data.length - pos)
      if (meta.v2) gathered.push(Buffer.from(data.subarray(pos, pos + take)))
      else hash.update(data.subarray(pos, pos + take))
      pos += take
      pieceHashed += take
      if (pieceHashed === pieceSize(meta, piece)) {
        const good = meta.v2 ? checkPiece(meta, piece, Buffer.concat(gathered)) === 'good' : hash.digest().equals(pieceHash(meta, piece))
        if (good) have.set(piece)
        gathered = []
        reportUpTo(piece + 1)
        piece++
        pieceHashed = 0
        hash = createHash('sha1')
      }
    }
    // Hashed (or copied, for v2): its buffer takes a later read.
    if (buffer) free.push(buffer)
  }
  reportUpTo(total)
  return have
}

/** The files the pieces set in `pieces` touch, in order. */
function* filesOf(meta: Metainfo, pieces: Bitfield): Generator<number> {
  let last = -1
  for (let i = 0; i < meta.pieceCount; i++) {
    if (!pieces.get(i)) continue
    for (const span of spansFor(meta.files, i * meta.pieceLength, pieceSize(meta, i))) {
      if (span.fileIndex > last) yield (last = span.fileIndex)
    }
  }
}

/** Consecutive wanted pieces grouped into reads of at most CHECK_CHUNK_BYTES; bigger pieces split. */
function* planReads(meta: Metainfo, wanted: Uint8Array): Generator<ChunkRead> {
  let i = 0
  while (i < meta.pieceCount) {
    if (!wanted[i]) {
      i++
      continue
    }
    const size = pieceSize(meta, i)
    if (size >= CHECK_CHUNK_BYTES) {
      for (let begin = 0; begin < size; begin += CHECK_CHUNK_BYTES) {
        yield { index: i, begin, length: Math.min(CHECK_CHUNK_BYTES, size - begin) }
      }
      i++
      continue
    }
    let bytes = 0
    let j = i
    while (j < meta.pieceCount && wanted[j] && bytes + pieceSize(meta, j) <= CHECK_CHUNK_BYTES) {
      bytes += pieceSize(meta, j)
      j++
    }
    yield { index: i, begin: 0, length: bytes }
    i = j
  }
}
