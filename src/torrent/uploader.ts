// The upload half of a torrent: validates peers' block requests, queues them
// per peer (bounded), reads pieces through a small cache and sends blocks as
// fast as each socket drains. Pieces are read into pooled buffers; a buffer
// goes back to the pool once it has left the cache and every transport holding
// a block of it said it is done (PeerSocket.write's callback), so serving at
// hundreds of MB/s leaves no garbage piece buffers for the GC to find late. Requests it must refuse (a piece we lack, past
// the piece's end, over 16 KiB, from a peer we choke, over the queue bound)
// are dropped without touching any other peer or the connection itself; only
// a peer that keeps sending far past the bound is reported as flooding, and
// the torrent decides to drop it.
// It never decides whom to unchoke: the torrent's choker does.
import { BLOCK_SIZE, errorMessage, type BlockRef } from '../core/types.ts'
import type { Bitfield } from '../core/bitfield.ts'
import { BufferPool, type BufferPools } from '../core/buffer-pool.ts'
import { MemoryBudget, type BudgetShare } from '../core/memory-budget.ts'
import { pieceSize, type Metainfo } from '../metainfo/metainfo.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { Storage } from '../storage/storage.ts'
import { BlockRequestQueue } from './block-request-queue.ts'

export interface UploaderOptions {
  /** Requests queued per peer; more are dropped (BEP 10 `reqq` we advertise). */
  maxQueuePerPeer?: number
  /** Whole pieces kept in memory for the next requests (never fewer pieces than two, or one over 1 MiB). */
  cacheBytes?: number
  /** Socket backlog past which we wait for it to drain before sending more (bytes buffered per peer). */
  maxBacklogBytes?: number
  /** Bytes of blocks handed to transports and not yet sent, over all peers, past which a peer with any of its own waits. */
  maxInFlightBytes?: number
  /**
   * This torrent's share of its session's in-flight budget: a peer with any
   * blocks of its own in flight also waits while the session's torrents
   * together hold the budget. Default: a budget of its own, maxInFlightBytes.
   */
  inFlight?: BudgetShare
  /**
   * This torrent's share of its session's read-cache budget: while the
   * session's torrents together cache more than it, this one keeps one piece
   * only. Default: none (its own cacheBytes alone).
   */
  readCache?: BudgetShare
  /** The session's free piece buffers by size, shared with its other torrents. Default: a pool of its own. */
  bufferPools?: BufferPools
  /** Called before each block goes out; false means "not now" (rate limit), with a retry delay. */
  allowUpload?: (bytes: number) => { ok: true } | { ok: false; retryInMs: number }
  onUploaded?: (bytes: number) => void
  /** A piece could not be read; `err` is what storage threw (its code tells a deleted file from a bad disk). */
  onReadError?: (message: string, err: unknown) => void
}

interface PeerQueue {
  requests: BlockRequestQueue
  pumping: boolean
  /** Bytes of this peer's blocks its transport still holds. */
  inFlightBytes: number
  /** Requests refused in a row, with none queued between: an honest peer never sends 2×reqq of those. */
  refusedInARow: number
}

/** A piece in the read cache, or out of it while transports still hold blocks of it. */
interface CachedPiece {
  readonly index: number
  /** Its bytes once `ready` resolved; a pooled buffer when `pooled`. */
  buf: Buffer
  /** The read: rejects with what it threw. */
  ready: Promise<void>
  pooled: boolean
  settled: boolean
  /** What the read threw, once it failed. */
  failure?: unknown
  /** Out of the cache: the buffer returns to the pool once settled and no block of it is held. */
  evicted: boolean
  /** Blocks of it in transports. */
  holds: number
}

const EMPTY = Buffer.alloc(0)
const ALLOWED = { ok: true } as const

/** Up to this piece length the cache holds at least two pieces, whatever `cacheBytes` says. */
const MIN_TWO_PIECES_BYTES = 2 * 1024 * 1024

/** What became of a request: queued, refused (ignored, BEP 3 allows it), or refused from a peer that floods. */
export type RequestOutcome = 'queued' | 'refused' | 'flooding'

export class Uploader {
  readonly #meta: Metainfo
  readonly #storage: Storage
  readonly #have: () => Bitfield
  readonly #opts: Required<Omit<UploaderOptions, 'allowUpload' | 'onUploaded' | 'onReadError' | 'inFlight' | 'readCache' | 'bufferPools'>> & UploaderOptions
  readonly #queues = new Map<PeerConnection, PeerQueue>()
  /**
   * Pieces read or being read, least recently used first. An array reordered in
   * place, not a Map: a Map's delete and set on every block served filled its
   * table with deleted entries and rebuilt it, garbage at hundreds per second.
   */
  readonly #cache: CachedPiece[] = []
  readonly #pool: BufferPool
  readonly #maxCachedPieces: number
  /** Bytes of the pieces in #cache, told to the session's read-cache budget (if any). */
  #cachedBytes = 0
  /** Bytes of blocks in transports, counted in the (session's) budget; pumps wait on it for room. */
  readonly #inFlight: BudgetShare
  #refused = 0

  constructor(meta: Metainfo, storage: Storage, have: () => Bitfield, opts: UploaderOptions = {}) {
    this.#meta = meta
    this.#storage = storage
    this.#have = have
    this.#opts = {
      maxQueuePerPeer: 256,
      // 1 MiB: four 256 KiB pieces, one for each of a few leechers reading a piece block by block. 2 MiB
      // held no more hits with two fast leechers and cost 1.3 MB more peak RSS (issue 15, README "Memory").
      cacheBytes: 1024 * 1024,
      maxBacklogBytes: 512 * 1024,
      maxInFlightBytes: 8 * 1024 * 1024,
      ...opts,
    }
    this.#inFlight = opts.inFlight ?? new MemoryBudget(this.#opts.maxInFlightBytes).share()
    // Two pieces where they fit in 2 MiB, so two peers in different pieces do not evict each other's.
    this.#maxCachedPieces = Math.max(1, Math.floor(this.#opts.cacheBytes / meta.pieceLength), Math.min(2, Math.floor(MIN_TWO_PIECES_BYTES / meta.pieceLength)))
    // Pieces in the cache are not in the pool; the free list only evens out evictions and reads.
    this.#pool = opts.bufferPools?.get(meta.pieceLength, this.#maxCachedPieces) ?? new BufferPool(meta.pieceLength, this.#maxCachedPieces)
  }

  /** Bytes of blocks handed to transports and not yet sent, over all peers. */
  get inFlightBytes(): number {
    return this.#inFlight.heldBytes
  }

  /** Piece buffers waiting in the pool for reuse. */
  get pooledBuffers(): number {
    return this.#pool.freeCount
  }

  /** Requests dropped so far (for stats and tests). */
  get refusedCount(): number {
    return this.#refused
  }

  queuedFor(pc: PeerConnection): number {
    return this.#queues.get(pc)?.requests.length ?? 0
  }

  /**
   * Queues a request, or refuses it. 'flooding' means the peer sent over twice
   * our queue bound of refused requests in a row: more than a choke or a
   * race can explain (after a choke at most its reqq are in flight).
   */
  handleRequest(pc: PeerConnection, block: BlockRef): RequestOutcome {
    let queue = this.#queues.get(pc)
    if (!queue) this.#queues.set(pc, (queue = { requests: new BlockRequestQueue(this.#opts.maxQueuePerPeer), pumping: false, inFlightBytes: 0, refusedInARow: 0 }))
    if (!this.#acceptable(pc, block) || !queue.requests.push(block.index, block.begin, block.length)) {
      this.#refused++
      return ++queue.refusedInARow > 2 * this.#opts.maxQueuePerPeer ? 'flooding' : 'refused'
    }
    queue.refusedInARow = 0
    // Not a call per request while it pumps: an async call makes a promise even when it returns at once.
    if (!queue.pumping) void this.#pump(pc, queue)
    return 'queued'
  }

  handleCancel(pc: PeerConnection, block: BlockRef): void {
    const queue = this.#queues.get(pc)
    if (!queue) return
    queue.requests.remove(block.index, block.begin, block.length)
  }

  /** We choked the peer: BEP 3 says its pending requests are discarded. */
  handleChoked(pc: PeerConnection): void {
    const queue = this.#queues.get(pc)
    if (queue) queue.requests.clear()
  }

  removePeer(pc: PeerConnection): void {
    const queue = this.#queues.get(pc)
    if (queue) {
      queue.requests.clear()
      // Its transport's callbacks may never come now: its blocks no longer count against the others.
      this.#inFlight.add(-queue.inFlightBytes)
      queue.inFlightBytes = 0
    }
    this.#queues.delete(pc)
    // No peer left, so nothing of ours in flight: pumps still waiting for room are woken to see their peer gone.
    if (this.#queues.size === 0) this.#inFlight.release()
    // No one left to serve: an idle seed keeps no cached pieces, nor pooled buffers.
    if (this.#queues.size === 0) {
      while (this.#cache.length > 0) this.#evict(this.#cache[0].index)
      this.#pool.drain()
    }
  }

  /** Pieces held in the read cache. */
  get cachedPieces(): number {
    return this.#cache.length
  }

  /**
   * Runs `use` on a piece's bytes read through the cache, so the BEP 52 block hashes a peer asks of us,
   * and then its blocks, cost one read. The bytes may be a pooled buffer: valid only while `use` runs.
   */
  async withPiece<T>(index: number, use: (data: Buffer) => T): Promise<T> {
    const piece = this.#piece(index)
    piece.holds++
    try {
      await piece.ready
      return use(piece.buf)
    } finally {
      this.#unhold(piece)
    }
  }

  /** The piece changed on disk (a recheck failed it): forget any cached copy. */
  forgetPiece(index: number): void {
    this.#evict(index)
  }

  #acceptable(pc: PeerConnection, b: BlockRef): boolean {
    if (pc.amChoking) return false
    if (!Number.isInteger(b.index) || b.index < 0 || b.index >= this.#meta.pieceCount) return false
    if (!this.#have().get(b.index)) return false
    if (b.length <= 0 || b.length > BLOCK_SIZE) return false
    return b.begin >= 0 && b.begin + b.length <= pieceSize(this.#meta, b.index)
  }

  async #pump(pc: PeerConnection, queue: PeerQueue): Promise<void> {
    if (queue.pumping) return
    queue.pumping = true
    try {
      while (queue.requests.length > 0 && !pc.closed) {
        if (pc.writeBacklogBytes > this.#opts.maxBacklogBytes) {
          await pc.drained()
          continue
        }
        // A peer with nothing in flight may always send one block, whatever the others hold.
        if (queue.inFlightBytes > 0 && this.#inFlight.blocked(this.#opts.maxInFlightBytes)) {
          await new Promise<void>((resolve) => this.#inFlight.wait(this.#opts.maxInFlightBytes, resolve))
          continue
        }
        const index = queue.requests.firstIndex
        const piece = this.#piece(index)
        if (!piece.settled) {
          await piece.ready.catch(() => {})
          // Then round again: the request may be cancelled, or the piece evicted, meanwhile.
          if (piece.failure === undefined) continue
        }
        if (piece.failure !== undefined) {
          this.#opts.onReadError?.(`cannot read piece ${index} for upload: ${errorMessage(piece.failure)}`, piece.failure)
          queue.requests.clear()
          return
        }
        const allowed = this.#opts.allowUpload?.(queue.requests.firstLength) ?? ALLOWED
        if (!allowed.ok) {
          await new Promise((resolve) => setTimeout(resolve, allowed.retryInMs))
          continue
        }
        if (pc.amChoking) {
          queue.requests.clear() // BEP 3: a choke discards the peer's requests
          return
        }
        const begin = queue.requests.firstBegin
        const length = queue.requests.firstLength
        queue.requests.shift()
        this.#send(pc, queue, piece, begin, length)
      }
    } finally {
      queue.pumping = false
    }
  }

  /** Hands one block of a read piece to the peer's transport; the piece stays out of the pool until the transport is done. */
  #send(pc: PeerConnection, queue: PeerQueue, piece: CachedPiece, begin: number, length: number): void {
    piece.holds++
    queue.inFlightBytes += length
    this.#inFlight.add(length)
    pc.sendBlock(piece.index, begin, piece.buf.subarray(begin, begin + length), () => {
      // After removePeer its bytes were already taken off the total.
      if (this.#queues.get(pc) === queue) {
        queue.inFlightBytes -= length
        this.#inFlight.add(-length)
      }
      this.#unhold(piece)
    })
    this.#opts.onUploaded?.(length)
  }

  #piece(index: number): CachedPiece {
    const cache = this.#cache
    const newest = cache.length - 1
    // Newest first: the usual hit is the piece of the block just sent.
    for (let k = newest; k >= 0; k--) {
      const cached = cache[k]
      if (cached.index !== index) continue
      for (let m = k; m < newest; m++) cache[m] = cache[m + 1]
      cache[newest] = cached
      return cached
    }
    const size = pieceSize(this.#meta, index)
    const pooled = size === this.#pool.size && this.#storage.readInto !== undefined
    const piece: CachedPiece = {
      index,
      buf: pooled ? this.#pool.acquire() : EMPTY,
      ready: undefined as unknown as Promise<void>,
      pooled,
      settled: false,
      failure: undefined,
      evicted: false,
      holds: 0,
    }
    piece.ready = pooled
      ? this.#storage.readInto!(index, 0, piece.buf)
      : this.#storage.read(index, 0, size).then((b) => {
          piece.buf = b
        })
    piece.ready.then(
      () => {
        piece.settled = true
        this.#releaseIfFree(piece)
      },
      (err: unknown) => {
        piece.settled = true
        piece.failure = err
        if (this.#cache.includes(piece)) this.#evict(index)
        else this.#releaseIfFree(piece)
      },
    )
    cache.push(piece)
    this.#cacheBytes(size)
    // Least recently used out first: past our own cap, or (down to one piece) while the session's caches together are past theirs.
    while (cache.length > this.#maxCachedPieces || (cache.length > 1 && this.#opts.readCache?.over)) {
      this.#evict(cache[0].index)
    }
    return piece
  }

  #evict(index: number): void {
    const cache = this.#cache
    const k = cache.findIndex((p) => p.index === index)
    if (k < 0) return
    const piece = cache[k]
    for (let m = k; m < cache.length - 1; m++) cache[m] = cache[m + 1]
    cache.pop()
    this.#cacheBytes(-pieceSize(this.#meta, index))
    piece.evicted = true
    this.#releaseIfFree(piece)
  }

  #cacheBytes(delta: number): void {
    this.#cachedBytes += delta
    this.#opts.readCache?.set(this.#cachedBytes)
  }

  #unhold(piece: CachedPiece): void {
    piece.holds--
    this.#releaseIfFree(piece)
  }

  #releaseIfFree(piece: CachedPiece): void {
    if (!piece.pooled || !piece.evicted || !piece.settled || piece.holds > 0) return
    piece.pooled = false
    // An idle uploader (no peer left) keeps no free buffers either.
    if (this.#queues.size > 0) this.#pool.release(piece.buf)
  }
}
