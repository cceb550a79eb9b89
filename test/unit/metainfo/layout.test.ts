import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { FileEntry } from '../../../src/metainfo/metainfo.ts'
import { spansFor } from '../../../src/metainfo/layout.ts'

function layout(lengths: number[]): FileEntry[] {
  let offset = 0
  return lengths.map((length, i) => {
    const file = { path: [`f${i}`], length, offset }
    offset += length
    return file
  })
}

test('a range inside one file gives one span', () => {
  const files = layout([100, 50])
  assert.deepEqual(spansFor(files, 10, 20), [{ fileIndex: 0, fileOffset: 10, length: 20, chunkOffset: 0 }])
  assert.deepEqual(spansFor(files, 100, 50), [{ fileIndex: 1, fileOffset: 0, length: 50, chunkOffset: 0 }])
})

test('a range across boundaries gives one span per file with buffer offsets', () => {
  const files = layout([10, 1, 30, 5])
  assert.deepEqual(spansFor(files, 5, 40), [
    { fileIndex: 0, fileOffset: 5, length: 5, chunkOffset: 0 },
    { fileIndex: 1, fileOffset: 0, length: 1, chunkOffset: 5 },
    { fileIndex: 2, fileOffset: 0, length: 30, chunkOffset: 6 },
    { fileIndex: 3, fileOffset: 0, length: 4, chunkOffset: 36 },
  ])
})

test('zero-length files never produce a span, wherever they sit', () => {
  const files = layout([0, 10, 0, 0, 10, 0])
  assert.deepEqual(spansFor(files, 0, 20), [
    { fileIndex: 1, fileOffset: 0, length: 10, chunkOffset: 0 },
    { fileIndex: 4, fileOffset: 0, length: 10, chunkOffset: 10 },
  ])
  assert.deepEqual(spansFor(files, 10, 5), [{ fileIndex: 4, fileOffset: 0, length: 5, chunkOffset: 0 }])
  assert.deepEqual(spansFor(files, 9, 1), [{ fileIndex: 1, fileOffset: 9, length: 1, chunkOffset: 0 }])
})

test('a block ending exactly at a file boundary stays in that file', () => {
  const files = layout([16384, 16384])
  assert.deepEqual(spansFor(files, 0, 16384), [{ fileIndex: 0, fileOffset: 0, length: 16384, chunkOffset: 0 }])
  assert.deepEqual(spansFor(files, 8192, 8192), [{ fileIndex: 0, fileOffset: 8192, length: 8192, chunkOffset: 0 }])
})

test('the last short piece maps to the tail of the last file', () => {
  const pieceLength = 32
  const files = layout([40, 30]) // 70 bytes: pieces of 32, 32, 6
  const lastIndex = 2
  assert.deepEqual(spansFor(files, lastIndex * pieceLength, 6), [{ fileIndex: 1, fileOffset: 24, length: 6, chunkOffset: 0 }])
  assert.deepEqual(spansFor(files, 1 * pieceLength, 32), [
    { fileIndex: 0, fileOffset: 32, length: 8, chunkOffset: 0 },
    { fileIndex: 1, fileOffset: 0, length: 24, chunkOffset: 8 },
  ])
})

test('an empty range is empty and ranges past the payload are refused', () => {
  const files = layout([10, 10])
  assert.deepEqual(spansFor(files, 20, 0), [])
  assert.throws(() => spansFor(files, 15, 6), RangeError)
  assert.throws(() => spansFor(files, -1, 2), RangeError)
})

test('spans cover every byte exactly once over many random layouts', () => {
  let seed = 7
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  for (let round = 0; round < 300; round++) {
    const files = layout(Array.from({ length: 1 + rand(8) }, () => (rand(3) === 0 ? 0 : rand(50))))
    const total = files.reduce((sum, f) => sum + f.length, 0)
    if (total === 0) continue
    const start = rand(total)
    const length = rand(total - start + 1)
    const spans = spansFor(files, start, length)
    let covered = 0
    for (const span of spans) {
      const file = files[span.fileIndex]
      assert.ok(span.length > 0)
      assert.equal(file.offset + span.fileOffset, start + span.chunkOffset)
      assert.ok(span.fileOffset + span.length <= file.length)
      assert.equal(span.chunkOffset, covered)
      covered += span.length
    }
    assert.equal(covered, length)
  }
})
