// A session's background crawl in words, for `status` and the dashboard: the
// full line (the figures the crawl's minute log line gives) and a brief form
// for the status bar. Pure.
import type { CrawlStatus } from '../../index/crawl-stats.ts'
import { formatBytes } from './format.ts'

/** Counters and rates, then the queues, nodes and database size. */
export function crawlText(c: CrawlStatus): { counters: string; queues: string } {
  const { counters: n, perMinute: rate, gauges: g } = c
  return {
    counters:
      `${n.seen} hashes seen (${rate.seen}/min), ${n.new} new, ${n.fetched} fetched (${rate.fetched}/min), ${n.failed} failed` +
      (n.mismatched ? ` (${n.mismatched} metadata mismatches)` : '') +
      (n.dropped ? `, ${n.dropped} dropped` : ''),
    queues: `queues: staging ${g.staging}, lookup ${g.lookups}, fetch ${g.fetchQueue} (${g.fetching} running), store ${g.storing}; ${g.nodes} nodes; database ${formatBytes(g.databaseBytes)}`,
  }
}

/** One line: `index crawl: …; queues: …`. */
export function crawlLine(c: CrawlStatus): string {
  const { counters, queues } = crawlText(c)
  return `index crawl${c.stopped ? ' (stopped)' : ''}: ${counters}; ${queues}`
}

/** For the status bar: `index 120 fetched (+4/min)`. */
export function crawlBrief(c: CrawlStatus): string {
  return `index ${c.counters.fetched} fetched (${c.stopped ? 'stopped' : `+${c.perMinute.fetched}/min`})`
}
