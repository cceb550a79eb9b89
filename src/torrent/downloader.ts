// The download half of a torrent: keeps each peer's request queue about a
// second deep (within its reqq, the download limit and the memory cap for
// open pieces: its own, and the session's budget shared by its torrents, in
// which a torrent with no piece open may always open one), copies arriving
// blocks into their piece's buffer, verifies a finished piece (SHA-1, BEP 52
// merkle root, or both: metainfo's checkPiece), writes it in one go and only
// then marks it ours and tells the peers. While verified pieces waiting for the disk fill
// maxUnwrittenBytes, peers' sockets are not read (until half have landed): what
// they send waits in the kernel (flow control slows them) rather than in piece
// buffers, while the requests stay out, so reading resumes at full speed. In endgame (the picker hands out a block to
// more than one peer) the other requests for a block that arrived are
// cancelled. Peers that stop sending are snubbed and their blocks go elsewhere.
// In a v2 torrent each block is also checked on its own against its BEP 52
// block hash (a BlockVerifier, asked for a piece's hashes as the piece is
// picked): a bad block is refused, or taken back if it came before its hashes,
// and its sender reported at once, before the rest of the piece arrives.
// It reports verified and failed pieces and failed writes to its owner as
// events; it never dials, bans, chokes or changes the torrent's state.
import type { Bitfield } from '../core/bitfield.ts'
import { BufferPool, type BufferPools } from '../core/buffer-pool.ts'
import { MemoryBudget, type BudgetShare } from '../core/memory-budget.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { RateMeter } from '../core/rate-meter.ts'
import type { LimiterChain } from '../core/token-bucket.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { BLOCK_SIZE, errorMessage, type BlockRef } from '../core/types.ts'
import { pieceSize, type Metainfo } from '../metainfo/metainfo.ts'
import { checkPiece } from '../metainfo/piece-check.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import { PiecePicker } from '../picker/piece-picker.ts'
import type { Storage } from '../storage/storage.ts'
import type { BlockVerifier } from './block-verifier.ts'
import { queueDepth, requestsToAdd } from './request-pipeline.ts'

/**
 * Verified bytes waiting for the disk before peers' sockets wait too. Writes to
 * the page cache stall for tens of ms at times (writeback); the kernel's socket
 * buffers, not ours, hold what arrives meanwhile (issue 15: 8 → 2 → 1 MiB; at 1 MiB
 * a 1 GiB `add` peaks ~2 MB lower, no slower, ~8 % more CPU: more pauses). */
const DEFAULT_MAX_UNWRITTEN_BYTES = 1024 * 1024
const POOL_SLACK = 4 // pooled piece buffers beyond the write cap: pieces being assembled meanwhile

export interface DownloaderOptions {
  meta: Metainfo
  storage: Storage
  clock: Clock
  /** The torrent's ready peers by key (the swarm's map, read only). */
  connections: ReadonlyMap<string, PeerConnection>
  /** True while the torrent downloads: no requests go out otherwise, and no piece is marked ours after a stop. */
  isDownloading: () => boolean
  /** Memory for pieces being assembled or written; past it only started pieces are continued. */
  maxPieceMemoryBytes: number
  /** Its share of the session's piece memory, held by all its torrents (default: a budget of its own, maxPieceMemoryBytes). */
  pieceMemory?: BudgetShare
  /** The session's pools of piece buffers (one per piece size), so free ones are kept once for all its torrents. Default: its own. */
  bufferPools?: BufferPools
  /** Verified pieces waiting for the disk past which peers' sockets are not read (default 1 MiB, at least 2 pieces). */
  maxUnwrittenBytes?: number
  /** A peer with requests outstanding and no block for this long is snubbed. */
  requestTimeoutMs: number
  downloadLimiter?: LimiterChain
  /** BEP 52: checks each block of a v2 piece against its block hash. */
  blocks?: BlockVerifier
}

export interface DownloaderEvents {
  /** Written and marked ours; peers have been told. */
  pieceVerified: [index: number]
  /** Failed its hash check; `peers` sent blocks of it. */
  pieceFailed: [index: number, peers: string[]]
  /** One block failed its BEP 52 block hash; `peer` sent it (the block is asked of others). */
  blockFailed: [block: BlockRef, peer: string]
  /** A verified piece could not be written; `err` is what storage threw. */
  writeFailed: [message: string, err: unknown]
  /** Requests may go out again (memory freed, tokens back, a tick): sources it does not drive, web seeds, ask now. */
  refill: []
}

export class Downloader extends TypedEmitter<DownloaderEvents> {
  readonly #meta: Metainfo
  readonly #storage: Storage
  readonly #clock: Clock
  readonly #connections: ReadonlyMap<string, PeerConnection>
  readonly #isDownloading: () => boolean
  readonly #maxPieceMemoryBytes: number
  /** Open pieces' bytes, counted in the (session's) budget. */
  readonly #pieceMemory: BudgetShare
  readonly #requestTimeoutMs: number
  readonly #limiter: LimiterChain | undefined
  readonly #blocks: BlockVerifier | undefined
  /** Blocks taken before their piece's block hashes were known, by piece: begin → sender. */
  readonly #unchecked = new Map<number, Map<number, string>>()
  /** Pieces being assembled in memory: verified whole, then written in one go. */
  readonly #assembling = new Map<number, Buffer>()
  readonly #bufferPool: BufferPool
  readonly #writes = new Set<Promise<void>>()
  /** Pieces in #writes at which reading from peers stops, until half of them have landed. */
  readonly #maxUnwrittenPieces: number
  #readsPaused = false
  readonly #meter: RateMeter
  #picker: PiecePicker | undefined
  #refillTimer: TimerHandle | undefined
  /** New pieces were held back for memory: every peer is refilled once the budget has room. */
  #waitingForMemory = false
  #stopped = false
  #downloadedBytes = 0
  #wastedBytes = 0

  constructor(opts: DownloaderOptions) {
    super()
    this.#meta = opts.meta
    this.#storage = opts.storage
    this.#clock = opts.clock
    this.#connections = opts.connections
    this.#isDownloading = opts.isDownloading
    this.#maxPieceMemoryBytes = opts.maxPieceMemoryBytes
    this.#pieceMemory = opts.pieceMemory ?? new MemoryBudget(opts.maxPieceMemoryBytes).share()
    this.#requestTimeoutMs = opts.requestTimeoutMs
    this.#limiter = opts.downloadLimiter
    this.#blocks = opts.blocks
    this.#blocks?.on('leaves', (index) => this.#checkTaken(index))
    this.#maxUnwrittenPieces = Math.max(2, Math.floor((opts.maxUnwrittenBytes ?? DEFAULT_MAX_UNWRITTEN_BYTES) / this.#meta.pieceLength))
    // The pool keeps what a steady download uses (pieces being written, a few assembling), so it allocates none.
    const poolSize = Math.min(Math.ceil(opts.maxPieceMemoryBytes / this.#meta.pieceLength), this.#maxUnwrittenPieces + POOL_SLACK)
    this.#bufferPool = opts.bufferPools?.get(this.#meta.pieceLength, poolSize) ?? new BufferPool(this.#meta.pieceLength, poolSize)
    this.#meter = new RateMeter(5, this.#clock)
  }

  /** Starts from the pieces the check found (or resume data vouched for). */
  start(have: Bitfield): void {
    this.#picker = new PiecePicker({
      pieceCount: this.#meta.pieceCount,
      pieceLength: this.#meta.pieceLength,
      totalLength: this.#meta.length,
      have,
    })
  }

  get started(): boolean {
    return this.#picker !== undefined
  }

  /** Verified pieces (the live bitfield); only after start(). */
  get have(): Bitfield {
    return this.#picker!.have
  }

  get downloadedBytes(): number {
    return this.#downloadedBytes
  }

  get wastedBytes(): number {
    return this.#wastedBytes
  }

  rateBytesPerSec(): number {
    return this.#meter.rateBytesPerSec()
  }

  /** Pieces requested or partly received, not yet verified (none before start). */
  openPieces(): Iterable<number> {
    return this.#picker?.openPieces() ?? []
  }

  /** How many connected peers have piece `index` (0 before start). */
  availability(index: number): number {
    return this.#picker?.availability(index) ?? 0
  }

  /** Every wanted piece is verified. */
  isComplete(): boolean {
    return this.#picker!.isComplete()
  }

  /** Bytes in verified pieces (0 before start). */
  verifiedBytes(): number {
    const have = this.#picker?.have
    const count = have ? have.count() : 0
    if (count === 0) return 0
    const last = this.#meta.pieceCount - 1
    return have!.get(last) ? (count - 1) * this.#meta.pieceLength + this.#meta.lastPieceLength : count * this.#meta.pieceLength
  }

  /** One priority per piece (0 = skip). */
  setPiecePriorities(priorities: ArrayLike<number>): void {
    for (let i = 0; i < priorities.length; i++) this.#picker!.setPriority(i, priorities[i])
  }

  // --- what peers have -----------------------------------------------------

  addPeer(key: string): void {
    this.#picker!.addPeer(key)
  }

  removePeer(key: string): void {
    this.#picker?.removePeer(key)
    this.#syncMemory()
  }

  handleBitfield(key: string, bitfield: Bitfield): void {
    this.#picker!.setPeerBitfield(key, bitfield)
  }

  handleHaveAll(key: string): void {
    this.#picker!.handleHaveAll(key)
  }

  handleHave(pc: PeerConnection, index: number): void {
    this.#picker!.handleHave(pc.key, index)
    if (!pc.amInterested) this.updateInterest(pc)
  }

  /** Interested in a peer while downloading and it has a piece we want; requests follow. */
  updateInterest(pc: PeerConnection): void {
    const interested = this.#isDownloading() && this.#picker!.isInteresting(pc.key)
    pc.setInterested(interested)
    if (interested) this.fill(pc)
  }

  // --- requesting ----------------------------------------------------------

  /** Tops up `pc`'s requests, in batches (request-pipeline.ts). */
  fill(pc: PeerConnection): void {
    if (!pc.ready || pc.peerChoking || !pc.amInterested || !this.#isDownloading()) return
    const depth = queueDepth(pc.snubbed, pc.downloadMeter.rateBytesPerSec(), pc.maxRequests)
    const want = requestsToAdd(depth, pc.outstandingCount)
    if (want === 0) return
    const blocks = this.#pick(pc.key, want, false)
    if (blocks.length > 0) pc.request(blocks)
  }

  /**
   * Up to `maxBlocks` requests for a source of byte ranges (a web seed, known
   * to the picker as a seed under `key`): whole runs of consecutive pieces,
   * within the memory cap and the download limit like a peer's. [] when not
   * downloading or nothing is left for it.
   */
  pickRun(key: string, maxBlocks: number): BlockRef[] {
    if (!this.#isDownloading() || !this.#picker) return []
    return this.#pick(key, maxBlocks, true)
  }

  /** Requests `key` made and will not fill (a web seed's failed or dropped range): free for others. */
  releaseRequests(key: string, blocks: Iterable<BlockRef>): void {
    for (const block of blocks) this.#picker?.releaseRequest(key, block)
    this.#syncMemory()
  }

  #pick(key: string, want: number, run: boolean): BlockRef[] {
    const blocks = this.#pickBlocks(key, want, run)
    // A v2 piece's block hashes are asked for before its blocks (of `key` first, so they come first).
    if (this.#blocks) for (let i = 0; i < blocks.length; i++) if (i === 0 || blocks[i].index !== blocks[i - 1].index) this.#blocks.want(blocks[i].index, key)
    return blocks
  }

  #pickBlocks(key: string, want: number, run: boolean): BlockRef[] {
    const picker = this.#picker!
    this.#syncMemory()
    // A torrent with no piece open may always open one, whatever the others hold.
    const allowNewPieces = picker.openPieceCount() === 0 || !this.#pieceMemory.blocked(this.#maxPieceMemoryBytes)
    if (!allowNewPieces) this.#waitForMemory()
    let blocks: BlockRef[]
    if (!run) {
      blocks = picker.pickBlocks(key, this.#allowedByLimit(want), allowNewPieces)
    } else {
      // A run is picked first and paid for after, so a short run costs only its own blocks.
      blocks = picker.pickRun(key, want, allowNewPieces)
      const allowed = this.#allowedByLimit(blocks.length)
      for (let i = allowed; i < blocks.length; i++) picker.releaseRequest(key, blocks[i])
      if (allowed < blocks.length) blocks = blocks.slice(0, allowed)
    }
    this.#syncMemory()
    return blocks
  }

  /** Open pieces (requested, assembling, or verified and being written) each hold a buffer: the budget is told how many. */
  #syncMemory(): void {
    if (this.#stopped) return
    this.#pieceMemory.set((this.#picker?.openPieceCount() ?? 0) * this.#meta.pieceLength)
  }

  /** Once, until woken: every peer is refilled when a release (ours or another torrent's) leaves room. */
  #waitForMemory(): void {
    if (this.#waitingForMemory) return
    this.#waitingForMemory = true
    this.#pieceMemory.wait(this.#maxPieceMemoryBytes, () => {
      this.#waitingForMemory = false
      if (!this.#stopped) this.fillAll()
    })
  }

  fillAll(): void {
    for (const pc of this.#connections.values()) this.fill(pc)
    this.emit('refill')
  }

  /**
   * The download limit is kept by requesting no faster than it allows: each
   * request takes a block's worth of tokens. Out of tokens, a timer refills
   * every peer once the bucket has room again.
   */
  #allowedByLimit(want: number): number {
    const limiter = this.#limiter
    if (!limiter) return want
    let allowed = 0
    while (allowed < want && limiter.tryTake(BLOCK_SIZE)) allowed++
    if (allowed < want && !this.#refillTimer) {
      this.#refillTimer = this.#clock.setTimeout(() => {
        this.#refillTimer = undefined
        this.fillAll()
      }, Math.max(1, limiter.waitMs(BLOCK_SIZE)))
    }
    return allowed
  }

  /** BEP 3: a choke discards every request we had queued at that peer. */
  handleChoke(pc: PeerConnection): void {
    pc.clearOutstanding()
    this.#picker!.releasePeerRequests(pc.key)
    this.#syncMemory()
    this.fillAll()
  }

  handleReject(pc: PeerConnection, block: BlockRef): void {
    this.#picker!.releaseRequest(pc.key, block)
    this.#syncMemory()
    this.fill(pc)
  }

  /** A block we never asked this peer for. */
  handleUnexpectedBlock(block: BlockRef): void {
    this.#wastedBytes += block.length
  }

  /** Once a second: peers silent past the request timeout are snubbed, and every queue is topped up. */
  handleTick(nowMs: number): void {
    for (const pc of this.#connections.values()) {
      if (pc.outstandingCount === 0 || pc.snubbed) continue
      const silentMs = nowMs - Math.max(pc.lastBlockAtMs, pc.connectedAtMs)
      if (silentMs > this.#requestTimeoutMs && pc.oldestRequestAgeMs() > this.#requestTimeoutMs) {
        // Snubbed: its blocks go to others; it keeps one request so it can prove itself again.
        pc.snubbed = true
        for (const block of pc.cancelAll()) this.#picker!.releaseRequest(pc.key, block)
      }
    }
    this.#syncMemory()
    this.fillAll()
  }

  // --- blocks and pieces ---------------------------------------------------

  handleBlock(pc: PeerConnection, block: BlockRef, view: Buffer): void {
    this.acceptBlock(pc.key, block, view)
    // A peer that connected while reads were held back waits like the others.
    if (this.#readsPaused) pc.pauseReading()
    this.fill(pc)
  }

  /** A block from `key` (a peer or a web seed): copied into its piece, which is verified once whole. False when refused (wasted). */
  acceptBlock(key: string, block: BlockRef, view: Buffer): boolean {
    const picker = this.#picker!
    const verdict = this.#blocks?.check(block.index, block.begin, view)
    if (verdict === 'bad') {
      this.#wastedBytes += view.length
      picker.releaseRequest(key, block)
      this.emit('blockFailed', block, key)
      return false
    }
    const result = picker.handleBlock(key, block)
    if (!result.accepted) {
      this.#wastedBytes += view.length
      return false
    }
    if (verdict === 'unknown' && !result.pieceComplete) {
      let taken = this.#unchecked.get(block.index)
      if (!taken) this.#unchecked.set(block.index, (taken = new Map()))
      taken.set(block.begin, key)
    }
    for (const other of result.alsoRequestedBy) this.#connections.get(other)?.cancel(block)
    this.#downloadedBytes += view.length
    this.#meter.add(view.length)
    // Copied into the piece's buffer at once: the decoder's view pins a whole
    // socket chunk, and a piece is hashed and written whole.
    let buffer = this.#assembling.get(block.index)
    if (!buffer) {
      buffer = this.#bufferPool.acquire()
      this.#assembling.set(block.index, buffer)
    }
    view.copy(buffer, block.begin)
    if (result.pieceComplete) void this.#finishPiece(block.index)
    return true
  }

  /** Piece `index`'s block hashes came: the blocks of it taken unchecked are checked now; bad ones are fetched again. */
  #checkTaken(index: number): void {
    const taken = this.#unchecked.get(index)
    const buffer = this.#assembling.get(index)
    this.#unchecked.delete(index)
    if (!taken || !buffer || !this.#blocks) return
    const size = pieceSize(this.#meta, index)
    for (const [begin, key] of taken) {
      const block = { index, begin, length: Math.min(BLOCK_SIZE, size - begin) }
      if (this.#blocks.check(index, begin, buffer.subarray(begin, begin + block.length)) !== 'bad') continue
      this.#picker!.discardBlock(block)
      this.#wastedBytes += block.length
      this.emit('blockFailed', block, key)
    }
    this.#syncMemory()
    this.fillAll()
  }

  async #finishPiece(index: number): Promise<void> {
    const buffer = this.#assembling.get(index)!
    this.#assembling.delete(index)
    this.#unchecked.delete(index)
    const data = buffer.subarray(0, pieceSize(this.#meta, index))
    const verdict = checkPiece(this.#meta, index, data)
    const picker = this.#picker!
    if (verdict !== 'good') {
      this.#bufferPool.release(buffer)
      const senders = picker.markFailed(index)
      this.#syncMemory()
      // 'unknown': a v2 piece whose layer we lack cannot blame anyone; it is fetched again.
      if (verdict === 'bad') this.emit('pieceFailed', index, senders)
      this.fillAll()
      return
    }
    this.#blocks?.forget(index)
    // Only verified bytes reach the disk, in one write; the piece is ours once they have.
    const write = this.#storage.write(index, 0, data)
    this.#writes.add(write)
    if (this.#writes.size >= this.#maxUnwrittenPieces) this.#pauseReads()
    try {
      await write
    } catch (err) {
      this.emit('writeFailed', `cannot write ${this.#meta.name}: ${errorMessage(err)}`, err)
      return
    } finally {
      this.#writes.delete(write)
      this.#bufferPool.release(buffer)
      // Half the cap, not one below it: pausing and resuming at every write cost CPU and speed.
      if (this.#readsPaused && this.#writes.size <= this.#maxUnwrittenPieces / 2) this.#resumeReads()
    }
    if (!this.#isDownloading()) return
    picker.markVerified(index)
    // Its buffer is free: a torrent waiting for memory (this one or another) is woken.
    this.#syncMemory()
    for (const pc of this.#connections.values()) {
      if (!pc.ready) continue
      if (!pc.have.get(index)) pc.sendHave(index)
      if (pc.amInterested && !picker.isInteresting(pc.key)) pc.setInterested(false)
    }
    this.emit('pieceVerified', index)
  }

  /** The disk is behind: peers' sockets are not read until half the writes land (requests stay out). */
  #pauseReads(): void {
    this.#readsPaused = true
    for (const pc of this.#connections.values()) pc.pauseReading()
  }

  #resumeReads(): void {
    this.#readsPaused = false
    for (const pc of this.#connections.values()) pc.resumeReading()
  }

  /** True while peers' sockets are not read because verified pieces wait for the disk. */
  get readsPaused(): boolean {
    return this.#readsPaused
  }

  /** Lets the writes under way land (or fail). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#writes])
  }

  /** A seed assembles no pieces: the pooled piece buffers (its own, or the session's pool of its size: others refill it) go back to the GC. */
  releaseBuffers(): void {
    this.#bufferPool.drain()
  }

  /** No more requests; everything it held in the piece budget is given back (pieces still being written land unaccounted). */
  stop(): void {
    this.#refillTimer?.cancel()
    this.#stopped = true
    this.#pieceMemory.release()
  }
}
