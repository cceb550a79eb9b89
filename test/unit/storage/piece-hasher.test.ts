import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PieceHasher } from '../../../src/storage/piece-hasher.ts'
import { patternBytes, sha1 } from '../metainfo/build-torrent.ts'

const BLOCK = 16 * 1024

function blocksOf(piece: Buffer, size = BLOCK): { begin: number; data: Buffer }[] {
  const out = []
  for (let begin = 0; begin < piece.length; begin += size) out.push({ begin, data: piece.subarray(begin, begin + size) })
  return out
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

test('blocks in order give the SHA-1 of the piece', () => {
  const piece = patternBytes(256 * 1024 + 100, 1)
  const hasher = new PieceHasher(piece.length)
  for (const b of blocksOf(piece)) {
    assert.equal(hasher.isComplete(), false)
    hasher.add(b.begin, b.data)
  }
  assert.equal(hasher.receivedBytes, piece.length)
  assert.equal(hasher.isComplete(), true)
  assert.deepEqual(hasher.digest(), sha1(piece))
})

test('shuffled blocks, with repeats, give the same digest', () => {
  const piece = patternBytes(1024 * 1024, 2)
  for (const seed of [1, 2, 3, 42, 99]) {
    const hasher = new PieceHasher(piece.length)
    const blocks = shuffle(blocksOf(piece), seed)
    blocks.splice(5, 0, blocks[2], blocks[9]) // endgame duplicates
    let previous = 0
    for (const b of blocks) {
      hasher.add(b.begin, b.data)
      assert.ok(hasher.receivedBytes >= previous)
      previous = hasher.receivedBytes
    }
    assert.equal(hasher.receivedBytes, piece.length)
    assert.deepEqual(hasher.digest(), sha1(piece))
  }
})

test('reports progress while a gap is open and refuses to digest early', () => {
  const piece = patternBytes(4 * BLOCK, 3)
  const hasher = new PieceHasher(piece.length)
  hasher.add(3 * BLOCK, piece.subarray(3 * BLOCK))
  hasher.add(BLOCK, piece.subarray(BLOCK, 2 * BLOCK))
  assert.equal(hasher.receivedBytes, 2 * BLOCK)
  assert.equal(hasher.isComplete(), false)
  assert.throws(() => hasher.digest(), /piece incomplete: 0 of 65536 bytes hashed/)
  hasher.add(0, piece.subarray(0, BLOCK))
  assert.equal(hasher.receivedBytes, 3 * BLOCK)
  assert.equal(hasher.isComplete(), false)
  hasher.add(2 * BLOCK, piece.subarray(2 * BLOCK, 3 * BLOCK))
  assert.deepEqual(hasher.digest(), sha1(piece))
})

test('odd-sized overlapping blocks are hashed once each byte', () => {
  const piece = patternBytes(10_000, 4)
  const hasher = new PieceHasher(piece.length)
  hasher.add(6000, piece.subarray(6000))
  hasher.add(2500, piece.subarray(2500, 7000)) // overlaps the held block
  hasher.add(0, piece.subarray(0, 3000)) // overlaps the next one
  assert.deepEqual(hasher.digest(), sha1(piece))
})

test('blocks outside the piece are refused', () => {
  const hasher = new PieceHasher(100)
  assert.throws(() => hasher.add(90, Buffer.alloc(11)), RangeError)
  assert.throws(() => hasher.add(-1, Buffer.alloc(1)), RangeError)
  assert.throws(() => new PieceHasher(0), RangeError)
})
