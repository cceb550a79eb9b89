import { test } from 'node:test'
import assert from 'node:assert/strict'
import { piecePriorities, type FilePriority } from '../../../src/storage/file-priorities.ts'
import { patternBytes } from '../metainfo/build-torrent.ts'
import { metaFor, paddedMeta } from './meta-for.ts'

const KiB = 1024

/** a: piece 0; b: pieces 0..3 (straddles both edges); c: piece 3. */
const threeFiles = () => [
  { path: ['a'], data: patternBytes(10_000, 1) },
  { path: ['b'], data: patternBytes(40_000, 2) },
  { path: ['c'], data: patternBytes(9_000, 3) },
]

test('a skipped middle file leaves only the pieces wholly inside it at 0', async () => {
  const { meta } = await metaFor('three', 16 * KiB, threeFiles())
  assert.equal(meta.pieceCount, 4)
  assert.deepEqual([...piecePriorities(meta, ['normal', 'skip', 'normal'])], [2, 0, 0, 2])
  assert.deepEqual([...piecePriorities(meta, ['skip', 'low', 'skip'])], [1, 1, 1, 1])
  assert.deepEqual([...piecePriorities(meta, ['skip', 'skip', 'high'])], [0, 0, 0, 3])
})

test('the highest priority among the files a piece touches wins', async () => {
  const { meta } = await metaFor('three', 16 * KiB, threeFiles())
  assert.deepEqual([...piecePriorities(meta, ['low', 'high', 'normal'])], [3, 3, 3, 3])
  assert.deepEqual([...piecePriorities(meta, ['high', 'skip', 'low'])], [3, 0, 0, 1])
  assert.deepEqual([...piecePriorities(meta, ['high', 'low', 'normal'])], [3, 1, 1, 2])
})

test('all files skipped gives all zeros', async () => {
  const { meta } = await metaFor('three', 16 * KiB, threeFiles())
  const priorities = piecePriorities(meta, ['skip', 'skip', 'skip'])
  assert.equal(priorities.length, 4)
  assert.ok(priorities.every((p) => p === 0))
})

test('zero-length files do not make a piece wanted', async () => {
  const { meta } = await metaFor('empties', 16 * KiB, [
    { path: ['x'], data: patternBytes(16 * KiB, 4) },
    { path: ['between'], data: Buffer.alloc(0) },
    { path: ['y'], data: patternBytes(16 * KiB, 5) },
    { path: ['at-end'], data: Buffer.alloc(0) },
  ])
  assert.deepEqual([...piecePriorities(meta, ['skip', 'high', 'skip', 'high'])], [0, 0])
  assert.deepEqual([...piecePriorities(meta, ['skip', 'high', 'low', 'high'])], [0, 1])
})

test('BEP 47 pad files do not make a piece wanted', async () => {
  const { meta } = await paddedMeta()
  assert.deepEqual([...piecePriorities(meta, ['skip', 'high', 'normal'])], [0, 2])
  assert.deepEqual([...piecePriorities(meta, ['low', 'high', 'skip'])], [1, 0])
})

test('a wrong count or an unknown priority is refused', async () => {
  const { meta } = await metaFor('three', 16 * KiB, threeFiles())
  assert.throws(() => piecePriorities(meta, ['normal', 'normal']), /one priority per file \(3\), got 2/)
  assert.throws(() => piecePriorities(meta, ['normal', 'urgent' as FilePriority, 'normal']), /file 1 priority must be skip, low, normal or high, got urgent/)
  assert.throws(() => piecePriorities(meta, ['normal', 'toString' as FilePriority, 'normal']), RangeError)
})
