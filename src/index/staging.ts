// Staging between the sampler and the lookups: hashes wait here in batches.
// A hash already in flight (waiting, being looked up or fetched) or checked a
// moment ago is skipped without a query; each batch costs one `storedAmong`
// and one `claim` call, however many hashes it holds. Hashes already stored
// are marked seen; the rest are claimed (another crawler on the same
// PostgreSQL may hold some) and handed on. Bounded: past `maxPending`, or
// past `maxPerNode` in flight from one node (a node that floods us), new
// hashes are dropped and counted.
import type { PeerAddress } from '../core/types.ts'
import type { IndexStore } from './index-store.ts'

export interface StagedHash {
  /** 40 lower-case hex characters. */
  infoHash: string
  /** The node whose sample named it: get_peers goes to it first. */
  node: PeerAddress
}

export interface StagingOptions {
  batchSize?: number
  /** A batch smaller than batchSize is flushed once its oldest hash waited this long. */
  maxBatchWaitMs?: number
  maxPending?: number
  maxPerNode?: number
  /** Hashes remembered as checked (stored, claimed elsewhere, fetched or given up), so a repeat costs no query. */
  recentCapacity?: number
}

export type OfferResult = 'queued' | 'known' | 'dropped'

export class Staging {
  readonly #store: IndexStore
  readonly #worker: string
  readonly #batchSize: number
  readonly #maxBatchWaitMs: number
  readonly #maxPending: number
  readonly #maxPerNode: number
  readonly #recentCapacity: number
  /** Waiting for the next batch: hash → the node that named it. */
  readonly #pending = new Map<string, PeerAddress>()
  /** Claimed and not yet finished: hash → the node key it counts against. */
  readonly #inFlight = new Map<string, string>()
  readonly #perNode = new Map<string, number>()
  readonly #recent = new Map<string, true>()
  #oldestPendingAtMs = 0
  #flushing = false

  constructor(store: IndexStore, worker: string, opts: StagingOptions = {}) {
    this.#store = store
    this.#worker = worker
    this.#batchSize = opts.batchSize ?? 200
    this.#maxBatchWaitMs = opts.maxBatchWaitMs ?? 500
    this.#maxPending = opts.maxPending ?? 5000
    this.#maxPerNode = opts.maxPerNode ?? 200
    this.#recentCapacity = opts.recentCapacity ?? 50_000
  }

  get pending(): number {
    return this.#pending.size
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  /** Whether the sampler should hold back: the next batch would not fit. */
  get full(): boolean {
    return this.#pending.size >= this.#maxPending
  }

  /** A sampled hash: queued for the next batch, known (in flight or checked a moment ago), or dropped (full, or its node has too many in flight). */
  offer(infoHash: string, node: PeerAddress, nowMs: number): OfferResult {
    if (this.#pending.has(infoHash) || this.#inFlight.has(infoHash) || this.#recent.has(infoHash)) return 'known'
    const nodeKey = `${node.host}:${node.port}`
    if (this.#pending.size >= this.#maxPending || (this.#perNode.get(nodeKey) ?? 0) >= this.#maxPerNode) return 'dropped'
    if (this.#pending.size === 0) this.#oldestPendingAtMs = nowMs
    this.#pending.set(infoHash, node)
    this.#perNode.set(nodeKey, (this.#perNode.get(nodeKey) ?? 0) + 1)
    return 'queued'
  }

  /** Whether a batch is ready: full, or its oldest hash has waited long enough. */
  due(nowMs: number): boolean {
    if (this.#flushing || this.#pending.size === 0) return false
    return this.#pending.size >= this.#batchSize || nowMs - this.#oldestPendingAtMs >= this.#maxBatchWaitMs
  }

  /**
   * Checks one batch of at most `room` hashes against the store and returns
   * the ones claimed for fetching (now in flight). Store errors propagate:
   * the database is in trouble and the crawl must stop.
   */
  async flush(nowMs: number, room: number): Promise<{ claimed: StagedHash[]; stored: number }> {
    if (this.#flushing || room <= 0) return { claimed: [], stored: 0 }
    this.#flushing = true
    try {
      const batch: StagedHash[] = []
      for (const [infoHash, node] of this.#pending) {
        if (batch.length >= Math.min(room, this.#batchSize)) break
        batch.push({ infoHash, node })
      }
      for (const { infoHash } of batch) this.#pending.delete(infoHash)
      // While the queries run these count as in flight, so a repeat is still skipped.
      for (const { infoHash, node } of batch) this.#inFlight.set(infoHash, `${node.host}:${node.port}`)
      this.#oldestPendingAtMs = nowMs
      const hashes = batch.map((s) => s.infoHash)
      let stored: Set<string>
      let claimed: Set<string>
      try {
        stored = await this.#store.storedAmong(hashes)
        if (stored.size > 0) await this.#store.seen([...stored])
        claimed = new Set(await this.#store.claim(hashes.filter((h) => !stored.has(h)), this.#worker))
      } catch (err) {
        for (const h of hashes) this.finish(h)
        throw err
      }
      const out: StagedHash[] = []
      for (const s of batch) {
        if (claimed.has(s.infoHash)) out.push(s)
        else this.finish(s.infoHash)
      }
      return { claimed: out, stored: stored.size }
    } finally {
      this.#flushing = false
    }
  }

  /** The hash is done with (fetched, given up, or not ours): it leaves flight and is remembered as checked. */
  finish(infoHash: string): void {
    const nodeKey = this.#inFlight.get(infoHash)
    if (nodeKey !== undefined) {
      this.#inFlight.delete(infoHash)
      const n = (this.#perNode.get(nodeKey) ?? 1) - 1
      if (n <= 0) this.#perNode.delete(nodeKey)
      else this.#perNode.set(nodeKey, n)
    }
    this.#recent.delete(infoHash)
    this.#recent.set(infoHash, true)
    if (this.#recent.size > this.#recentCapacity) this.#recent.delete(this.#recent.keys().next().value!)
  }

  /** Hashes claimed and not finished (to give back when the crawl stops). */
  inFlightHashes(): string[] {
    return [...this.#inFlight.keys()]
  }
}
