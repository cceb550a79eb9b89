import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { pieceSize, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { checkPieces, CHECK_CHUNK_BYTES } from '../../../src/storage/check.ts'
import { FileStorage } from '../../../src/storage/file-storage.ts'
import { MemoryStorage } from '../../helpers/memory-storage.ts'
import type { Storage } from '../../../src/storage/storage.ts'
import { patternBytes } from '../metainfo/build-torrent.ts'
import { metaFor, tempDir } from './meta-for.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** Records every read so tests can say what was (not) touched. */
class SpyStorage implements Storage {
  readonly reads: { index: number; begin: number; length: number }[] = []
  readonly #inner: Storage
  constructor(inner: Storage) {
    this.#inner = inner
  }
  read(index: number, begin: number, length: number): Promise<Buffer> {
    this.reads.push({ index, begin, length })
    return this.#inner.read(index, begin, length)
  }
  write(index: number, begin: number, data: Buffer): Promise<void> {
    return this.#inner.write(index, begin, data)
  }
  mayHavePiece(index: number): Promise<boolean> {
    return this.#inner.mayHavePiece(index)
  }
  flush(): Promise<void> {
    return this.#inner.flush()
  }
  close(): Promise<void> {
    return this.#inner.close()
  }
}

function bits(meta: Metainfo, have: { get(i: number): boolean }): number[] {
  const out = []
  for (let i = 0; i < meta.pieceCount; i++) if (have.get(i)) out.push(i)
  return out
}

test('finds exactly the complete pieces of a partly written payload and skips missing files', async () => {
  const { dir, remove } = await tempDir()
  try {
    const pieceLength = 16 * KiB
    const files = [
      { path: ['complete.bin'], data: patternBytes(40 * KiB, 1) }, // pieces 0-2 (piece 2 shared with next)
      { path: ['missing.bin'], data: patternBytes(30 * KiB, 2) }, // bytes 40K-70K: pieces 2-4
      { path: ['corrupt.bin'], data: patternBytes(34 * KiB, 3) }, // bytes 70K-104K: pieces 4-6
      { path: ['short.bin'], data: patternBytes(50 * KiB, 4) }, // bytes 104K-154K: pieces 6-9
      { path: ['complete-too.bin'], data: patternBytes(20 * KiB, 5) }, // bytes 154K-174K: pieces 9-10
    ]
    const { meta } = await metaFor('partial', pieceLength, files)
    assert.equal(meta.pieceCount, 11)
    const root = path.join(dir, 'partial')
    await mkdir(root)
    await writeFile(path.join(root, 'complete.bin'), files[0].data)
    const corrupt = Buffer.from(files[2].data)
    corrupt[20 * KiB] ^= 0xff // payload byte 90K: piece 5
    await writeFile(path.join(root, 'corrupt.bin'), corrupt)
    await writeFile(path.join(root, 'short.bin'), files[3].data.subarray(0, 33 * KiB)) // good up to byte 137K
    await writeFile(path.join(root, 'complete-too.bin'), files[4].data)

    const spy = new SpyStorage(await FileStorage.open(meta, dir))
    const progress: number[] = []
    const have = await checkPieces(spy, meta, { onProgress: (checked, total) => { assert.equal(total, 11); progress.push(checked) } })
    await spy.close()

    // 0,1: complete.bin. 2-4 touch missing.bin. 5: corrupt byte. 6: all in corrupt.bin (good part) + short.bin
    // start (good). 7: short.bin 8K-24K, good. 8: 24K-40K crosses the old end at 33K. 9: short.bin tail.
    // 10: complete-too.bin.
    assert.deepEqual(bits(meta, have), [0, 1, 6, 7, 10])
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    const readPieces = new Set<number>()
    for (const r of spy.reads) {
      let at = r.index * pieceLength + r.begin
      while (at < r.index * pieceLength + r.begin + r.length) {
        readPieces.add(Math.floor(at / pieceLength))
        at += 1
      }
    }
    for (const skipped of [2, 3, 4, 8, 9]) assert.ok(!readPieces.has(skipped), `piece ${skipped} cannot be complete and was read`)
  } finally {
    await remove()
  }
})

test('reads small pieces in large chunks and verifies every one', async () => {
  const payload = patternBytes(9 * MiB + 5, 6)
  const { meta } = await metaFor('chunks.bin', 16 * KiB, payload)
  const corrupted = Buffer.from(payload)
  corrupted[5 * MiB + 1] ^= 1
  const spy = new SpyStorage(new MemoryStorage(meta, corrupted))
  const have = await checkPieces(spy, meta)
  assert.equal(have.count(), meta.pieceCount - 1)
  assert.equal(have.get((5 * MiB) / (16 * KiB)), false)
  assert.equal(spy.reads.length, Math.ceil(meta.length / CHECK_CHUNK_BYTES))
  assert.ok(CHECK_CHUNK_BYTES >= 1024 * 1024)
  for (const r of spy.reads.slice(0, -1)) assert.equal(r.length, CHECK_CHUNK_BYTES)
})

test('with readInto, reads go into a few buffers used over and over, and every piece is still judged on its own bytes', async () => {
  const payload = patternBytes(9 * MiB + 5, 9)
  const { meta } = await metaFor('reused.bin', 16 * KiB, payload)
  const corrupted = Buffer.from(payload)
  corrupted[7 * MiB + 3] ^= 1
  const inner = new MemoryStorage(meta, corrupted)
  const buffers = new Set<ArrayBuffer>()
  let reads = 0
  const storage: Storage = {
    read: () => Promise.reject(new Error('read() used although readInto() is there')),
    async readInto(index, begin, into) {
      reads++
      buffers.add(into.buffer as ArrayBuffer)
      ;(await inner.read(index, begin, into.length)).copy(into)
    },
    write: (index, begin, data) => inner.write(index, begin, data),
    mayHavePiece: (index) => inner.mayHavePiece(index),
    flush: () => inner.flush(),
    close: () => inner.close(),
  }
  const have = await checkPieces(storage, meta)
  assert.deepEqual(bits(meta, { get: (i) => !have.get(i) }), [(7 * MiB) / (16 * KiB)])
  assert.equal(reads, 10)
  assert.ok(buffers.size <= 5, `${buffers.size} buffers for ${reads} reads`)
})

test('splits pieces bigger than a chunk and hashes them across reads', async () => {
  const payload = patternBytes(20 * MiB + 3, 7)
  const { meta } = await metaFor('big-pieces.bin', 8 * MiB, payload)
  const spy = new SpyStorage(new MemoryStorage(meta, payload))
  const have = await checkPieces(spy, meta)
  assert.equal(have.hasAll(), true)
  assert.ok(spy.reads.every((r) => r.length <= CHECK_CHUNK_BYTES))
  assert.equal(spy.reads.reduce((sum, r) => sum + r.length, 0), meta.length)
  assert.equal(pieceSize(meta, 2), 4 * MiB + 3)
})

test('an abort signal stops the check', async () => {
  const payload = patternBytes(12 * MiB, 8)
  const { meta } = await metaFor('abort.bin', 64 * KiB, payload)
  const controller = new AbortController()
  const spy = new SpyStorage(new MemoryStorage(meta, payload))
  await assert.rejects(
    checkPieces(spy, meta, { signal: controller.signal, onProgress: (checked) => { if (checked === 10) controller.abort() } }),
    { name: 'AbortError' },
  )
  assert.ok(spy.reads.length < 3 + 4, 'stopped reading soon after the abort')
  const aborted = AbortSignal.abort()
  await assert.rejects(checkPieces(spy, meta, { signal: aborted }), { name: 'AbortError' })
})
