// The crawler's counters and its one log line a minute: hashes seen, new,
// fetched, failed, the rate per minute since the last line, queue depths and
// the database's size; and the same as one object for a session's `status`
// (rates over the last minute, from samples the crawler's tick records).
// Pure: the caller passes the time and the gauges.

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

/** A running crawl's figures, as a session's `status` answers them under `crawl` (documented in the README). */
export interface CrawlStatus {
  counters: CrawlCounters
  /** Over the last minute (since the start in the first minute). */
  perMinute: { seen: number; fetched: number }
  gauges: CrawlGauges
  /** The crawl stopped itself (its database failed); the figures are its last. */
  stopped: boolean
}

/** Rate samples are this far apart at least, and kept for a minute. */
const SAMPLE_EVERY_MS = 5_000
const RATE_WINDOW_MS = 60_000

interface RateSample {
  atMs: number
  seen: number
  fetched: number
}

export function emptyCounters(): CrawlCounters {
  return { seen: 0, new: 0, fetched: 0, failed: 0, dropped: 0, mismatched: 0, samples: 0 }
}

export class CrawlStats {
  readonly counters = emptyCounters()
  #last = emptyCounters()
  #lastAtMs: number
  /** Oldest first; the first is at most a sample's spacing older than the window. */
  #samples: RateSample[]

  constructor(nowMs: number) {
    this.#lastAtMs = nowMs
    this.#samples = [{ atMs: nowMs, seen: 0, fetched: 0 }]
  }

  /** Records the counters for the minute's rates (cheap: call it on every tick). */
  sample(nowMs: number): void {
    if (nowMs - this.#samples[this.#samples.length - 1].atMs < SAMPLE_EVERY_MS) return
    this.#samples.push({ atMs: nowMs, seen: this.counters.seen, fetched: this.counters.fetched })
    while (this.#samples.length > 2 && this.#samples[1].atMs <= nowMs - RATE_WINDOW_MS) this.#samples.shift()
  }

  /** Hashes seen and metadata fetched per minute over the last minute or so. */
  perMinute(nowMs: number): CrawlStatus['perMinute'] {
    const oldest = this.#samples[0]
    const minutes = Math.max(1 / 60, (nowMs - oldest.atMs) / 60_000)
    return { seen: Math.round((this.counters.seen - oldest.seen) / minutes), fetched: Math.round((this.counters.fetched - oldest.fetched) / minutes) }
  }

  status(nowMs: number, gauges: CrawlGauges, stopped: boolean): CrawlStatus {
    return { counters: { ...this.counters }, perMinute: this.perMinute(nowMs), gauges, stopped }
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
