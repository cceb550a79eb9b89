// A session's background crawl (config `indexWhileRunning`): the crawler over
// the session's own DHT node at a low rate (a few queries and two metadata
// fetches at a time, a handful of connections), writing to the configured
// index. It must never cost the downloads much: if the index cannot be
// opened or fails later, it says so in one line and stops; the session goes on.
import { errorMessage, parseAddress, type PeerAddress } from '../core/types.ts'
import type { IndexBlocklist } from './blocklist.ts'
import type { CrawlDht } from './crawl-dht.ts'
import { Crawler, type CrawlTuning } from './crawler.ts'
import { openIndexStore } from './open-store.ts'

export const BACKGROUND_TUNING: Partial<CrawlTuning> = {
  maxSampleQueries: 2,
  maxWalkQueries: 1,
  maxLookups: 2,
  maxFetches: 2,
  maxConnections: 8,
  maxConnectionsPerIp: 1,
  maxPeersPerFetch: 2,
  stagingCapacity: 500,
  fetchQueueCapacity: 100,
  maxNodes: 5000,
  storeBatchSize: 50,
}

export interface BackgroundCrawl {
  crawler: Crawler
  /** Stops the crawler (before the DHT node stops), then closes the index. */
  stop(): Promise<void>
}

export async function startBackgroundCrawl(opts: {
  dht: CrawlDht
  /** "HOST:PORT" nodes the walk may start from besides the DHT node's table (unparseable ones are skipped). */
  bootstrap: string[]
  databaseSpec: string
  stateDir: string
  blocklist?: IndexBlocklist
  log: (line: string) => void
  tuning?: Partial<CrawlTuning>
}): Promise<BackgroundCrawl | undefined> {
  let store
  try {
    store = await openIndexStore(opts.databaseSpec, opts.stateDir, { blocklist: opts.blocklist })
  } catch (err) {
    opts.log(`background crawl off: ${errorMessage(err)}`)
    return undefined
  }
  const bootstrap = opts.bootstrap.flatMap((text): PeerAddress[] => {
    try {
      return [parseAddress(text)]
    } catch {
      return []
    }
  })
  const crawler = new Crawler({ dht: opts.dht, store, bootstrap, log: (line) => opts.log(`index: ${line}`), tuning: { ...BACKGROUND_TUNING, ...opts.tuning } })
  crawler.on('error', (message) => opts.log(`background crawl stopped: ${message}`))
  crawler.start()
  let stopping: Promise<void> | undefined
  return {
    crawler,
    stop: () =>
      (stopping ??= (async () => {
        await crawler.stop()
        await store.close().catch((err: unknown) => opts.log(`index: ${errorMessage(err)}`))
      })()),
  }
}
