// One torrent's DHT schedule: a get_peers lookup at start and every interval,
// an announce_peer after each lookup while we download or seed, and extra
// lookups on request (at most one a minute). Runs on the session's shared
// DhtNode; owns no socket. Does nothing at all for a private torrent (BEP 27).
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { addressKey, FriendError, type PeerAddress, type PeerCandidate } from '../core/types.ts'
import type { DhtNode } from './dht-node.ts'
import type { PeerSource, PeerSourceEvents } from './peer-source.ts'

/** What a DhtSource needs of the node (a DhtNode is one). */
export type DhtLookupNode = Pick<DhtNode, 'lookup' | 'announce'>

export interface DhtSourceOptions {
  node: DhtLookupNode
  infoHash: Buffer
  /** Our peer-wire (TCP) port, announced to the DHT. */
  port: number
  /** BEP 27: a private torrent's peers come from its trackers only. */
  private: boolean
  /** Announce ourselves after each lookup (we download or seed). */
  announce: boolean
  intervalMs?: number
  clock?: Clock
}

const INFO_HASH_BYTES = 20
/** BEP 5 gives no schedule; 15 min keeps our announce fresh (nodes drop peers after ~30 min). */
const DEFAULT_INTERVAL_MS = 15 * 60_000
/** lookupNow() is for "out of peers"; one walk a minute is plenty and spares the DHT. */
const MIN_LOOKUP_GAP_MS = 60_000

export class DhtSource extends TypedEmitter<PeerSourceEvents> implements PeerSource {
  readonly kind = 'dht'

  readonly #node: DhtLookupNode
  readonly #infoHash: Buffer
  readonly #port: number
  readonly #private: boolean
  readonly #announce: boolean
  readonly #intervalMs: number
  readonly #clock: Clock
  #running = false
  #inFlight = false
  /** A lookup came due while one was in flight; run it when that one ends. */
  #againAfterFlight = false
  #lastLookupAtMs: number | undefined
  #timer: TimerHandle | undefined
  #nextLookupAtMs: number | undefined

  constructor(opts: DhtSourceOptions) {
    super()
    if (opts.infoHash.length !== INFO_HASH_BYTES) {
      throw new FriendError(`info hash must be ${INFO_HASH_BYTES} bytes, got ${opts.infoHash.length}`)
    }
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new FriendError(`listen port must be 1-65535, got ${opts.port}`)
    }
    const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS
    if (!Number.isFinite(intervalMs) || intervalMs < MIN_LOOKUP_GAP_MS) {
      throw new FriendError(`DHT lookup interval must be at least ${MIN_LOOKUP_GAP_MS / 1000} s, got ${intervalMs} ms`)
    }
    this.#node = opts.node
    this.#infoHash = opts.infoHash
    this.#port = opts.port
    this.#private = opts.private
    this.#announce = opts.announce
    this.#intervalMs = intervalMs
    this.#clock = opts.clock ?? systemClock
  }

  /** A lookup now, then one every interval. */
  start(): void {
    if (this.#running || this.#private) return
    this.#running = true
    this.#arm(this.#clock.now())
  }

  /** An extra lookup: now if the last one began a minute ago or more, else when that minute is up. */
  requestMore(): void {
    this.lookupNow()
  }

  lookupNow(): void {
    if (!this.#running) return
    const allowedAtMs = this.#lastLookupAtMs === undefined ? this.#clock.now() : this.#lastLookupAtMs + MIN_LOOKUP_GAP_MS
    if (this.#nextLookupAtMs !== undefined && this.#nextLookupAtMs <= allowedAtMs) return
    this.#arm(Math.max(this.#clock.now(), allowedAtMs))
  }

  /** Cancels the schedule; a lookup in flight ends on the node and its peers are dropped. Never rejects. */
  async stop(): Promise<void> {
    this.#running = false
    this.#againAfterFlight = false
    this.#timer?.cancel()
    this.#timer = undefined
    this.#nextLookupAtMs = undefined
  }

  #arm(atMs: number): void {
    this.#timer?.cancel()
    this.#timer = undefined
    this.#nextLookupAtMs = atMs
    const now = this.#clock.now()
    if (atMs <= now) {
      this.#lookup()
      return
    }
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined
      this.#lookup()
    }, atMs - now)
  }

  #lookup(): void {
    if (!this.#running) return
    if (this.#inFlight) {
      this.#againAfterFlight = true
      this.#nextLookupAtMs = undefined
      return
    }
    this.#inFlight = true
    this.#lastLookupAtMs = this.#clock.now()
    this.#arm(this.#lastLookupAtMs + this.#intervalMs)
    this.#run().finally(() => {
      this.#inFlight = false
      if (this.#running && this.#againAfterFlight) {
        this.#againAfterFlight = false
        this.lookupNow()
      }
    })
  }

  async #run(): Promise<void> {
    const seen = new Set<string>()
    let batch: PeerCandidate[] = []
    // One reply's values arrive as a burst of synchronous callbacks; they leave as one event.
    const flush = (): void => {
      const out = batch
      batch = []
      if (this.#running && out.length > 0) this.emit('peers', out)
    }
    const handlePeer = (peer: PeerAddress): void => {
      if (!this.#running) return
      const key = addressKey(peer)
      if (seen.has(key)) return
      seen.add(key)
      if (batch.length === 0) queueMicrotask(flush)
      batch.push({ host: peer.host, port: peer.port, source: 'dht' })
    }
    try {
      await this.#node.lookup(this.#infoHash, handlePeer)
    } catch {
      // The node is stopping or not yet started; the next scheduled lookup tries again.
      return
    }
    flush()
    if (!this.#running || !this.#announce) return
    try {
      await this.#node.announce(this.#infoHash, this.#port)
    } catch {
      // No reachable node near the torrent right now; the next lookup announces again.
    }
  }
}
