// The upload half of a torrent: validates peers' block requests, queues them
// per peer (bounded), reads pieces through a small cache and sends blocks as
// fast as each socket drains. Requests it must refuse (a piece we lack, past
// the piece's end, over 16 KiB, from a peer we choke, over the queue bound)
// are dropped without touching any other peer or the connection itself; only
// a peer that keeps sending far past the bound is reported as flooding, and
// the torrent decides to drop it.
// It never decides whom to unchoke: the torrent's choker does.
import { BLOCK_SIZE, errorMessage } from '../core/types.ts'
import type { BlockRef } from '../core/types.ts'
import type { Bitfield } from '../core/bitfield.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { pieceSize } from '../metainfo/metainfo.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { Storage } from '../storage/storage.ts'

export interface UploaderOptions {
  /** Requests queued per peer; more are dropped (BEP 10 `reqq` we advertise). */
  maxQueuePerPeer?: number
  /** Whole pieces kept in memory for the next requests. */
  cacheBytes?: number
  /** Socket backlog past which we wait for it to drain before sending more (bytes buffered per peer). */
  maxBacklogBytes?: number
  /** Called before each block goes out; false means "not now" (rate limit), with a retry delay. */
  allowUpload?: (bytes: number) => { ok: true } | { ok: false; retryInMs: number }
  onUploaded?: (bytes: number) => void
  /** A piece could not be read; `err` is what storage threw (its code tells a deleted file from a bad disk). */
  onReadError?: (message: string, err: unknown) => void
}

interface PeerQueue {
  requests: BlockRef[]
  pumping: boolean
  /** Requests refused in a row, with none queued between: an honest peer never sends 2×reqq of those. */
  refusedInARow: number
}

/** What became of a request: queued, refused (ignored, BEP 3 allows it), or refused from a peer that floods. */
export type RequestOutcome = 'queued' | 'refused' | 'flooding'

export class Uploader {
  readonly #meta: Metainfo
  readonly #storage: Storage
  readonly #have: () => Bitfield
  readonly #opts: Required<Omit<UploaderOptions, 'allowUpload' | 'onUploaded' | 'onReadError'>> & UploaderOptions
  readonly #queues = new Map<PeerConnection, PeerQueue>()
  /** Piece index → its bytes (or the read under way), least recently used first. */
  readonly #cache = new Map<number, Promise<Buffer>>()
  #refused = 0

  constructor(meta: Metainfo, storage: Storage, have: () => Bitfield, opts: UploaderOptions = {}) {
    this.#meta = meta
    this.#storage = storage
    this.#have = have
    this.#opts = {
      maxQueuePerPeer: 256,
      cacheBytes: 2 * 1024 * 1024,
      maxBacklogBytes: 512 * 1024,
      ...opts,
    }
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
    if (!queue) this.#queues.set(pc, (queue = { requests: [], pumping: false, refusedInARow: 0 }))
    if (!this.#acceptable(pc, block) || queue.requests.length >= this.#opts.maxQueuePerPeer) {
      this.#refused++
      return ++queue.refusedInARow > 2 * this.#opts.maxQueuePerPeer ? 'flooding' : 'refused'
    }
    queue.refusedInARow = 0
    queue.requests.push(block)
    void this.#pump(pc, queue)
    return 'queued'
  }

  handleCancel(pc: PeerConnection, block: BlockRef): void {
    const queue = this.#queues.get(pc)
    if (!queue) return
    const i = queue.requests.findIndex((r) => r.index === block.index && r.begin === block.begin && r.length === block.length)
    if (i >= 0) queue.requests.splice(i, 1)
  }

  /** We choked the peer: BEP 3 says its pending requests are discarded. */
  handleChoked(pc: PeerConnection): void {
    const queue = this.#queues.get(pc)
    if (queue) queue.requests.length = 0
  }

  removePeer(pc: PeerConnection): void {
    const queue = this.#queues.get(pc)
    if (queue) queue.requests.length = 0
    this.#queues.delete(pc)
    // No one left to serve: an idle seed keeps no cached pieces.
    if (this.#queues.size === 0) this.#cache.clear()
  }

  /** Pieces held in the read cache. */
  get cachedPieces(): number {
    return this.#cache.size
  }

  /** A piece's bytes through the read cache: the BEP 52 block hashes a peer asks of us, and then its blocks, cost one read. */
  readPiece(index: number): Promise<Buffer> {
    return this.#piece(index)
  }

  /** The piece changed on disk (a recheck failed it): forget any cached copy. */
  forgetPiece(index: number): void {
    this.#cache.delete(index)
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
        const block = queue.requests[0]
        const allowed = this.#opts.allowUpload?.(block.length) ?? { ok: true }
        if (!allowed.ok) {
          await new Promise((resolve) => setTimeout(resolve, allowed.retryInMs))
          continue
        }
        let piece: Buffer
        try {
          piece = await this.#piece(block.index)
        } catch (err) {
          this.#opts.onReadError?.(`cannot read piece ${block.index} for upload: ${errorMessage(err)}`, err)
          queue.requests.length = 0
          return
        }
        // The request may have been cancelled, or the peer choked, while we read.
        if (queue.requests[0] !== block || pc.closed || pc.amChoking) continue
        queue.requests.shift()
        pc.sendBlock(block.index, block.begin, piece.subarray(block.begin, block.begin + block.length))
        this.#opts.onUploaded?.(block.length)
      }
    } finally {
      queue.pumping = false
    }
  }

  #piece(index: number): Promise<Buffer> {
    const cached = this.#cache.get(index)
    if (cached) {
      this.#cache.delete(index)
      this.#cache.set(index, cached)
      return cached
    }
    const read = this.#storage.read(index, 0, pieceSize(this.#meta, index))
    this.#cache.set(index, read)
    read.catch(() => this.#cache.delete(index))
    const maxPieces = Math.max(1, Math.floor(this.#opts.cacheBytes / this.#meta.pieceLength))
    while (this.#cache.size > maxPieces) this.#cache.delete(this.#cache.keys().next().value as number)
    return read
  }
}
