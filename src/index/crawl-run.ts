// A headless crawl as one unit: the crawler's own DHT node (on its port, its
// routing table kept as crawl-dht.json in the state folder, answering BEP 51
// like every node of ours) and the Crawler over it, writing to a store the
// caller opened. stop() stops the crawler, then the DHT node; the store stays
// the caller's to close.
import { join } from 'node:path'
import { errorMessage, FriendError, parseAddress, type PeerAddress } from '../core/types.ts'
import { DhtNode } from '../discovery/dht-node.ts'
import { Crawler, type CrawlTuning } from './crawler.ts'
import type { IndexStore } from './index-store.ts'

export interface CrawlRunOptions {
  store: IndexStore
  stateDir: string
  /** UDP port of the crawler's DHT node; 0 picks a free one. */
  port: number
  /** "HOST:PORT" nodes to join through. */
  bootstrap: string[]
  log: (line: string) => void
  /** The store failed and the crawl stopped itself. */
  onError: (message: string) => void
  tuning?: Partial<CrawlTuning>
}

export interface CrawlRun {
  crawler: Crawler
  /** The DHT node's bound UDP port. */
  port: number
  stop(): Promise<void>
}

/** DHT queries in flight at once for the crawl (bittorrent-dht's default is 16). */
const CRAWL_DHT_CONCURRENCY = 64

export async function startCrawlRun(opts: CrawlRunOptions): Promise<CrawlRun> {
  let bootstrap: PeerAddress[]
  try {
    bootstrap = opts.bootstrap.map((a) => parseAddress(a.trim()))
  } catch (err) {
    throw new FriendError(`bootstrap node ${errorMessage(err)}`)
  }
  const dht = new DhtNode({ port: opts.port, bootstrap: opts.bootstrap, stateFile: join(opts.stateDir, 'crawl-dht.json'), concurrency: CRAWL_DHT_CONCURRENCY })
  dht.on('warning', (m) => opts.log(/^DHT\b/.test(m) ? m : `DHT: ${m}`))
  await dht.start()
  const crawler = new Crawler({ dht, store: opts.store, bootstrap, log: opts.log, tuning: opts.tuning })
  crawler.on('error', opts.onError)
  crawler.start()
  let stopping: Promise<void> | undefined
  return {
    crawler,
    port: dht.port,
    stop: () => {
      stopping ??= crawler.stop().finally(() => dht.stop())
      return stopping
    },
  }
}
