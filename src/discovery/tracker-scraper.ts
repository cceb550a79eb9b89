// One tracker's scrapes for one torrent, kept to the tracker's pace: scrapeIfDue()
// starts a scrape unless one is under way or the last began less than the
// tracker's BEP 48 `min_request_interval` ago; the latest counts or error are
// kept for the trackers tab. Its owner (tracker-source.ts) calls it on the
// announce schedule. Times come from the injected Clock.
import { errorMessage } from '../core/types.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { AnnounceCancelledError, type TrackerCall } from './tracker-announce.ts'
import { scrapeTracker, type ScrapeResponse } from './tracker-scrape.ts'

/** Node timers longer than 2³¹-1 ms fire at once; no tracker needs more than a day. */
const MAX_INTERVAL_MS = 24 * 60 * 60_000

export interface TrackerScrape {
  seeders: number
  leechers: number
  completed: number
  atMs: number
}

export class TrackerScraper {
  readonly #scrapeUrl: string
  readonly #infoHash: Buffer
  readonly #clock: Clock
  readonly #timeoutMs: number
  #lastAtMs: number | undefined
  #minIntervalMs = 0
  #flight: { call: TrackerCall<ScrapeResponse>; timeout: TimerHandle } | undefined
  /** The last answer's counts. */
  latest: TrackerScrape | undefined
  /** Why the last scrape failed; cleared by the next that answers. */
  error: string | undefined

  constructor(scrapeUrl: string, infoHash: Buffer, clock: Clock, timeoutMs: number) {
    this.#scrapeUrl = scrapeUrl
    this.#infoHash = infoHash
    this.#clock = clock
    this.#timeoutMs = timeoutMs
  }

  scrapeIfDue(): void {
    if (this.#flight) return
    const now = this.#clock.now()
    if (this.#lastAtMs !== undefined && now - this.#lastAtMs < this.#minIntervalMs) return
    this.#lastAtMs = now
    const call = scrapeTracker(this.#scrapeUrl, this.#infoHash)
    const flight = {
      call,
      timeout: this.#clock.setTimeout(() => {
        if (this.#flight !== flight) return
        this.cancel()
        this.error = `tracker did not answer the scrape within ${Math.round(this.#timeoutMs / 1000)} s`
      }, this.#timeoutMs),
    }
    this.#flight = flight
    call.result.then(
      (reply) => {
        if (this.#flight !== flight) return
        this.cancel()
        this.latest = { seeders: reply.seeders, leechers: reply.leechers, completed: reply.completed, atMs: this.#clock.now() }
        this.error = undefined
        if (reply.minRequestIntervalSec !== undefined) this.#minIntervalMs = Math.min(reply.minRequestIntervalSec * 1000, MAX_INTERVAL_MS)
      },
      (err: unknown) => {
        if (this.#flight !== flight || err instanceof AnnounceCancelledError) return
        this.cancel()
        this.error = errorMessage(err)
      },
    )
  }

  /** Drops a scrape under way (its socket is released now). */
  cancel(): void {
    const flight = this.#flight
    if (!flight) return
    this.#flight = undefined
    flight.timeout.cancel()
    flight.call.cancel()
  }
}
