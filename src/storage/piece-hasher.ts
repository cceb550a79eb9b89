// Incremental SHA-1 of one piece whose blocks may arrive in any order.
// Contiguous bytes are hashed as they come; a block past a gap is held (by
// reference, not copied) only until the gap fills. Never hashes a byte twice.

import { createHash, type Hash } from 'node:crypto'

export class PieceHasher {
  readonly #pieceLength: number
  readonly #hash: Hash = createHash('sha1')
  /** Bytes [0, hashed) have been fed to the hash. */
  #hashed = 0
  /** Blocks past the first gap, keyed by their offset. */
  readonly #held = new Map<number, Buffer>()
  #heldBytes = 0

  constructor(pieceLength: number) {
    if (!Number.isInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`piece length ${pieceLength} must be a positive whole number`)
    this.#pieceLength = pieceLength
  }

  /** Adds the block at `begin`. The caller must not change `data` afterwards. Repeated blocks are ignored. */
  add(begin: number, data: Buffer): void {
    if (!Number.isInteger(begin) || begin < 0 || begin + data.length > this.#pieceLength) {
      throw new RangeError(`block ${begin}+${data.length} is outside the piece of ${this.#pieceLength} bytes`)
    }
    if (data.length === 0) return
    if (begin > this.#hashed) {
      if (!this.#held.has(begin)) {
        this.#held.set(begin, data)
        this.#heldBytes += data.length
      }
      return
    }
    this.#feed(begin, data)
    this.#drain()
  }

  /** Distinct bytes received so far (hashed plus held). */
  get receivedBytes(): number {
    return this.#hashed + this.#heldBytes
  }

  isComplete(): boolean {
    return this.#hashed === this.#pieceLength
  }

  /** The piece's SHA-1; only once every byte has arrived, and only once. */
  digest(): Buffer {
    if (!this.isComplete()) throw new Error(`piece incomplete: ${this.#hashed} of ${this.#pieceLength} bytes hashed`)
    return this.#hash.digest()
  }

  /** Hashes the part of a block at or before the frontier that is new. */
  #feed(begin: number, data: Buffer): void {
    const end = begin + data.length
    if (end <= this.#hashed) return
    this.#hash.update(begin === this.#hashed ? data : data.subarray(this.#hashed - begin))
    this.#hashed = end
  }

  #drain(): void {
    while (this.#held.size > 0) {
      let next = this.#held.get(this.#hashed)
      let at = this.#hashed
      if (next === undefined) {
        // Blocks not aligned to the frontier (odd sizes) may still overlap it.
        for (const [begin, data] of this.#held) {
          if (begin < this.#hashed) {
            next = data
            at = begin
            break
          }
        }
        if (next === undefined) return
      }
      this.#held.delete(at)
      this.#heldBytes -= next.length
      this.#feed(at, next)
    }
  }
}
