// Block-level books of one started piece: which blocks are received, who has
// each block outstanding, who sent data for it. Exists only while the piece is
// open, so memory follows the pieces in flight, not the torrent size (the
// picker reuses a closed one for the next piece of the same size).
// Bookkeeping only: the picker decides; this never looks at other pieces.

export class PieceProgress {
  index: number
  readonly length: number
  readonly blockSize: number
  readonly blockCount: number
  /** 1 when the block's data arrived (and the piece has not failed since). */
  readonly received: Uint8Array
  /** 1 once any peer was asked for the block: data for a never-asked block is refused. */
  readonly everRequested: Uint8Array
  readonly requestCount: Uint8Array
  /** `maxRequesters` slots per block, the first `requestCount[b]` in use. */
  readonly #requesters: (string | undefined)[]
  readonly #maxRequesters: number
  /** Peers that sent accepted data for this piece, to strike if the hash fails. */
  readonly contributors = new Set<string>()
  receivedCount = 0
  /** Blocks neither received nor outstanding anywhere. */
  freeCount: number
  /** No free block has a lower number: where the in-order scan resumes. */
  firstFree = 0
  /** Outstanding requests over all blocks and peers. */
  outstanding = 0

  constructor(index: number, length: number, blockSize: number, maxRequesters: number) {
    this.index = index
    this.length = length
    this.blockSize = blockSize
    this.blockCount = Math.ceil(length / blockSize)
    this.received = new Uint8Array(this.blockCount)
    this.everRequested = new Uint8Array(this.blockCount)
    this.requestCount = new Uint8Array(this.blockCount)
    this.#requesters = new Array<string | undefined>(this.blockCount * maxRequesters).fill(undefined)
    this.#maxRequesters = maxRequesters
    this.freeCount = this.blockCount
  }

  blockLength(block: number): number {
    return Math.min(this.blockSize, this.length - block * this.blockSize)
  }

  isFree(block: number): boolean {
    return this.received[block] === 0 && this.requestCount[block] === 0
  }

  requesterAt(block: number, slot: number): string {
    return this.#requesters[block * this.#maxRequesters + slot]!
  }

  isRequestedBy(block: number, peer: string): boolean {
    const base = block * this.#maxRequesters
    const n = this.requestCount[block]
    for (let k = 0; k < n; k++) if (this.#requesters[base + k] === peer) return true
    return false
  }

  /** The caller checks the cap and that `peer` is not already a requester. */
  addRequester(block: number, peer: string): void {
    const n = this.requestCount[block]
    if (n === 0 && this.received[block] === 0) this.freeCount--
    this.#requesters[block * this.#maxRequesters + n] = peer
    this.requestCount[block] = n + 1
    this.everRequested[block] = 1
    this.outstanding++
  }

  /** False when `peer` had no request for the block. */
  removeRequester(block: number, peer: string): boolean {
    const base = block * this.#maxRequesters
    const n = this.requestCount[block]
    for (let k = 0; k < n; k++) {
      if (this.#requesters[base + k] !== peer) continue
      this.#requesters[base + k] = this.#requesters[base + n - 1]
      this.#requesters[base + n - 1] = undefined
      this.requestCount[block] = n - 1
      this.outstanding--
      if (n === 1 && this.received[block] === 0) {
        this.freeCount++
        if (block < this.firstFree) this.firstFree = block
      }
      return true
    }
    return false
  }

  /** Marks data in; the caller then clears the block's requesters. */
  markReceived(block: number, peer: string): void {
    if (this.requestCount[block] === 0) this.freeCount--
    this.received[block] = 1
    this.receivedCount++
    this.contributors.add(peer)
  }

  /** One received block found bad on its own: missing again (its sender stays a contributor). */
  unmarkReceived(block: number): void {
    if (this.received[block] === 0) return
    this.received[block] = 0
    this.receivedCount--
    if (this.requestCount[block] === 0) {
      this.freeCount++
      if (block < this.firstFree) this.firstFree = block
    }
  }

  /** The books of piece `index` (of the same length), nothing received or asked: the caller made sure no request is left. */
  reuse(index: number): void {
    this.index = index
    this.received.fill(0)
    this.everRequested.fill(0)
    this.requestCount.fill(0)
    this.#requesters.fill(undefined)
    this.contributors.clear()
    this.receivedCount = 0
    this.freeCount = this.blockCount
    this.firstFree = 0
    this.outstanding = 0
  }

  /** Hash failed: every block is missing again; outstanding requests stay. */
  reset(): void {
    this.received.fill(0)
    this.receivedCount = 0
    this.contributors.clear()
    let free = 0
    for (let b = 0; b < this.blockCount; b++) if (this.requestCount[b] === 0) free++
    this.freeCount = free
    this.firstFree = 0
  }
}
