// A long download must not grow the heap (issue 15): our seeder → our leecher,
// in this process on 127.0.0.1, 256 MiB into a real file. The test forces
// full GCs and records heapUsed and arrayBuffers after them; between the
// first quarter of the transfer and its end, neither may grow past a bound.
// Samples are taken by progress (a full GC every 16 verified pieces), so a fast
// machine gets as many as a slow one.
// A leak of a few kB per piece (1,024 pieces) or of the piece buffers
// themselves fails it; V8's ordinary old-space growth does not, because the
// samples are taken after a full GC. The seeder's data is made on the fly
// (16 distinct pseudo-random pieces in turn), so no 256 MiB payload is held.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import bencode from 'bencode'
import type { Storage } from '../../src/storage/storage.ts'
import { pseudoRandomBytes } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurPeer, type OurPeer } from '../helpers/our-seeder.ts'

const MiB = 1024 * 1024
const PIECE_LENGTH = 256 * 1024
const TOTAL_BYTES = 256 * MiB
const DISTINCT_PIECES = 16
/** Growth allowed, after a full GC, from the median of the first quarter's samples to the largest of the last half's. */
const HEAP_GROWTH_LIMIT_BYTES = 6 * MiB
const ARRAY_BUFFER_GROWTH_LIMIT_BYTES = 16 * MiB
const SAMPLE_EVERY_PIECES = 16
const TRANSFER_TIMEOUT_MS = 120_000

// A full GC on demand; the test runner does not pass --expose-gc.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function pieceData(index: number, distinct: Buffer[]): Buffer {
  return distinct[index % distinct.length]
}

/** Read-only data of the torrent, piece i being distinct[i mod 16]. */
class CyclicStorage implements Storage {
  constructor(readonly distinct: Buffer[]) {}
  /** A read may run on past its piece (a check reads 1 MiB at a time). */
  async read(index: number, begin: number, length: number): Promise<Buffer> {
    if (begin + length <= PIECE_LENGTH) return pieceData(index, this.distinct).subarray(begin, begin + length)
    const out = Buffer.allocUnsafe(length)
    for (let done = 0; done < length; ) {
      const at = index * PIECE_LENGTH + begin + done
      const inPiece = at % PIECE_LENGTH
      done += pieceData(Math.floor(at / PIECE_LENGTH), this.distinct).copy(out, done, inPiece, Math.min(PIECE_LENGTH, inPiece + length - done))
    }
    return out
  }
  async write(): Promise<void> {
    throw new Error('the cyclic seeder storage is read-only')
  }
  async mayHavePiece(): Promise<boolean> {
    return true
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

interface Sample {
  progress: number
  heapUsed: number
  arrayBuffers: number
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

test('a 256 MiB download keeps its heap and its buffers flat after GC', { timeout: 240_000 }, async () => {
  const distinct = Array.from({ length: DISTINCT_PIECES }, (_, i) => pseudoRandomBytes(PIECE_LENGTH, 101 + i))
  const pieceCount = TOTAL_BYTES / PIECE_LENGTH
  const hashes = Buffer.concat(Array.from({ length: pieceCount }, (_, i) => createHash('sha1').update(pieceData(i, distinct)).digest()))
  const torrentFile = Buffer.from(bencode.encode({ info: { name: 'steady-heap.bin', 'piece length': PIECE_LENGTH, length: TOTAL_BYTES, pieces: hashes } }))
  const dir = tempDir('mem-steady-heap')
  const torrentPath = join(dir.path, 'steady-heap.torrent')
  let seeder: OurPeer | undefined
  let leecher: OurPeer | undefined
  try {
    await writeFile(torrentPath, torrentFile)
    seeder = await startOurPeer({ torrentPath, dataDir: dir.path, useTrackers: false, storage: new CyclicStorage(distinct) })
    assert.equal(seeder.torrent.state, 'seeding', 'the seeder checked its on-the-fly data as complete')
    const downloadDir = join(dir.path, 'download')
    leecher = await startOurPeer({ torrentPath, dataDir: downloadDir, useTrackers: false, peers: [{ host: '127.0.0.1', port: seeder.port, source: 'manual' }] })
    const torrent = leecher.torrent
    const samples: Sample[] = []
    const complete = new Promise<void>((resolvePromise, reject) => {
      torrent.once('complete', () => resolvePromise())
      setTimeout(() => reject(new Error(`not complete after ${TRANSFER_TIMEOUT_MS / 1000} s: ${JSON.stringify(torrent.snapshot().progress)}`)), TRANSFER_TIMEOUT_MS).unref()
    })
    let verified = 0
    torrent.on('pieceVerified', () => {
      if (++verified % SAMPLE_EVERY_PIECES !== 0) return
      gc()
      const m = process.memoryUsage()
      samples.push({ progress: torrent.snapshot().progress, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers })
    })
    await complete

    const early = samples.filter((s) => s.progress > 0.05 && s.progress <= 0.3)
    const late = samples.filter((s) => s.progress > 0.5)
    assert.ok(early.length >= 8 && late.length >= 8, `too few samples to judge (${early.length} early, ${late.length} late of ${samples.length})`)
    const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`
    const heapGrowth = Math.max(...late.map((s) => s.heapUsed)) - median(early.map((s) => s.heapUsed))
    const bufferGrowth = Math.max(...late.map((s) => s.arrayBuffers)) - median(early.map((s) => s.arrayBuffers))
    const summary = `heapUsed early median ${mb(median(early.map((s) => s.heapUsed)))}, late max ${mb(Math.max(...late.map((s) => s.heapUsed)))}; arrayBuffers early ${mb(median(early.map((s) => s.arrayBuffers)))}, late max ${mb(Math.max(...late.map((s) => s.arrayBuffers)))} (${samples.length} samples)`
    console.log(`steady heap: ${summary}`)
    assert.ok(heapGrowth <= HEAP_GROWTH_LIMIT_BYTES, `the heap grew ${mb(heapGrowth)} after GC over the transfer (limit ${mb(HEAP_GROWTH_LIMIT_BYTES)}): ${summary}`)
    assert.ok(bufferGrowth <= ARRAY_BUFFER_GROWTH_LIMIT_BYTES, `buffers grew ${mb(bufferGrowth)} after GC over the transfer (limit ${mb(ARRAY_BUFFER_GROWTH_LIMIT_BYTES)}): ${summary}`)

    // Judged apart from the client: every piece of the file as written, hashed here.
    await leecher.stop()
    leecher = undefined
    const file = await open(join(downloadDir, 'steady-heap.bin'), 'r')
    try {
      const buf = Buffer.allocUnsafe(PIECE_LENGTH)
      for (let i = 0; i < pieceCount; i++) {
        const { bytesRead } = await file.read(buf, 0, PIECE_LENGTH, i * PIECE_LENGTH)
        assert.equal(bytesRead, PIECE_LENGTH, `piece ${i} is short on disk`)
        assert.ok(buf.equals(pieceData(i, distinct)), `piece ${i} on disk differs from the seeder's`)
      }
    } finally {
      await file.close()
    }
  } finally {
    await leecher?.stop()
    await seeder?.stop()
    await dir.cleanup()
  }
})
