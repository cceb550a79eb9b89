// Picks the next blocks to request from a peer and keeps the books on what is
// requested, received and verified. Pure: peers are opaque string ids; it never
// touches a socket, a timer or the disk.
//
// A pick weighs, in this order:
//   1. the piece: the peer has it, we lack it, its priority is > 0; higher priority first;
//   2. pieces already started: the peer's own partial pieces, then any other
//      started piece with unrequested blocks, before opening a new one;
//   3. a new piece: uniformly random until `randomFirstPieces` are verified, then
//      rarest first (fewest peers have it), ties broken at random;
//   4. inside a piece: blocks in ascending order;
//   5. never a block this peer already has outstanding; outside endgame never a
//      block any peer has outstanding;
//   6. endgame (every missing wanted block is outstanding somewhere): duplicates,
//      fewest requesters first, at most `maxDuplicateRequests` per block;
//   7. a piece whose hash failed is missing again and can be picked again;
//   8. a range source (a web seed, pickRun) gets one piece by rules 1-5, then
//      the unstarted wanted pieces right after it, and no endgame duplicates.
// Re-check all of these when you change any rule.
//
// Who has what, and the unstarted pieces by priority and rarity, are kept in
// availability.ts; the request books and the choosing are here.
//
// Cost, with N pieces, P peers that are not seeds, L priority levels in use:
// - Wanted pieces nobody started sit in RarityBuckets (one per priority) keyed by
//   availability among non-seed peers; seeds are a shared offset, so a seed
//   arriving or leaving costs O(1). Every non-seed peer keeps per-bucket counts of
//   the unstarted pieces it has, so the picker knows which bucket holds one for
//   it without scanning.
// - pickBlocks: O(own partial pieces + started pieces with free blocks) to continue
//   a piece, O(1) amortised per block in it (a cursor per piece); a new piece costs
//   O(L·P) to find the bucket plus a draw in it: O(1) for a seed, expected
//   O(bucket / owned) for a partial peer (16 random probes, then a scan from a
//   random slot; a peer owning few pieces of a big bucket pays more, but only for
//   those few picks). Endgame picks scan the blocks of started pieces only.
// - handleHave of an unstarted piece, markVerified, setPriority: O(P).
//   Bitfield, removePeer of a partial peer: O(N/8 + pieces it has · P).
// - releasePeerRequests (and removePeer): O(blocks of the pieces it has requests in).
// - isInteresting, outstanding, missingCount, isComplete, inEndgame: O(1).
// - Memory: a few typed arrays of N entries, a bitfield per partial peer, and
//   block-level state only for started pieces.

import { Bitfield } from '../core/bitfield.ts'
import { BLOCK_SIZE, type BlockRef } from '../core/types.ts'
import { Availability } from './availability.ts'
import type { PeerState } from './availability.ts'
import { PieceProgress } from './piece-progress.ts'

export interface PiecePickerOptions {
  pieceCount: number
  pieceLength: number
  /** The last piece may be short. */
  totalLength: number
  /** Default BLOCK_SIZE; the last block of a piece may be short. */
  blockSize?: number
  /** Until this many pieces are verified, new pieces are chosen uniformly at random. Default 4. */
  randomFirstPieces?: number
  /** Endgame: how many peers may have the same block outstanding at once. Default 3. */
  maxDuplicateRequests?: number
  /** Uniform in [0, 1); default Math.random. */
  rng?: () => number
  /** Pieces already verified (resume). Copied. */
  have?: Bitfield
}

export interface BlockResult {
  /** False: never requested from anyone, already received, or not a block of a started piece. */
  accepted: boolean
  /** Other peers that had this block outstanding; their requests are cleared, send them `cancel`. */
  alsoRequestedBy: string[]
  /** Every block of the piece is now received: hash it. */
  pieceComplete: boolean
}

const MAX_PRIORITY = 0x7fffffff
/** Closed piece books kept for reuse: about the pieces a fast download has open at once. */
const MAX_SPARE_PIECES = 32

function rejected(): BlockResult {
  return { accepted: false, alsoRequestedBy: [], pieceComplete: false }
}

export class PiecePicker {
  /** Verified pieces, kept current here: read it, change it only through markVerified. */
  readonly have: Bitfield
  readonly #pieceCount: number
  readonly #pieceLength: number
  readonly #totalLength: number
  readonly #blockSize: number
  readonly #maxDuplicates: number

  /** Who has which piece; the unstarted wanted pieces by priority and rarity. */
  readonly #avail: Availability

  readonly #open = new Map<number, PieceProgress>()
  /** Started, wanted, still has free blocks; iteration order = oldest first. */
  readonly #openWithFree = new Set<PieceProgress>()
  /** Closed books of full-length pieces, kept for the next pieces opened: a piece lives long enough to be promoted, and each new one was old-generation garbage (issue 15). */
  readonly #spare: PieceProgress[] = []

  readonly #peers = new Map<string, PeerState>()

  constructor(opts: PiecePickerOptions) {
    const { pieceCount, pieceLength, totalLength } = opts
    const blockSize = opts.blockSize ?? BLOCK_SIZE
    if (!Number.isInteger(pieceCount) || pieceCount < 0) throw new RangeError(`pieceCount must be a whole number, got ${pieceCount}`)
    if (!Number.isInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`pieceLength must be a positive whole number, got ${pieceLength}`)
    if (!Number.isInteger(blockSize) || blockSize <= 0) throw new RangeError(`blockSize must be a positive whole number, got ${blockSize}`)
    const fits = pieceCount === 0
      ? totalLength === 0
      : Number.isInteger(totalLength) && totalLength > (pieceCount - 1) * pieceLength && totalLength <= pieceCount * pieceLength
    if (!fits) throw new RangeError(`totalLength ${totalLength} does not fit ${pieceCount} pieces of ${pieceLength} bytes (only the last may be short)`)
    const randomFirstPieces = opts.randomFirstPieces ?? 4
    if (!Number.isInteger(randomFirstPieces) || randomFirstPieces < 0) throw new RangeError(`randomFirstPieces must be a whole number, got ${randomFirstPieces}`)
    const maxDuplicates = opts.maxDuplicateRequests ?? 3
    if (!Number.isInteger(maxDuplicates) || maxDuplicates < 1 || maxDuplicates > 255) throw new RangeError(`maxDuplicateRequests must be 1-255, got ${maxDuplicates}`)
    if (opts.have && opts.have.length !== pieceCount) throw new RangeError(`have bitfield has ${opts.have.length} pieces, the torrent has ${pieceCount}`)

    this.#pieceCount = pieceCount
    this.#pieceLength = pieceLength
    this.#totalLength = totalLength
    this.#blockSize = blockSize
    this.#maxDuplicates = maxDuplicates
    this.have = opts.have ? opts.have.clone() : new Bitfield(pieceCount)
    this.#avail = new Availability(pieceCount, this.have, randomFirstPieces, opts.rng ?? Math.random)
  }

  // ---- peers and availability ----

  addPeer(peer: string, bitfield?: Bitfield): void {
    if (this.#peers.has(peer)) {
      if (bitfield) this.setPeerBitfield(peer, bitfield)
      return
    }
    if (bitfield && bitfield.length !== this.#pieceCount) throw new RangeError(`peer ${peer} sent a bitfield of ${bitfield.length} pieces, the torrent has ${this.#pieceCount}`)
    const state: PeerState = { id: peer, seed: false, bits: null, wanted: 0, fresh: [], requestCount: 0, pieces: new Map() }
    this.#peers.set(peer, state)
    if (bitfield) this.#avail.applyBitfield(state, bitfield)
    else this.#avail.becomePartial(state)
  }

  /** Replaces what we knew of the peer's pieces; adds the peer if unknown. */
  setPeerBitfield(peer: string, bitfield: Bitfield): void {
    if (bitfield.length !== this.#pieceCount) throw new RangeError(`peer ${peer} sent a bitfield of ${bitfield.length} pieces, the torrent has ${this.#pieceCount}`)
    const state = this.#peers.get(peer)
    if (!state) return this.addPeer(peer, bitfield)
    this.#avail.forgetPieces(state)
    this.#avail.applyBitfield(state, bitfield)
  }

  handleHave(peer: string, index: number): void {
    const state = this.#peers.get(peer)
    if (!state || state.seed || !this.#inRange(index)) return
    if (state.bits!.get(index)) return
    this.#avail.gain(state, index)
    if (state.bits!.hasAll()) this.#avail.becomeSeed(state)
  }

  handleHaveAll(peer: string): void {
    const state = this.#peers.get(peer)
    if (!state || state.seed) return
    this.#avail.becomeSeed(state)
  }

  removePeer(peer: string): void {
    const state = this.#peers.get(peer)
    if (!state) return
    this.releasePeerRequests(peer)
    this.#avail.forgetPieces(state)
    this.#peers.delete(peer)
  }

  isInteresting(peer: string): boolean {
    const state = this.#peers.get(peer)
    return state !== undefined && this.#avail.interesting(state)
  }

  availability(index: number): number {
    return this.#inRange(index) ? this.#avail.seedCount + this.#avail.partialAvailability[index] : 0
  }

  // ---- picking ----

  /**
   * Up to `max` new requests for `peer`. With `allowNewPieces` false only
   * started pieces are continued (the caller is short of memory for more).
   */
  pickBlocks(peer: string, max: number, allowNewPieces = true): BlockRef[] {
    const out: BlockRef[] = []
    const state = this.#peers.get(peer)
    if (!state || !(max > 0) || !this.#avail.interesting(state)) return out
    while (out.length < max) {
      const progress = this.#choosePiece(state, allowNewPieces)
      if (!progress) break
      this.#takeFree(progress, state, max, out)
    }
    if (out.length < max && this.inEndgame()) this.#takeDuplicates(state, max, out)
    return out
  }

  /**
   * Up to `max` new requests for a peer that serves byte ranges (a web seed,
   * BEP 19): one piece as pickBlocks would choose it (rules 1-3), then the
   * pieces right after it while they are unstarted, wanted and the peer has
   * them, so the blocks form as few contiguous ranges as possible. No endgame
   * duplicates: a range source would fetch each one as a request of its own.
   */
  pickRun(peer: string, max: number, allowNewPieces = true): BlockRef[] {
    const out: BlockRef[] = []
    const state = this.#peers.get(peer)
    if (!state || !(max > 0) || !this.#avail.interesting(state)) return out
    let progress = this.#choosePiece(state, allowNewPieces)
    while (progress) {
      this.#takeFree(progress, state, max, out)
      const next = progress.index + 1
      if (out.length >= max || !allowNewPieces || next >= this.#pieceCount || this.#avail.slotOf[next] < 0 || !this.#peerHas(state, next)) break
      progress = this.#openPiece(next)
    }
    return out
  }

  /** The indexes of pieces started (requested or partly received) and not yet verified. */
  openPieces(): IterableIterator<number> {
    return this.#open.keys()
  }

  /** Pieces started (requested or partly received) and not yet verified. */
  openPieceCount(): number {
    return this.#open.size
  }

  handleBlock(peer: string, block: BlockRef): BlockResult {
    const progress = this.#progressOf(block)
    if (!progress) return rejected()
    const b = block.begin / this.#blockSize
    if (progress.received[b] === 1 || progress.everRequested[b] === 0) return rejected()
    const freeBefore = progress.freeCount
    progress.markReceived(b, peer)
    if (freeBefore > 0 && progress.freeCount === 0) this.#openWithFree.delete(progress)
    const alsoRequestedBy: string[] = []
    while (progress.requestCount[b] > 0) {
      const requester = progress.requesterAt(b, 0)
      this.#dropRequest(progress, b, requester)
      if (requester !== peer) alsoRequestedBy.push(requester)
    }
    return { accepted: true, alsoRequestedBy, pieceComplete: progress.receivedCount === progress.blockCount }
  }

  releaseRequest(peer: string, block: BlockRef): void {
    const progress = this.#progressOf(block)
    if (!progress) return
    if (this.#dropRequest(progress, block.begin / this.#blockSize, peer)) this.#closeIfIdle(progress)
  }

  releasePeerRequests(peer: string): BlockRef[] {
    const state = this.#peers.get(peer)
    if (!state || state.requestCount === 0) return []
    const released: BlockRef[] = []
    for (const index of [...state.pieces.keys()]) {
      const progress = this.#open.get(index)!
      for (let b = 0; b < progress.blockCount; b++) {
        if (!progress.isRequestedBy(b, peer)) continue
        released.push({ index, begin: b * this.#blockSize, length: progress.blockLength(b) })
        this.#dropRequest(progress, b, peer)
      }
      this.#closeIfIdle(progress)
    }
    return released
  }

  outstanding(peer: string): number {
    return this.#peers.get(peer)?.requestCount ?? 0
  }

  // ---- verification and priorities ----

  markVerified(index: number): void {
    if (!this.#inRange(index) || this.have.get(index)) return
    const wasWanted = this.#avail.priority[index] > 0
    if (this.#avail.slotOf[index] >= 0) this.#avail.removeFresh(index)
    this.have.set(index)
    const progress = this.#open.get(index)
    if (progress) {
      // Requests are still out only if the piece was verified without all its blocks
      // coming through us (recheck, another source); data for them is refused from now on.
      for (let b = 0; b < progress.blockCount; b++) {
        while (progress.requestCount[b] > 0) this.#dropRequest(progress, b, progress.requesterAt(b, 0))
      }
      this.#open.delete(index)
      this.#openWithFree.delete(progress)
      this.#keepSpare(progress)
    }
    if (wasWanted) this.#avail.countWanted(index, -1)
  }

  markFailed(index: number): string[] {
    if (!this.#inRange(index) || this.have.get(index)) return []
    const progress = this.#open.get(index)
    if (!progress) return []
    const contributors = [...progress.contributors]
    progress.reset()
    if (progress.freeCount > 0 && this.#avail.priority[index] > 0) this.#openWithFree.add(progress)
    this.#closeIfIdle(progress)
    return contributors
  }

  /** A received block of an unfinished piece found bad on its own (BEP 52 block hash): free for any peer again. */
  discardBlock(block: BlockRef): void {
    const progress = this.#progressOf(block)
    if (!progress || this.have.get(block.index)) return
    progress.unmarkReceived(block.begin / this.#blockSize)
    if (progress.freeCount > 0 && this.#avail.priority[block.index] > 0) this.#openWithFree.add(progress)
  }

  /** 0 = do not want, 1 normal, higher first. Requests already out for the piece stay out; release them to stop them. */
  setPriority(index: number, priority: number): void {
    if (!this.#inRange(index)) throw new RangeError(`piece ${index} out of range 0..${this.#pieceCount - 1}`)
    if (!Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY) throw new RangeError(`priority must be a whole number 0..${MAX_PRIORITY}, got ${priority}`)
    const old = this.#avail.priority[index]
    if (old === priority) return
    if (this.have.get(index)) {
      this.#avail.priority[index] = priority
      return
    }
    if (this.#avail.slotOf[index] >= 0) this.#avail.removeFresh(index)
    if (old > 0) this.#avail.countWanted(index, -1)
    this.#avail.priority[index] = priority
    if (priority > 0) this.#avail.countWanted(index, 1)
    const progress = this.#open.get(index)
    if (progress) {
      if (priority > 0 && progress.freeCount > 0) this.#openWithFree.add(progress)
      else this.#openWithFree.delete(progress)
    } else if (priority > 0) {
      this.#avail.addFresh(index)
    }
  }

  // ---- state ----

  isComplete(): boolean {
    return this.#avail.missingWanted === 0
  }

  inEndgame(): boolean {
    return this.#avail.missingWanted > 0 && this.#avail.freshCount === 0 && this.#openWithFree.size === 0
  }

  missingCount(): number {
    return this.#avail.missingWanted
  }

  /** Bytes in piece `index` (the last piece may be short). */
  pieceSize(index: number): number {
    if (!this.#inRange(index)) throw new RangeError(`piece ${index} out of range 0..${this.#pieceCount - 1}`)
    return index === this.#pieceCount - 1 ? this.#totalLength - index * this.#pieceLength : this.#pieceLength
  }

  priority(index: number): number {
    return this.#inRange(index) ? this.#avail.priority[index] : 0
  }

  // ---- internals: choosing ----

  #peerHas(state: PeerState, index: number): boolean {
    return state.seed || state.bits!.get(index)
  }

  /** A started piece with free blocks, or a newly opened one; undefined when the peer has nothing left to give. */
  #choosePiece(state: PeerState, allowNewPieces: boolean): PieceProgress | undefined {
    let best: PieceProgress | undefined
    let bestPriority = 0
    const top = this.#avail.topPriority
    for (const index of state.pieces.keys()) {
      const progress = this.#open.get(index)!
      const priority = this.#avail.priority[index]
      if (progress.freeCount > 0 && priority > bestPriority) {
        best = progress
        bestPriority = priority
        if (priority >= top) return best
      }
    }
    for (const progress of this.#openWithFree) {
      const priority = this.#avail.priority[progress.index]
      if (priority > bestPriority && this.#peerHas(state, progress.index)) {
        best = progress
        bestPriority = priority
        if (priority >= top) return best
      }
    }
    // Strictly higher: at equal priority a started piece wins over a new one.
    if (!allowNewPieces) return best
    for (const level of this.#avail.levels) {
      if (level.priority <= bestPriority) break
      const index = this.#avail.drawFresh(state, level)
      if (index >= 0) return this.#openPiece(index)
    }
    return best
  }

  #openPiece(index: number): PieceProgress {
    this.#avail.removeFresh(index)
    const length = this.pieceSize(index)
    const spare = length === this.#pieceLength ? this.#spare.pop() : undefined
    spare?.reuse(index)
    const progress = spare ?? new PieceProgress(index, length, this.#blockSize, this.#maxDuplicates)
    this.#open.set(index, progress)
    this.#openWithFree.add(progress)
    return progress
  }

  #takeFree(progress: PieceProgress, state: PeerState, max: number, out: BlockRef[]): void {
    let b = progress.firstFree
    for (; b < progress.blockCount && out.length < max; b++) {
      if (!progress.isFree(b)) continue
      this.#addRequest(progress, b, state)
      out.push({ index: progress.index, begin: b * this.#blockSize, length: progress.blockLength(b) })
    }
    progress.firstFree = b
  }

  #takeDuplicates(state: PeerState, max: number, out: BlockRef[]): void {
    for (let requesters = 1; requesters < this.#maxDuplicates; requesters++) {
      for (const progress of this.#open.values()) {
        if (!this.#avail.wanted(progress.index) || !this.#peerHas(state, progress.index)) continue
        for (let b = 0; b < progress.blockCount; b++) {
          if (progress.received[b] === 1 || progress.requestCount[b] !== requesters || progress.isRequestedBy(b, state.id)) continue
          this.#addRequest(progress, b, state)
          out.push({ index: progress.index, begin: b * this.#blockSize, length: progress.blockLength(b) })
          if (out.length >= max) return
        }
      }
    }
  }

  // ---- internals: request books ----

  #progressOf(block: BlockRef): PieceProgress | undefined {
    const { index, begin, length } = block
    if (!this.#inRange(index)) return undefined
    const progress = this.#open.get(index)
    if (!progress || !Number.isInteger(begin) || begin < 0 || begin % this.#blockSize !== 0) return undefined
    const b = begin / this.#blockSize
    if (b >= progress.blockCount || length !== progress.blockLength(b)) return undefined
    return progress
  }

  #addRequest(progress: PieceProgress, b: number, state: PeerState): void {
    progress.addRequester(b, state.id)
    if (progress.freeCount === 0) this.#openWithFree.delete(progress)
    state.requestCount++
    state.pieces.set(progress.index, (state.pieces.get(progress.index) ?? 0) + 1)
  }

  #dropRequest(progress: PieceProgress, b: number, peer: string): boolean {
    if (!progress.removeRequester(b, peer)) return false
    const state = this.#peers.get(peer)
    if (state) {
      state.requestCount--
      const n = state.pieces.get(progress.index)! - 1
      if (n === 0) state.pieces.delete(progress.index)
      else state.pieces.set(progress.index, n)
    }
    if (progress.freeCount > 0 && this.#avail.wanted(progress.index)) this.#openWithFree.add(progress)
    return true
  }

  /** A started piece with nothing received and nothing outstanding goes back among the unstarted, where rarity applies again. */
  #closeIfIdle(progress: PieceProgress): void {
    if (progress.outstanding > 0 || progress.receivedCount > 0 || this.#open.get(progress.index) !== progress) return
    this.#open.delete(progress.index)
    this.#openWithFree.delete(progress)
    if (this.#avail.wanted(progress.index)) this.#avail.addFresh(progress.index)
    this.#keepSpare(progress)
  }

  /** A closed piece's books (no request left on it) kept for reuse, up to MAX_SPARE_PIECES. */
  #keepSpare(progress: PieceProgress): void {
    if (progress.length === this.#pieceLength && this.#spare.length < MAX_SPARE_PIECES) this.#spare.push(progress)
  }

  #inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.#pieceCount
  }
}
