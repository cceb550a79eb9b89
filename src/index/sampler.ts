// BEP 51 sampling: sends sample_infohashes (toward a random target) to the
// nodes whose turn has come in the node table, offers every hash to staging
// (marked with the node that gave it), adds the nodes named in each reply,
// and schedules the node's next sample from its `interval` (node-table.ts;
// a node that keeps returning new hashes is sampled sooner, and that is
// logged once when it starts). Holds back while staging is full.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../core/clock.ts'
import { errorMessage } from '../core/types.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import type { CrawlCounters } from './crawl-stats.ts'
import type { CrawlDht } from './crawl-dht.ts'
import { EAGER_RESAMPLE_MS, type CrawlNode, type NodeTable } from './node-table.ts'
import type { Staging } from './staging.ts'

export interface SamplerOptions {
  dht: CrawlDht
  table: NodeTable
  staging: Staging
  nodeBreaker: CircuitBreaker
  clock: Clock
  counters: CrawlCounters
  log: (line: string) => void
  /** sample_infohashes queries in flight at once. */
  maxInFlight?: number
}

export class Sampler {
  readonly #o: SamplerOptions
  readonly #maxInFlight: number
  readonly #inFlight = new Set<string>()
  /** Nodes being sampled sooner than they ask (logged once when that starts). */
  readonly #eager = new Set<string>()
  #stopped = false

  constructor(opts: SamplerOptions) {
    this.#o = opts
    this.#maxInFlight = opts.maxInFlight ?? 16
  }

  get inFlight(): number {
    return this.#inFlight.size
  }

  stop(): void {
    this.#stopped = true
  }

  tick(): void {
    if (this.#stopped || this.#o.staging.full) return
    const room = this.#maxInFlight - this.#inFlight.size
    if (room <= 0) return
    const now = this.#o.clock.now()
    const due = this.#o.table.due(now, room, (key) => !this.#inFlight.has(key) && this.#o.nodeBreaker.allows(key, now))
    for (const node of due) this.#sample(node)
  }

  #sample(node: CrawlNode): void {
    const { dht, table, staging, nodeBreaker, clock, counters } = this.#o
    this.#inFlight.add(node.key)
    dht.sampleInfohashes(node, randomBytes(20)).then(
      (reply) => {
        this.#inFlight.delete(node.key)
        if (this.#stopped) return
        const now = clock.now()
        nodeBreaker.success(node.key)
        counters.samples++
        table.add(reply.nodes, now)
        let fresh = 0
        for (const hash of reply.samples) {
          counters.seen++
          const result = staging.offer(hash.toString('hex'), node, now)
          if (result === 'queued') fresh++
          else if (result === 'dropped') counters.dropped++
        }
        const decision = table.recordSample(node.key, reply, fresh, now)
        if (decision?.eager && !this.#eager.has(node.key)) {
          this.#eager.add(node.key)
          this.#o.log(
            `sampling ${node.key} again in ${Math.round(EAGER_RESAMPLE_MS / 60_000)} min, sooner than the ${formatSeconds(reply.intervalSeconds)} it asks: its last samples were mostly new (it holds ${reply.num})`,
          )
        } else if (decision && !decision.eager) this.#eager.delete(node.key)
      },
      (err: unknown) => {
        this.#inFlight.delete(node.key)
        if (this.#stopped) return
        const now = clock.now()
        if (/does not support sample_infohashes|answered error/.test(errorMessage(err))) table.recordNoSupport(node.key, now)
        else {
          nodeBreaker.failure(node.key, now)
          table.recordFailure(node.key, now)
        }
      },
    )
  }
}

function formatSeconds(s: number): string {
  if (s >= 3600) return `${+(s / 3600).toFixed(1)} h`
  if (s >= 60) return `${Math.round(s / 60)} min`
  return `${s} s`
}
