// The DHT crawler: hash collector → metadata collector → storage, each stage
// on its own, bounded queues between them, driven by one tick so every input
// is handled in turn:
//   walker (find_node, random targets) and sampler (BEP 51) → staging (skip
//   what is in flight; one storedAmong + one claim per batch) → fetch pool
//   (get_peers to the node that named the hash, BEP 9 from its peers, limits,
//   timeouts, retries with backoff, circuit breakers) → persister (batched
//   inserts). One log line a minute (crawl-stats.ts).
// It runs over a DHT node and a store the caller opened and still owns: stop()
// leaves both open. A store error stops the crawl with one 'error' line.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { newPeerId } from '../core/peer-id.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { errorMessage, type PeerAddress } from '../core/types.ts'
import { CircuitBreaker } from './circuit-breaker.ts'
import type { CrawlDht } from './crawl-dht.ts'
import { CrawlStats, type CrawlCounters, type CrawlGauges, type CrawlStatus } from './crawl-stats.ts'
import { FetchLimits } from './fetch-limits.ts'
import { FetchPool } from './fetch-pool.ts'
import type { IndexStore } from './index-store.ts'
import { indexedTorrent } from './indexed-torrent.ts'
import { NodeTable } from './node-table.ts'
import { Persister } from './persister.ts'
import { Sampler } from './sampler.ts'
import { Staging } from './staging.ts'
import { Walker } from './walker.ts'

export interface CrawlTuning {
  /** Every stage is driven from this tick. */
  tickMs: number
  statsIntervalMs: number
  /** The soonest a node is sampled again, whatever its interval. */
  minSampleIntervalMs: number
  maxNodes: number
  maxSampleQueries: number
  maxWalkQueries: number
  /** Hashes waiting in staging at most. */
  stagingCapacity: number
  /** Hashes one node may have waiting or in flight at once (a node that floods gets no more). */
  maxHashesPerNode: number
  /** Claimed hashes waiting for a lookup or a fetch at most. */
  fetchQueueCapacity: number
  maxLookups: number
  maxFetches: number
  maxConnections: number
  maxConnectionsPerIp: number
  maxPeersPerFetch: number
  fetchTimeoutMs: number
  connectTimeoutMs: number
  maxAttempts: number
  retryBaseMs: number
  storeBatchSize: number
}

export const DEFAULT_TUNING: CrawlTuning = {
  tickMs: 200,
  statsIntervalMs: 60_000,
  minSampleIntervalMs: 60_000,
  maxNodes: 20_000,
  maxSampleQueries: 16,
  maxWalkQueries: 4,
  stagingCapacity: 5000,
  maxHashesPerNode: 200,
  fetchQueueCapacity: 1000,
  maxLookups: 16,
  maxFetches: 32,
  maxConnections: 96,
  maxConnectionsPerIp: 4,
  maxPeersPerFetch: 4,
  fetchTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  maxAttempts: 3,
  retryBaseMs: 60_000,
  storeBatchSize: 100,
}

export interface CrawlerOptions {
  dht: CrawlDht
  store: IndexStore
  bootstrap: PeerAddress[]
  log: (line: string) => void
  /** This crawler's name in claims (PostgreSQL: which crawler holds a hash). */
  worker?: string
  clock?: Clock
  tuning?: Partial<CrawlTuning>
}

export interface CrawlerEvents {
  /** The store failed: the crawl has stopped itself; one line a person can act on. */
  error: [message: string]
  /** A torrent was written to the store. */
  stored: [infoHash: string]
}

export class Crawler extends TypedEmitter<CrawlerEvents> {
  readonly #store: IndexStore
  readonly #clock: Clock
  readonly #log: (line: string) => void
  readonly #tuning: CrawlTuning
  readonly #stats: CrawlStats
  readonly #table: NodeTable
  readonly #nodeBreaker = new CircuitBreaker()
  readonly #peerBreaker = new CircuitBreaker({ failuresToOpen: 2 })
  readonly #walker: Walker
  readonly #sampler: Sampler
  readonly #staging: Staging
  readonly #pool: FetchPool
  readonly #persister: Persister
  readonly #worker: string
  #tick: TimerHandle | undefined
  #statsTimer: TimerHandle | undefined
  #stopPromise: Promise<void> | undefined
  #stopped = false
  #busy = false
  #failed = false
  #databaseBytes = 0
  /** The database's size was read at least once (after each write, and once for the first status). */
  #databaseMeasured = false
  /** Fetched dicts being turned into records (async), counted in the store queue. */
  #converting = 0

  constructor(opts: CrawlerOptions) {
    super()
    const t = { ...DEFAULT_TUNING, ...opts.tuning }
    this.#tuning = t
    this.#store = opts.store
    this.#clock = opts.clock ?? systemClock
    this.#log = opts.log
    this.#worker = opts.worker ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.#stats = new CrawlStats(this.#clock.now())
    this.#table = new NodeTable({ maxNodes: t.maxNodes, minIntervalMs: t.minSampleIntervalMs })
    this.#staging = new Staging(opts.store, this.#worker, { maxPending: t.stagingCapacity, maxPerNode: t.maxHashesPerNode })
    const common = { dht: opts.dht, table: this.#table, nodeBreaker: this.#nodeBreaker, clock: this.#clock }
    this.#walker = new Walker({ ...common, bootstrap: opts.bootstrap, maxInFlight: t.maxWalkQueries })
    this.#sampler = new Sampler({ ...common, staging: this.#staging, counters: this.#stats.counters, log: opts.log, maxInFlight: t.maxSampleQueries })
    this.#pool = new FetchPool({
      dht: opts.dht,
      limits: new FetchLimits(t.maxConnections, t.maxConnectionsPerIp),
      nodeBreaker: this.#nodeBreaker,
      peerBreaker: this.#peerBreaker,
      peerId: newPeerId(),
      clock: this.#clock,
      queueCapacity: t.fetchQueueCapacity,
      maxLookups: t.maxLookups,
      maxFetches: t.maxFetches,
      fetchTimeoutMs: t.fetchTimeoutMs,
      connectTimeoutMs: t.connectTimeoutMs,
      maxPeersPerFetch: t.maxPeersPerFetch,
      maxAttempts: t.maxAttempts,
      retryBaseMs: t.retryBaseMs,
    })
    this.#pool.on('fetched', (hash, dict) => this.#handleFetched(hash, dict))
    this.#pool.on('failed', (hash, reason, mismatched) => this.#handleFailed(hash, reason, mismatched))
    this.#persister = new Persister(opts.store, { batchSize: t.storeBatchSize })
  }

  get counters(): Readonly<CrawlCounters> {
    return this.#stats.counters
  }

  gauges(): CrawlGauges {
    return {
      nodes: this.#table.size,
      staging: this.#staging.pending,
      lookups: this.#pool.lookups,
      fetchQueue: this.#pool.queued,
      fetching: this.#pool.fetching,
      storing: this.#persister.size + this.#converting,
      databaseBytes: this.#databaseBytes,
    }
  }

  start(): void {
    if (this.#tick || this.#stopped) return
    this.#tick = this.#clock.setInterval(() => void this.#handleTick(), this.#tuning.tickMs)
    this.#statsTimer = this.#clock.setInterval(() => void this.#logStats(), this.#tuning.statsIntervalMs)
    void this.#handleTick()
  }

  /** Stops every stage, writes what was fetched, gives back unfinished claims. The DHT node and the store stay open. */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop()
    return this.#stopPromise
  }

  async #stop(): Promise<void> {
    this.#stopped = true
    this.#tick?.cancel()
    this.#statsTimer?.cancel()
    this.#walker.stop()
    this.#sampler.stop()
    const unfinished = new Set([...this.#pool.stop(), ...this.#staging.inFlightHashes()])
    // Records still being converted land in the persister within a turn or two.
    while (this.#converting > 0) await new Promise((resolve) => setImmediate(resolve))
    try {
      await this.#persister.flushAll(this.#clock.now())
      await Promise.all([...unfinished].map((h) => this.#store.release(h, this.#worker)))
    } catch (err) {
      this.#reportOnce(err)
    }
  }

  /** The minute's line, now (the crawl command prints one more when it stops). */
  statsLine(): string {
    return this.#stats.line(this.#clock.now(), this.gauges())
  }

  /** The counters, rates and gauges as one object (a session's `status`); works after a stop too. */
  async status(): Promise<CrawlStatus> {
    if (!this.#databaseMeasured && !this.#stopped) await this.#measureDatabase().catch(() => {})
    return this.#stats.status(this.#clock.now(), this.gauges(), this.#failed)
  }

  async #measureDatabase(): Promise<void> {
    this.#databaseBytes = await this.#store.sizeBytes()
    this.#databaseMeasured = true
  }

  async #handleTick(): Promise<void> {
    if (this.#stopped || this.#busy) return
    this.#busy = true
    try {
      this.#stats.sample(this.#clock.now())
      this.#walker.tick()
      this.#sampler.tick()
      const now = this.#clock.now()
      if (this.#staging.due(now) && this.#pool.free > 0) {
        const { claimed } = await this.#staging.flush(now, this.#pool.free)
        for (const staged of claimed) {
          this.#stats.counters.new++
          this.#pool.add(staged)
        }
      }
      this.#pool.pump()
      const written = await this.#persister.flushIfDue(this.#clock.now())
      if (written > 0) await this.#measureDatabase()
    } catch (err) {
      this.#fail(err)
    } finally {
      this.#busy = false
    }
  }

  #handleFetched(infoHash: string, infoDict: Buffer): void {
    this.#converting++
    indexedTorrent(infoDict, this.#clock.now()).then(
      (record) => {
        this.#converting--
        this.#stats.counters.fetched++
        this.#staging.finish(infoHash)
        this.#persister.add(record, this.#clock.now())
        this.emit('stored', infoHash)
      },
      (err: unknown) => {
        this.#converting--
        this.#handleFailed(infoHash, `metadata is not a usable torrent: ${errorMessage(err)}`, false)
      },
    )
  }

  #handleFailed(infoHash: string, _reason: string, mismatched: boolean): void {
    this.#stats.counters.failed++
    if (mismatched) this.#stats.counters.mismatched++
    this.#staging.finish(infoHash)
    if (!this.#stopped) this.#store.release(infoHash, this.#worker).catch((err: unknown) => this.#fail(err))
  }

  async #logStats(): Promise<void> {
    if (this.#stopped) return
    try {
      await this.#measureDatabase()
    } catch (err) {
      this.#fail(err)
      return
    }
    this.#log(this.statsLine())
    const now = this.#clock.now()
    this.#nodeBreaker.prune(now)
    this.#peerBreaker.prune(now)
    this.#table.prune(now, 10 * 60_000, (key) => !this.#nodeBreaker.allows(key, now))
  }

  #fail(err: unknown): void {
    if (this.#stopped) return
    this.#reportOnce(err)
    void this.stop()
  }

  #reportOnce(err: unknown): void {
    if (this.#failed) return
    this.#failed = true
    this.emit('error', databaseTrouble(err))
  }
}

function databaseTrouble(err: unknown): string {
  const message = errorMessage(err).replace(/\s*\n\s*/g, ' ')
  return `${/^index database\b/.test(message) ? message : `index database: ${message}`}; the crawl stopped (what was stored is kept)`
}
