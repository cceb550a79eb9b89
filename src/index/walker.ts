// The routing-table walk: find_node toward random targets, sent to nodes
// taken at random from the crawler's node table (the bootstrap nodes while it
// is empty), every node named in a reply added to the table. It walks fast
// until the table holds `targetNodes`, then slowly, to keep finding nodes
// that joined. A node that fails counts against its circuit breaker.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../core/clock.ts'
import type { PeerAddress } from '../core/types.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import type { CrawlDht } from './crawl-dht.ts'
import type { NodeTable } from './node-table.ts'

export interface WalkerOptions {
  dht: CrawlDht
  table: NodeTable
  nodeBreaker: CircuitBreaker
  clock: Clock
  bootstrap: PeerAddress[]
  /** find_node queries in flight at once. */
  maxInFlight?: number
  /** Walk at full speed below this many known nodes. */
  targetNodes?: number
  /** Above it, one query per this long. */
  slowEveryMs?: number
}

/** With an empty table the bootstrap nodes are asked again after this long. */
const REBOOTSTRAP_MS = 30_000

export class Walker {
  readonly #o: Required<WalkerOptions>
  #inFlight = 0
  #lastQueryAtMs = -Infinity
  #lastBootstrapAtMs = -Infinity
  #stopped = false

  constructor(opts: WalkerOptions) {
    this.#o = { maxInFlight: 4, targetNodes: 2000, slowEveryMs: 5000, ...opts }
  }

  get inFlight(): number {
    return this.#inFlight
  }

  stop(): void {
    this.#stopped = true
  }

  tick(): void {
    if (this.#stopped) return
    const { table, dht, clock } = this.#o
    const now = clock.now()
    if (table.size === 0 && now - this.#lastBootstrapAtMs >= REBOOTSTRAP_MS) {
      this.#lastBootstrapAtMs = now
      table.add(dht.routingNodes(), now)
      for (const node of this.#o.bootstrap) this.#ask(node)
      return
    }
    const slow = table.size >= this.#o.targetNodes
    while (this.#inFlight < this.#o.maxInFlight && table.size > 0) {
      if (slow && now - this.#lastQueryAtMs < this.#o.slowEveryMs) return
      const [node] = table.random(1)
      if (!this.#o.nodeBreaker.allows(node.key, now)) return
      this.#ask(node)
    }
  }

  #ask(node: PeerAddress): void {
    const { dht, table, nodeBreaker, clock } = this.#o
    const key = `${node.host}:${node.port}`
    this.#inFlight++
    this.#lastQueryAtMs = clock.now()
    dht.findNode(node, randomBytes(20)).then(
      (nodes) => {
        this.#inFlight--
        if (this.#stopped) return
        nodeBreaker.success(key)
        table.add([node], clock.now())
        table.markAnswered(key)
        table.add(nodes, clock.now())
      },
      () => {
        this.#inFlight--
        if (!this.#stopped) nodeBreaker.failure(key, clock.now())
      },
    )
  }
}
