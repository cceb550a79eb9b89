import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStorage } from './memory-storage.ts'
import { patternBytes } from '../unit/metainfo/build-torrent.ts'
import { metaFor } from '../unit/storage/meta-for.ts'

test('round trip, copies out, and mayHavePiece follows writes', async () => {
  const { meta, payload } = await metaFor('m.bin', 16 * 1024, patternBytes(40 * 1024))
  const storage = new MemoryStorage(meta)
  assert.equal(await storage.mayHavePiece(1), false)
  await storage.write(1, 0, payload.subarray(16 * 1024, 32 * 1024))
  assert.equal(await storage.mayHavePiece(1), true)
  assert.equal(await storage.mayHavePiece(0), false)
  const read = await storage.read(1, 0, 16 * 1024)
  assert.deepEqual(read, payload.subarray(16 * 1024, 32 * 1024))
  read.fill(0)
  assert.deepEqual(await storage.read(1, 0, 4), payload.subarray(16 * 1024, 16 * 1024 + 4), 'reads are copies')
  await assert.rejects(storage.write(2, 0, Buffer.alloc(8 * 1024 + 1)), RangeError)
  await storage.close()
  await assert.rejects(storage.read(0, 0, 1), /storage is closed/)

  const seeded = new MemoryStorage(meta, payload)
  assert.deepEqual(await seeded.read(0, 0, meta.length), payload)
  assert.equal(await seeded.mayHavePiece(2), true)
  assert.throws(() => new MemoryStorage(meta, Buffer.alloc(3)), RangeError)
})
