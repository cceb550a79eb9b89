// BEP 52 merkle trees: SHA-256 over 16 KiB blocks, padded to a power of two
// with zero leaves, and the proofs (uncle hashes) of the hash request / hashes
// messages. Pure: buffers in, buffers out; never reads a file or a socket.
//
// The tree of a file has nextPow2(blocks) leaves; a leaf past the end of the
// file is 32 zero bytes (not the hash of a zero block), so an interior node
// over only padding is the hash of such zeros, one level at a time (padHash).
// A piece's hash in the piece layer is the root of its blocksPerPiece-leaf
// subtree; a file no longer than one piece has no piece layer, only its root.
// Layers are numbered from the leaves: layer 0 is the block hashes.

import { createHash } from 'node:crypto'

export const BLOCK_SIZE = 16384
export const HASH_SIZE = 32
const ZERO = Buffer.alloc(HASH_SIZE)

const padCache: Buffer[] = [ZERO]

/** The hash of a subtree of 2^layer zero leaves. */
export function padHash(layer: number): Buffer {
  while (padCache.length <= layer) {
    const below = padCache[padCache.length - 1]
    padCache.push(hashPair(below, below))
  }
  return padCache[layer]
}

export function hashPair(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(left).update(right).digest()
}

export function nextPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

export function log2(n: number): number {
  return Math.round(Math.log2(n))
}

/** The SHA-256 of each 16 KiB block of `data` (the last one may be short). */
export function blockHashes(data: Uint8Array): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at < data.length; at += BLOCK_SIZE) {
    out.push(createHash('sha256').update(data.subarray(at, Math.min(data.length, at + BLOCK_SIZE))).digest())
  }
  return out
}

/**
 * The root over `hashes` placed at layer `layer`, padded with that layer's pad
 * hashes to `width` (a power of two, at least hashes.length).
 */
export function rootOf(hashes: Buffer[], width: number, layer = 0): Buffer {
  if (width < hashes.length || (width & (width - 1)) !== 0) throw new RangeError(`width ${width} does not hold ${hashes.length} hashes`)
  let level = hashes
  let size = width
  let at = layer
  while (size > 1) {
    const pad = padHash(at)
    const next: Buffer[] = []
    for (let i = 0; i < size; i += 2) {
      if (i >= level.length) break
      next.push(hashPair(level[i], i + 1 < level.length ? level[i + 1] : pad))
    }
    level = next
    size /= 2
    at++
  }
  return level.length > 0 ? level[0] : padHash(at)
}

/**
 * The hash a piece of a file must have: the root of its blocks' subtree. For a
 * file longer than one piece the subtree has blocksPerPiece leaves (its piece
 * layer entry); for a file of one piece or less it is the whole file's tree.
 */
export function pieceRoot(data: Uint8Array, pieceLength: number, fileLength: number): Buffer {
  const leaves = blockHashes(data)
  const width = fileLength > pieceLength ? pieceLength / BLOCK_SIZE : nextPow2(leaves.length)
  return rootOf(leaves, width)
}

/** A file's pieces root from its piece layer (concatenated 32-byte hashes). */
export function rootFromLayer(layer: Uint8Array, pieceLength: number): Buffer {
  const hashes = splitHashes(layer)
  return rootOf(hashes, nextPow2(hashes.length), log2(pieceLength / BLOCK_SIZE))
}

export function splitHashes(data: Uint8Array): Buffer[] {
  const out: Buffer[] = []
  for (let at = 0; at + HASH_SIZE <= data.length; at += HASH_SIZE) out.push(Buffer.from(data.subarray(at, at + HASH_SIZE)))
  return out
}

/**
 * One file's tree from a layer of it up, for serving hashes: from its leaves
 * (block hashes, `bottom` 0) or from its piece layer (`bottom` log2(blocks per
 * piece)). Layer numbers stay absolute (0 = blocks); missing nodes are padding.
 */
export class MerkleTree {
  readonly #layers: Buffer[][]
  readonly #bottom: number
  /** Nodes of the bottom layer, rounded up to a power of two. */
  readonly width: number

  constructor(leaves: Buffer[], bottom = 0) {
    this.width = nextPow2(Math.max(1, leaves.length))
    this.#bottom = bottom
    this.#layers = [leaves]
    let level = leaves
    for (let at = bottom, size = this.width; size > 1; at++, size /= 2) {
      const pad = padHash(at)
      const next: Buffer[] = []
      for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i], i + 1 < level.length ? level[i + 1] : pad))
      this.#layers.push(next)
      level = next
    }
  }

  get root(): Buffer {
    return this.node(this.topLayer, 0)
  }

  /** The root's layer. */
  get topLayer(): number {
    return this.#bottom + this.#layers.length - 1
  }

  node(layer: number, index: number): Buffer {
    const nodes = this.#layers[layer - this.#bottom]
    if (!nodes) throw new RangeError(`layer ${layer} is outside ${this.#bottom}..${this.topLayer}`)
    return index < nodes.length ? nodes[index] : padHash(layer)
  }

  /**
   * The answer to a hash request (libtorrent's merkle_tree::get_hashes): the
   * `length` hashes of layer `base` from `index`, then the uncle hashes from the
   * requested subtree's root upwards, `proofLayers` counted from the base layer.
   */
  hashes(base: number, index: number, length: number, proofLayers: number): Buffer[] {
    const out: Buffer[] = []
    for (let i = index; i < index + length; i++) out.push(this.node(base, i))
    const computable = log2(length) - 1
    let layer = base
    let at = index
    for (let i = 0; i < proofLayers; i++) {
      layer++
      at >>= 1
      if (i >= computable) out.push(this.node(layer, at ^ 1))
    }
    return out
  }
}

/**
 * Checks a hashes message against a known ancestor: `hashes` at layer `base`
 * from `index` (a multiple of their count, a power of two), then `uncles` from
 * the subtree's root upwards; the result must equal `expected`, the node
 * uncles.length layers above the subtree's root (the file's root when the
 * proof reaches it). Returns false on any mismatch.
 */
export function verifyProof(hashes: Buffer[], base: number, index: number, uncles: Buffer[], expected: Buffer): boolean {
  const count = hashes.length
  if (count === 0 || (count & (count - 1)) !== 0 || index % count !== 0) return false
  let node = rootOf(hashes, count, base)
  let at = index / count
  for (const uncle of uncles) {
    node = at % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node)
    at = Math.floor(at / 2)
  }
  return node.equals(expected)
}
