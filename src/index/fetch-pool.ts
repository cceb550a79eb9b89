// The metadata acquisition manager: claimed hashes queue here (bounded); each
// is looked up (get_peers, peer-lookup.ts) and its info dict fetched from the
// peers found (metadata-fetch.ts), with a number of lookups and fetches at
// once, connection limits per peer IP and in total, a timeout per fetch, and
// retries with exponential backoff (a new lookup each time) before it gives
// up. It reports each hash once: fetched (the dict matched its hash) or failed.
import type { Clock } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { PeerAddress } from '../core/types.ts'
import { BoundedQueue } from './bounded-queue.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import type { CrawlDht } from './crawl-dht.ts'
import type { FetchLimits } from './fetch-limits.ts'
import { MetadataFetch } from './metadata-fetch.ts'
import { findPeers } from './peer-lookup.ts'
import type { StagedHash } from './staging.ts'

export interface FetchPoolOptions {
  dht: CrawlDht
  limits: FetchLimits
  nodeBreaker: CircuitBreaker
  peerBreaker: CircuitBreaker
  peerId: Buffer
  clock: Clock
  queueCapacity: number
  maxLookups: number
  maxFetches: number
  fetchTimeoutMs: number
  connectTimeoutMs: number
  /** Connections one fetch may hold at once. */
  maxPeersPerFetch: number
  /** Tries in all (a lookup and a fetch each). */
  maxAttempts: number
  /** The wait before the second try; doubled before each further one. */
  retryBaseMs: number
}

export interface FetchPoolEvents {
  fetched: [infoHash: string, infoDict: Buffer]
  failed: [infoHash: string, reason: string, mismatched: boolean]
}

interface Job extends StagedHash {
  attempt: number
  notBeforeMs: number
  mismatched: boolean
  /** From the last lookup, until the fetch starts. */
  peers?: PeerAddress[]
}

export class FetchPool extends TypedEmitter<FetchPoolEvents> {
  readonly #opts: FetchPoolOptions
  readonly #queue: BoundedQueue<Job>
  /** Waiting out a backoff before their next try. */
  readonly #retrying: Job[] = []
  readonly #ready: Job[] = []
  readonly #fetches = new Set<MetadataFetch>()
  #lookups = 0
  #stopped = false
  readonly #readBuffer = Buffer.allocUnsafeSlow(64 * 1024)

  constructor(opts: FetchPoolOptions) {
    super()
    this.#opts = opts
    this.#queue = new BoundedQueue(opts.queueCapacity)
  }

  /** Room for more claimed hashes. */
  get free(): number {
    return this.#queue.free - this.#retrying.length - this.#ready.length
  }

  get queued(): number {
    return this.#queue.size + this.#retrying.length + this.#ready.length
  }

  get lookups(): number {
    return this.#lookups
  }

  get fetching(): number {
    return this.#fetches.size
  }

  add(staged: StagedHash): boolean {
    if (this.free <= 0) return false
    return this.#queue.push({ ...staged, attempt: 0, notBeforeMs: 0, mismatched: false })
  }

  /** Starts what the limits allow; the owner calls it on every tick and after adding. */
  pump(): void {
    if (this.#stopped) return
    const now = this.#opts.clock.now()
    for (let i = this.#retrying.length - 1; i >= 0; i--) {
      if (this.#retrying[i].notBeforeMs <= now) this.#queue.push(this.#retrying.splice(i, 1)[0])
    }
    while (this.#lookups < this.#opts.maxLookups && this.#ready.length + this.#fetches.size < this.#opts.maxFetches * 2) {
      const job = this.#queue.shift()
      if (!job) break
      this.#lookup(job)
    }
    while (this.#fetches.size < this.#opts.maxFetches && this.#ready.length > 0) {
      this.#fetch(this.#ready.shift()!)
    }
  }

  /** Stops every lookup and fetch; returns the hashes not finished (to give back their claims). */
  stop(): string[] {
    this.#stopped = true
    for (const f of this.#fetches) f.abort()
    const left = [...this.#queue.drain(), ...this.#retrying.splice(0), ...this.#ready.splice(0)]
    return left.map((j) => j.infoHash)
  }

  #lookup(job: Job): void {
    this.#lookups++
    const { dht, nodeBreaker, clock } = this.#opts
    const infoHash = Buffer.from(job.infoHash, 'hex')
    void findPeers(dht, infoHash, job.node, nodeBreaker, clock).then((peers) => {
      this.#lookups--
      if (this.#stopped) return
      if (peers.length === 0) this.#retryOrFail(job, 'no peers found in the DHT')
      else {
        job.peers = peers
        this.#ready.push(job)
      }
      this.pump()
    })
  }

  #fetch(job: Job): void {
    const o = this.#opts
    const peers = job.peers ?? []
    const fetch = new MetadataFetch({
      infoHash: Buffer.from(job.infoHash, 'hex'),
      peers,
      peerId: o.peerId,
      limits: o.limits,
      peerBreaker: o.peerBreaker,
      clock: o.clock,
      timeoutMs: o.fetchTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      maxPeers: o.maxPeersPerFetch,
      readBuffer: this.#readBuffer,
    })
    this.#fetches.add(fetch)
    void fetch.start().then((result) => {
      this.#fetches.delete(fetch)
      if (this.#stopped) return
      if (result.ok) this.emit('fetched', job.infoHash, result.infoDict)
      else {
        job.mismatched ||= result.mismatched
        this.#retryOrFail(job, result.reason)
      }
      this.pump()
    })
  }

  #retryOrFail(job: Job, reason: string): void {
    job.attempt++
    if (job.attempt >= this.#opts.maxAttempts) {
      this.emit('failed', job.infoHash, `${reason} (after ${job.attempt} tries)`, job.mismatched)
      return
    }
    job.notBeforeMs = this.#opts.clock.now() + this.#opts.retryBaseMs * 2 ** (job.attempt - 1)
    job.peers = undefined
    this.#retrying.push(job)
  }
}
