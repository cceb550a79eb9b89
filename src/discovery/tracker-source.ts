// Announces one torrent to its trackers and reports the peers they return.
// Owns the whole schedule on the injected Clock: BEP 12 tier order, each
// tracker's re-announce interval, and the 15·2ⁿ retry after failures. The
// transports (http-announce, udp-announce) never schedule anything.
// Never connects to a peer; never imports torrent, peer or session.
//
// BEP 12, as implemented: each tier is shuffled once, here. Trackers are
// walked tier by tier, in tier order, and the walk stops at the first tracker
// that is not failing (answered last time, or not asked yet): that one, and
// every failing one before it, are "active" and run their own schedules. So
// we announce to one working tracker, fall through a tier only when every
// tracker in it failed, and keep retrying the failed trackers of better tiers
// on their backoff so we move back up when one recovers. A tracker that answers
// moves to the front of its tier, which leaves the failed ones behind it idle
// until it fails in turn ("from then on, this will be the order the client
// tries"). A tracker behind a working one is never dropped, only not asked.
//
// Scrape (BEP 48, BEP 15): each answer to an announce is followed by a scrape
// of the same tracker (when it can be scraped), unless the last scrape was
// less than the tracker's `min_request_interval` ago; so scrapes ride the
// announce schedule and never come more often than the tracker allows.
import { errorMessage, FriendError, addressKey, type PeerCandidate } from '../core/types.ts'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { trackerRetryDelayMs } from './backoff.ts'
import { httpAnnounce } from './http-announce.ts'
import { udpAnnounce } from './udp-announce.ts'
import { scrapeUrlFor } from './tracker-scrape.ts'
import { TrackerScraper, type TrackerScrape } from './tracker-scraper.ts'
import type { PeerSource } from './peer-source.ts'
import {
  AnnounceCancelledError,
  trackerProtocol,
  type AnnounceCall,
  type AnnounceRequest,
  type AnnounceResponse,
  type TrackerProtocol,
} from './tracker-announce.ts'

export interface AnnounceStats {
  uploaded: number
  downloaded: number
  left: number
}

export type TrackerEvent = 'started' | 'completed' | 'stopped' | 'update'

export interface TrackerStatus {
  url: string
  tier: number
  state: 'idle' | 'announcing' | 'ok' | 'error'
  lastAnnounceAtMs?: number
  nextAnnounceAtMs?: number
  failures: number
  lastError?: string
  intervalMs?: number
  seeders?: number
  leechers?: number
  peersReceived: number
  /** The last scrape's counts (BEP 48 / BEP 15), and when it answered. */
  scrape?: TrackerScrape
  /** Why the last scrape failed; cleared by the next that answers. */
  scrapeError?: string
}

export type { TrackerScrape } from './tracker-scraper.ts'

export interface TrackerSourceOptions {
  infoHash: Buffer
  peerId: Buffer
  port: number
  /** The port to announce when it is not `port` (the router's external port once mapped, as libtorrent announces); asked at each announce. */
  announcePort?: () => number
  /** BEP 12 announce-list: tiers of tracker URLs, best tier first. */
  tiers: string[][]
  /** Called at each announce. */
  getStats: () => AnnounceStats
  clock?: Clock
  numWant?: number
  announceTimeoutMs?: number
}

export type TrackerSourceEvents = {
  /** One tracker reply's peers, each address once; not emitted for an empty reply. */
  /** Every answer, even an empty one: `candidates` is this tracker's whole latest list. */
  peers: [candidates: PeerCandidate[], url: string]
  /**
   * `retryAtMs` is when this tracker's backoff ends. A failed tracker that sits
   * behind a working one in its tier (BEP 12) is only asked again once that one fails.
   */
  trackerError: [{ url: string; message: string; retryAtMs: number }]
  trackerAnnounced: [{ url: string; peers: number; intervalMs: number; seeders?: number; leechers?: number }]
}

const DEFAULT_NUM_WANT = 50
const DEFAULT_ANNOUNCE_TIMEOUT_MS = 15_000
/** BEP 3 gives no default; 30 min is what trackers commonly send. */
const DEFAULT_INTERVAL_MS = 30 * 60_000
/** Node timers longer than 2³¹-1 ms fire at once; no tracker needs more than a day anyway. */
const MAX_INTERVAL_MS = 24 * 60 * 60_000
/** Floor for every re-announce, and announceNow()'s gap when a tracker names no `min interval`. */
const MIN_ANNOUNCE_GAP_MS = 30_000
/** stop() waits this long for the 'stopped' announces, in real time so shutdown ends even under a fake clock. */
const STOP_WAIT_MS = 3_000
const INFO_HASH_BYTES = 20
const PEER_ID_BYTES = 20

interface Flight {
  call: AnnounceCall
  timeout: TimerHandle
  event: TrackerEvent
}

interface Tracker {
  url: string
  tier: number
  protocol?: TrackerProtocol
  /** Why this URL is never announced to (websocket, unknown scheme, bad URL). */
  unsupported?: string
  state: TrackerStatus['state']
  failures: number
  lastError?: string
  lastAnnounceAtMs?: number
  nextAnnounceAtMs?: number
  intervalMs?: number
  minIntervalMs?: number
  seeders?: number
  leechers?: number
  peersReceived: number
  /** Its scrapes; undefined when it cannot be scraped (BEP 48). */
  scraper?: TrackerScraper
  /** The tracker acknowledged our 'started' and has not been sent 'stopped'. */
  started: boolean
  /** An event still owed to this tracker; retried until it is acknowledged. */
  pendingEvent?: 'started' | 'completed'
  trackerId?: Uint8Array
  timer?: TimerHandle
  flight?: Flight
  /** Something asked for an announce while one was in flight. */
  againAfterFlight: boolean
}

export class TrackerSource extends TypedEmitter<TrackerSourceEvents> implements PeerSource {
  readonly kind = 'tracker'

  readonly #infoHash: Buffer
  readonly #peerId: Buffer
  readonly #port: number
  readonly #announcePort: (() => number) | undefined
  readonly #getStats: () => AnnounceStats
  readonly #clock: Clock
  readonly #numWant: number
  readonly #announceTimeoutMs: number
  /** BEP 3/15 `key`, fixed for our lifetime so trackers know us across IP changes. */
  readonly #key = (Math.random() * 0x1_0000_0000) >>> 0
  /** Tiers in their current try order (shuffled once, answering trackers moved to the front). */
  readonly #tiers: Tracker[][]
  #running = false

  constructor(opts: TrackerSourceOptions) {
    super()
    if (opts.infoHash.length !== INFO_HASH_BYTES) {
      throw new FriendError(`info hash must be ${INFO_HASH_BYTES} bytes, got ${opts.infoHash.length}`)
    }
    if (opts.peerId.length !== PEER_ID_BYTES) {
      throw new FriendError(`peer id must be ${PEER_ID_BYTES} bytes, got ${opts.peerId.length}`)
    }
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new FriendError(`listen port must be 1-65535, got ${opts.port}`)
    }
    this.#infoHash = opts.infoHash
    this.#peerId = opts.peerId
    this.#port = opts.port
    this.#announcePort = opts.announcePort
    this.#getStats = opts.getStats
    this.#clock = opts.clock ?? systemClock
    this.#numWant = opts.numWant ?? DEFAULT_NUM_WANT
    this.#announceTimeoutMs = opts.announceTimeoutMs ?? DEFAULT_ANNOUNCE_TIMEOUT_MS

    const seen = new Set<string>()
    this.#tiers = []
    for (const urls of opts.tiers) {
      const tier: Tracker[] = []
      for (const raw of urls) {
        const url = raw.trim()
        if (url.length === 0 || seen.has(url)) continue
        seen.add(url)
        const protocol = trackerProtocol(url)
        const tracker: Tracker = { url, tier: this.#tiers.length, state: 'idle', failures: 0, peersReceived: 0, started: false, againAfterFlight: false }
        if (typeof protocol === 'object') {
          tracker.unsupported = protocol.unsupported
          tracker.state = 'error'
          tracker.lastError = protocol.unsupported
        } else {
          tracker.protocol = protocol
          const scrapeUrl = scrapeUrlFor(url)
          if (scrapeUrl) tracker.scraper = new TrackerScraper(scrapeUrl, this.#infoHash, this.#clock, this.#announceTimeoutMs)
        }
        tier.push(tracker)
      }
      if (tier.length > 0) this.#tiers.push(shuffle(tier))
    }
  }

  /** Announces 'started' now (to the first tracker BEP 12 picks). */
  start(): void {
    if (this.#running) return
    this.#running = true
    for (const t of this.#supported()) {
      t.pendingEvent = 'started'
      t.failures = 0
      t.nextAnnounceAtMs = undefined
    }
    this.#reconcile()
  }

  /** Announces 'completed' now to the trackers that got 'started'. */
  complete(): void {
    if (!this.#running) return
    const active = this.#activeSet()
    for (const t of this.#supported()) {
      if (!t.started && t.flight?.event !== 'started') continue
      t.pendingEvent = 'completed'
      if (!active.has(t)) continue // sent when BEP 12 brings it back
      if (t.flight) t.againAfterFlight = true
      else if (t.failures === 0) this.#announce(t)
      // A failing tracker gets 'completed' at its retry.
    }
  }

  /**
   * An extra announce now, e.g. when out of peers. A tracker that answered is
   * asked again once its `min interval` (30 s if it gave none) since the last
   * announce has passed; a failing one keeps its backoff.
   */
  requestMore(): void {
    this.announceNow()
  }

  announceNow(): void {
    if (!this.#running) return
    const now = this.#clock.now()
    for (const t of this.#activeSet()) {
      if (t.failures > 0 || t.lastAnnounceAtMs === undefined) continue
      const allowedAtMs = t.lastAnnounceAtMs + (t.minIntervalMs ?? MIN_ANNOUNCE_GAP_MS)
      if (t.flight) {
        t.againAfterFlight = true
        continue
      }
      if (t.nextAnnounceAtMs !== undefined && t.nextAnnounceAtMs <= allowedAtMs) continue
      t.timer?.cancel()
      t.timer = undefined
      this.#arm(t, Math.max(now, allowedAtMs))
    }
  }

  /** Announces 'stopped' to the trackers that got 'started', waits at most ~3 s, cancels every timer. Never rejects. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    const owed: Tracker[] = []
    for (const t of this.#all()) {
      t.timer?.cancel()
      t.timer = undefined
      if (t.flight) {
        t.flight.timeout.cancel()
        t.flight.call.cancel()
        t.flight = undefined
      }
      t.scraper?.cancel()
      if (t.started) owed.push(t)
      t.started = false
      t.pendingEvent = undefined
      t.againAfterFlight = false
      t.nextAnnounceAtMs = undefined
      if (!t.unsupported) t.state = 'idle'
    }
    if (owed.length === 0) return

    let stats: AnnounceStats
    try {
      stats = this.#getStats()
    } catch {
      stats = { uploaded: 0, downloaded: 0, left: 0 }
    }
    const calls = owed.map((t) => {
      t.lastAnnounceAtMs = this.#clock.now()
      return this.#call(t, 'stopped', stats, 0)
    })
    let deadline: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled(calls.map((c) => c.result)),
      new Promise<void>((resolve) => (deadline = setTimeout(resolve, STOP_WAIT_MS))),
    ])
    clearTimeout(deadline)
    for (const c of calls) c.cancel()
  }

  /** Every tracker, tier by tier, each tier in its current try order. */
  status(): TrackerStatus[] {
    const out: TrackerStatus[] = []
    for (const t of this.#all()) {
      const s: TrackerStatus = { url: t.url, tier: t.tier, state: t.state, failures: t.failures, peersReceived: t.peersReceived }
      if (t.lastAnnounceAtMs !== undefined) s.lastAnnounceAtMs = t.lastAnnounceAtMs
      if (t.nextAnnounceAtMs !== undefined) s.nextAnnounceAtMs = t.nextAnnounceAtMs
      if (t.lastError !== undefined) s.lastError = t.lastError
      if (t.intervalMs !== undefined) s.intervalMs = t.intervalMs
      if (t.seeders !== undefined) s.seeders = t.seeders
      if (t.leechers !== undefined) s.leechers = t.leechers
      if (t.scraper?.latest) s.scrape = { ...t.scraper.latest }
      if (t.scraper?.error !== undefined) s.scrapeError = t.scraper.error
      out.push(s)
    }
    return out
  }

  *#all(): Iterable<Tracker> {
    for (const tier of this.#tiers) yield* tier
  }

  *#supported(): Iterable<Tracker> {
    for (const t of this.#all()) if (!t.unsupported) yield t
  }

  /** BEP 12 walk: every failing tracker up to and including the first one that is not failing. */
  #activeSet(): Set<Tracker> {
    const active = new Set<Tracker>()
    for (const t of this.#supported()) {
      active.add(t)
      if (t.failures === 0) break
    }
    return active
  }

  /** Arms every active tracker that has nothing scheduled and idles the rest. */
  #reconcile(): void {
    if (!this.#running) return
    const active = this.#activeSet()
    for (const t of this.#supported()) {
      if (active.has(t)) {
        if (!t.flight && !t.timer) this.#arm(t, t.nextAnnounceAtMs ?? this.#clock.now())
      } else {
        t.timer?.cancel()
        t.timer = undefined
        t.nextAnnounceAtMs = undefined
        if (t.state === 'ok') t.state = 'idle'
      }
    }
  }

  #arm(t: Tracker, atMs: number): void {
    const now = this.#clock.now()
    t.nextAnnounceAtMs = atMs
    if (atMs <= now) {
      this.#announce(t)
      return
    }
    t.timer = this.#clock.setTimeout(() => {
      t.timer = undefined
      this.#announce(t)
    }, atMs - now)
  }

  #announce(t: Tracker): void {
    if (!this.#running) return
    if (t.flight) {
      t.againAfterFlight = true
      return
    }
    t.timer?.cancel()
    t.timer = undefined
    const event: TrackerEvent = t.pendingEvent ?? 'update'
    const call = this.#call(t, event, this.#getStats(), this.#numWant)
    const flight: Flight = {
      call,
      event,
      timeout: this.#clock.setTimeout(
        () => this.#handleFailure(t, flight, `tracker did not answer within ${formatSeconds(this.#announceTimeoutMs)}`),
        this.#announceTimeoutMs,
      ),
    }
    t.flight = flight
    t.state = 'announcing'
    t.lastAnnounceAtMs = this.#clock.now()
    t.nextAnnounceAtMs = undefined
    call.result.then(
      (reply) => this.#handleReply(t, flight, reply),
      (err: unknown) => {
        if (!(err instanceof AnnounceCancelledError)) this.#handleFailure(t, flight, errorMessage(err))
      },
    )
  }

  #call(t: Tracker, event: TrackerEvent, stats: AnnounceStats, numWant: number): AnnounceCall {
    const request: AnnounceRequest = {
      infoHash: this.#infoHash,
      peerId: this.#peerId,
      port: this.#announcePort?.() ?? this.#port,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      left: stats.left,
      event,
      numWant,
      key: this.#key,
    }
    if (t.trackerId) request.trackerId = t.trackerId
    return t.protocol === 'udp' ? udpAnnounce(t.url, request) : httpAnnounce(t.url, request)
  }

  /** Ends `flight` if it is still the tracker's current one. */
  #land(t: Tracker, flight: Flight): boolean {
    if (t.flight !== flight) return false
    t.flight = undefined
    flight.timeout.cancel()
    return true
  }

  #handleReply(t: Tracker, flight: Flight, reply: AnnounceResponse): void {
    if (!this.#land(t, flight)) return
    const now = this.#clock.now()
    t.failures = 0
    t.state = 'ok'
    t.lastError = undefined
    t.minIntervalMs = reply.minIntervalSec ? Math.min(reply.minIntervalSec * 1000, MAX_INTERVAL_MS) : undefined
    t.intervalMs = Math.min(
      Math.max(reply.intervalSec ? reply.intervalSec * 1000 : DEFAULT_INTERVAL_MS, t.minIntervalMs ?? 0, MIN_ANNOUNCE_GAP_MS),
      MAX_INTERVAL_MS,
    )
    t.seeders = reply.seeders
    t.leechers = reply.leechers
    if (reply.trackerId) t.trackerId = reply.trackerId
    if (flight.event === 'started') t.started = true
    if (t.pendingEvent === flight.event) t.pendingEvent = undefined
    t.nextAnnounceAtMs = now + t.intervalMs
    if (t.againAfterFlight) {
      t.againAfterFlight = false
      // An owed event goes now; an extra update still keeps the tracker's minimum gap.
      const soonestMs = t.pendingEvent ? now : t.lastAnnounceAtMs! + (t.minIntervalMs ?? MIN_ANNOUNCE_GAP_MS)
      t.nextAnnounceAtMs = Math.min(t.nextAnnounceAtMs, soonestMs)
    }

    const candidates = toCandidates(reply)
    t.peersReceived += candidates.length
    // BEP 12: a tracker that answers moves to the front of its tier.
    const tier = this.#tiers[t.tier]
    const at = tier.indexOf(t)
    if (at > 0) {
      tier.splice(at, 1)
      tier.unshift(t)
    }
    this.#reconcile()

    this.emit('trackerAnnounced', {
      url: t.url,
      peers: candidates.length,
      intervalMs: t.intervalMs,
      ...(t.seeders !== undefined && { seeders: t.seeders }),
      ...(t.leechers !== undefined && { leechers: t.leechers }),
    })
    this.emit('peers', candidates, t.url)
    if (this.#running) t.scraper?.scrapeIfDue()
  }

  #handleFailure(t: Tracker, flight: Flight, message: string): void {
    if (!this.#land(t, flight)) return
    flight.call.cancel()
    t.failures += 1
    t.state = 'error'
    t.lastError = message
    t.againAfterFlight = false
    // A 'completed' queued behind a 'started' that never landed: the tracker must hear 'started' first.
    if (!t.started && t.pendingEvent === 'completed') t.pendingEvent = 'started'
    const retryAtMs = this.#clock.now() + trackerRetryDelayMs(t.failures)
    t.nextAnnounceAtMs = retryAtMs
    this.#reconcile()
    this.emit('trackerError', { url: t.url, message, retryAtMs })
  }
}

/** The reply's peers as tracker candidates, each address once. */
function toCandidates(reply: AnnounceResponse): PeerCandidate[] {
  const byKey = new Map<string, PeerCandidate>()
  for (const p of reply.peers) {
    const key = addressKey(p)
    if (!byKey.has(key)) byKey.set(key, { host: p.host, port: p.port, source: 'tracker' })
  }
  return [...byKey.values()]
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}
