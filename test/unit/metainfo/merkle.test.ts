// BEP 52 merkle trees against vectors computed independently with Python's
// hashlib (merkle-vectors.py beside this file: leaves are SHA-256 of 16 KiB
// blocks, zero leaves pad to a power of two, pairs hashed upwards). The data
// is byte i = (7i + 3) mod 251.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BLOCK_SIZE, MerkleTree, blockHashes, padHash, pieceRoot, rootFromLayer, rootOf, splitHashes, verifyProof, nextPow2 } from '../../../src/metainfo/merkle.ts'

const data = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251))
const hex = (b: Buffer): string => b.toString('hex')
const PIECE = 2 * BLOCK_SIZE

const ROOTS: [length: number, root: string, layer32k?: string][] = [
  [100, '8ccfe0e9682941c3451db3606c96dfdde905896fd071c0bb2d58d01b8c6daf7d'],
  [40000, '7d9f01ba091cfb3a86ea7319b5315cc9ea62e74f64ecd4fb1d6d03a45fcc7c37',
    '6b7702ec93fd7bde4fccf7123b679a0703843fe9d838e7bc9ac4eee2c26e3923df9bcb7ffbb32033e3572afcf79d257b87c2bd5b3c25f366e1e790d3b768b939'],
  [5 * BLOCK_SIZE + 123, '6c9b9bbd5981b3d41dc842a5912deec4648e9a45dc54f62df2dd976089bf8e23',
    '6b7702ec93fd7bde4fccf7123b679a0703843fe9d838e7bc9ac4eee2c26e3923aa998194bca61ba064c9766803e08a07ae1db27d8dec9a3026c5fb683276a939bcbbbe417237be4ae04337f62b78f0c55a372f54f5d8cdb89ede8d8f04431b27'],
  [9 * BLOCK_SIZE, '27a6e6fd7c0f696489be5714ec674f9e78e0230ef43896de8dac56ba4cde35cc',
    '6b7702ec93fd7bde4fccf7123b679a0703843fe9d838e7bc9ac4eee2c26e3923aa998194bca61ba064c9766803e08a07ae1db27d8dec9a3026c5fb683276a9396f77e2f5925abe4641778276baea83c1725a7e63cd8801cf5f4db591b89a7a59e012093728db3e4d3e6f1ebe371e75a34fc4d246cbc35637577d07370e8aa7ca1351fff21d0c797f195552e330ac65077e3c5e85017690e9b93fc1aae3c72ffc'],
]

for (const [length, root, layer] of ROOTS) {
  test(`a ${length}-byte file: root, piece layer and piece hashes at 32 KiB pieces match hashlib`, () => {
    const d = data(length)
    const leaves = blockHashes(d)
    assert.equal(leaves.length, Math.ceil(length / BLOCK_SIZE))
    assert.equal(hex(rootOf(leaves, nextPow2(leaves.length))), root)
    assert.equal(hex(new MerkleTree(leaves).root), root)
    if (!layer) {
      // A file of one piece or less: its piece hash is its root.
      assert.equal(hex(pieceRoot(d, PIECE, length)), root)
      return
    }
    const pieces = splitHashes(Buffer.from(layer, 'hex'))
    pieces.forEach((expected, i) => assert.equal(hex(pieceRoot(d.subarray(i * PIECE, (i + 1) * PIECE), PIECE, length)), hex(expected), `piece ${i}`))
    assert.equal(hex(rootFromLayer(Buffer.from(layer, 'hex'), PIECE)), root, 'the layer hashes up to the root, padded with pad hashes')
  })
}

test('pad hashes: a subtree of 8 zero leaves', () => {
  assert.equal(hex(padHash(0)), '00'.repeat(32))
  assert.equal(hex(padHash(3)), 'c78009fdf07fc56a11f122370658a353aaa542ed63e44c4bc15ff4cd105ab33c')
})

test('a hash request answered with uncle hashes (libtorrent\'s get_hashes) verifies against the root', () => {
  const tree = new MerkleTree(blockHashes(data(9 * BLOCK_SIZE)))
  // Blocks 8..11 (block 8 and three pads), proof layers 3: two uncles, at layers 2 and 3.
  const answer = tree.hashes(0, 8, 4, 3)
  assert.equal(answer.length, 6)
  assert.equal(hex(answer[4]), 'db56114e00fdd4c1f85c892bf35ac9a89289aaecb1ebd0a96cde606a748b5d71')
  assert.equal(hex(answer[5]), '6438d7aae8054505148f701e51e3ff80712178eaf79200392d4b9c50c220eb0c')
  assert.deepEqual(answer.slice(1, 4).map(hex), ['00'.repeat(32), '00'.repeat(32), '00'.repeat(32)])
  const root = Buffer.from('27a6e6fd7c0f696489be5714ec674f9e78e0230ef43896de8dac56ba4cde35cc', 'hex')
  assert.equal(verifyProof(answer.slice(0, 4), 0, 8, answer.slice(4), root), true)
  const forged = answer.slice(0, 4)
  forged[0] = Buffer.alloc(32, 1)
  assert.equal(verifyProof(forged, 0, 8, answer.slice(4), root), false, 'a changed block hash fails')
  assert.equal(verifyProof(answer.slice(0, 3), 0, 8, answer.slice(4), root), false, 'a count that is no power of two fails')
})
