// The crawler's own table of DHT nodes, far larger than a routing table's
// k-buckets: every node the walk or a reply named, with when it may be sampled
// next (BEP 51). Pure: the caller passes the time; bounded (new nodes are
// refused when full, after the ones that never answered are dropped).
//
// The sampling schedule honours each node's `interval`. Most nodes ask for
// 6 h; a node that keeps returning mostly new hashes (half or more new in its
// last two samples, while holding more than it sent) is sampled again sooner,
// after EAGER_RESAMPLE_MS, and the caller is told so it can log it.
import type { NodeContact, SampleReply } from '../discovery/bep51.ts'

export const EAGER_RESAMPLE_MS = 5 * 60_000
/** A node without BEP 51 is asked again only after this long (it may upgrade). */
const NO_SUPPORT_RETRY_MS = 6 * 60 * 60_000
/** Samples in a row, mostly new, before a node is sampled sooner than it asks. */
const EAGER_STREAK = 2

export interface CrawlNode {
  key: string
  host: string
  port: number
  /** When it may be sampled next. */
  nextSampleAtMs: number
  /** Samples in a row that were mostly new. */
  newStreak: number
  /** Whether it ever answered us. */
  answered: boolean
  /** Set once it is known to answer sample_infohashes. */
  samples: boolean
  addedAtMs: number
}

export interface ScheduleDecision {
  nextSampleAtMs: number
  /** Sampled sooner than its interval because it keeps returning new hashes. */
  eager: boolean
}

export class NodeTable {
  readonly #maxNodes: number
  readonly #minIntervalMs: number
  readonly #nodes = new Map<string, CrawlNode>()

  /** `minIntervalMs`: the soonest a node is sampled again whatever it asks (interval 0 would mean "any time"). */
  constructor(opts: { maxNodes?: number; minIntervalMs?: number } = {}) {
    this.#maxNodes = opts.maxNodes ?? 20_000
    this.#minIntervalMs = opts.minIntervalMs ?? 60_000
  }

  get size(): number {
    return this.#nodes.size
  }

  get(key: string): CrawlNode | undefined {
    return this.#nodes.get(key)
  }

  /** Adds the nodes not known yet (due for sampling at once); returns how many were new. */
  add(contacts: NodeContact[], nowMs: number): number {
    let added = 0
    for (const c of contacts) {
      const key = `${c.host}:${c.port}`
      if (this.#nodes.has(key)) continue
      if (this.#nodes.size >= this.#maxNodes && !this.#evictSilent()) break
      this.#nodes.set(key, { key, host: c.host, port: c.port, nextSampleAtMs: nowMs, newStreak: 0, answered: false, samples: false, addedAtMs: nowMs })
      added++
    }
    return added
  }

  remove(key: string): void {
    this.#nodes.delete(key)
  }

  /** Up to `max` nodes whose sample is due, the longest-waiting first. */
  due(nowMs: number, max: number, allowed: (key: string) => boolean): CrawlNode[] {
    const out: CrawlNode[] = []
    for (const node of this.#nodes.values()) {
      if (node.nextSampleAtMs <= nowMs && allowed(node.key)) out.push(node)
    }
    out.sort((a, b) => a.nextSampleAtMs - b.nextSampleAtMs)
    return out.slice(0, max)
  }

  /** Up to `n` nodes chosen at random (for find_node toward random targets). */
  random(n: number): CrawlNode[] {
    const all = [...this.#nodes.values()]
    const out: CrawlNode[] = []
    for (let i = 0; i < n && all.length > 0; i++) out.push(all.splice(Math.floor(Math.random() * all.length), 1)[0])
    return out
  }

  /** Any answer from the node (find_node, get_peers): it is alive. */
  markAnswered(key: string): void {
    const node = this.#nodes.get(key)
    if (node) node.answered = true
  }

  /** A sample came back with `newCount` hashes we had not seen: when to sample it next. */
  recordSample(key: string, reply: SampleReply, newCount: number, nowMs: number): ScheduleDecision | undefined {
    const node = this.#nodes.get(key)
    if (!node) return undefined
    node.answered = true
    node.samples = true
    const mostlyNew = reply.samples.length > 0 && newCount * 2 >= reply.samples.length && reply.num > reply.samples.length
    node.newStreak = mostlyNew ? node.newStreak + 1 : 0
    const askedMs = Math.max(this.#minIntervalMs, reply.intervalSeconds * 1000)
    const eager = node.newStreak >= EAGER_STREAK && askedMs > EAGER_RESAMPLE_MS
    node.nextSampleAtMs = nowMs + (eager ? Math.max(this.#minIntervalMs, EAGER_RESAMPLE_MS) : askedMs)
    return { nextSampleAtMs: node.nextSampleAtMs, eager }
  }

  /** The node answered, but not with samples: it has no BEP 51. */
  recordNoSupport(key: string, nowMs: number): void {
    const node = this.#nodes.get(key)
    if (!node) return
    node.answered = true
    node.nextSampleAtMs = nowMs + NO_SUPPORT_RETRY_MS
  }

  /** The sample query failed (timeout, error): try again after the minimum interval (the breaker decides beyond that). */
  recordFailure(key: string, nowMs: number): void {
    const node = this.#nodes.get(key)
    if (node) node.nextSampleAtMs = nowMs + this.#minIntervalMs
  }

  /** Drops one node that never answered; false when every node has answered. */
  #evictSilent(): boolean {
    for (const [key, node] of this.#nodes) {
      if (!node.answered) {
        this.#nodes.delete(key)
        return true
      }
    }
    return false
  }

  /** Idle clean-up: nodes that never answered within `silentMs` of being added go. */
  prune(nowMs: number, silentMs: number, isOpen: (key: string) => boolean): number {
    let removed = 0
    for (const [key, node] of this.#nodes) {
      if ((!node.answered && nowMs - node.addedAtMs > silentMs) || isOpen(key)) {
        this.#nodes.delete(key)
        removed++
      }
    }
    return removed
  }
}
