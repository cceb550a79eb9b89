// The crawler's counters and its one log line a minute: hashes seen, new,
// fetched, failed, the rate per minute since the last line, queue depths and
// the database's size. Pure: the caller passes the time and the gauges.

export interface CrawlCounters {
  /** Info hashes received in samples (repeats included). */
  seen: number
  /** Hashes neither stored nor being fetched elsewhere: claimed for a fetch. */
  new: number
  /** Metadata fetched, checked and handed to the store. */
  fetched: number
  /** Hashes given up on (no peers, every peer failed, unusable metadata). */
  failed: number
  /** Samples dropped because a stage was full or a node sent more than its share. */
  dropped: number
  /** Metadata that did not hash to its info hash (never stored). */
  mismatched: number
  /** sample_infohashes replies received. */
  samples: number
}

export interface CrawlGauges {
  nodes: number
  staging: number
  lookups: number
  fetchQueue: number
  fetching: number
  storing: number
  databaseBytes: number
}

export function emptyCounters(): CrawlCounters {
  return { seen: 0, new: 0, fetched: 0, failed: 0, dropped: 0, mismatched: 0, samples: 0 }
}

export class CrawlStats {
  readonly counters = emptyCounters()
  #last = emptyCounters()
  #lastAtMs: number

  constructor(nowMs: number) {
    this.#lastAtMs = nowMs
  }

  /** The minute's line; the rates are over the time since the previous line. */
  line(nowMs: number, gauges: CrawlGauges): string {
    const minutes = Math.max(1 / 60, (nowMs - this.#lastAtMs) / 60_000)
    const rate = (key: keyof CrawlCounters) => Math.round((this.counters[key] - this.#last[key]) / minutes)
    const c = this.counters
    const text =
      `crawl: ${c.seen} hashes seen (${rate('seen')}/min), ${c.new} new, ${c.fetched} fetched (${rate('fetched')}/min), ${c.failed} failed` +
      (c.mismatched ? ` (${c.mismatched} metadata mismatches)` : '') +
      (c.dropped ? `, ${c.dropped} dropped` : '') +
      `; queues: staging ${gauges.staging}, lookup ${gauges.lookups}, fetch ${gauges.fetchQueue} (${gauges.fetching} running), store ${gauges.storing}` +
      `; ${gauges.nodes} nodes; database ${formatBytes(gauges.databaseBytes)}`
    this.#last = { ...c }
    this.#lastAtMs = nowMs
    return text
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}
