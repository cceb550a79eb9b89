// Every peer address we could connect to, merged from all sources, with what
// we know of each: where it came from, how often connecting failed, when it
// may be tried again, and bans (per host, all ports). Our own addresses never
// enter it, whichever source names them, so we never dial ourselves.
// Pure: no timers, no sockets; the caller passes `nowMs` and acts on answers.
import type { OwnAddressCheck } from '../core/own-address.ts'
import { addressKey, type PeerCandidate, type PeerSourceKind } from '../core/types.ts'

export interface Candidate extends PeerCandidate {
  sources: Set<PeerSourceKind>
  failures: number
  nextAttemptAtMs: number
  state: 'idle' | 'connecting' | 'connected' | 'banned'
}

export interface CandidatePoolOptions {
  maxCandidates?: number
  baseRetryMs?: number
  /** Our listen addresses (see core/own-address.ts): such candidates are dropped on arrival. */
  isOwnAddress?: OwnAddressCheck
}

const DEFAULT_MAX_CANDIDATES = 2000
const DEFAULT_BASE_RETRY_MS = 30_000
const RETRY_CAP_MS = 30 * 60_000
/** A peer that failed this many times in a row is forgotten (a source may offer it again later). */
const MAX_FAILURES = 6

interface Entry extends Candidate {
  /** Connection attempts so far; 0 means never tried, which next() prefers. */
  attempts: number
}

export class CandidatePool {
  readonly #maxCandidates: number
  readonly #baseRetryMs: number
  readonly #entries = new Map<string, Entry>()
  readonly #bannedHosts = new Set<string>()
  readonly #isOwnAddress: OwnAddressCheck
  /** Addresses a handshake showed to be us (e.g. our router's external address): never candidates again. */
  readonly #selfKeys = new Set<string>()

  constructor(opts: CandidatePoolOptions = {}) {
    this.#maxCandidates = opts.maxCandidates ?? DEFAULT_MAX_CANDIDATES
    this.#baseRetryMs = opts.baseRetryMs ?? DEFAULT_BASE_RETRY_MS
    this.#isOwnAddress = opts.isOwnAddress ?? (() => false)
  }

  /** Returns how many are new. A candidate already known gains the new source. Banned hosts and our own addresses are ignored. */
  add(candidates: PeerCandidate[], nowMs: number): number {
    let added = 0
    for (const c of candidates) {
      if (this.#bannedHosts.has(c.host)) continue
      const key = addressKey(c)
      if (this.#selfKeys.has(key) || this.#isOwnAddress(c.host, c.port)) continue
      const known = this.#entries.get(key)
      if (known) {
        known.sources.add(c.source)
        continue
      }
      if (this.#entries.size >= this.#maxCandidates && !this.#evictOne()) continue
      this.#entries.set(key, {
        host: c.host,
        port: c.port,
        source: c.source,
        sources: new Set([c.source]),
        failures: 0,
        nextAttemptAtMs: nowMs,
        state: 'idle',
        attempts: 0,
      })
      added++
    }
    return added
  }

  /**
   * `candidates` is the source's latest full list: candidates it no longer
   * returns lose that source, and an idle one left with no source leaves the
   * pool. Connecting and connected ones stay until that ends.
   */
  replaceFromSource(kind: PeerSourceKind, candidates: PeerCandidate[], nowMs: number): void {
    this.add(candidates, nowMs)
    const current = new Set<string>()
    for (const c of candidates) current.add(addressKey(c))
    for (const [key, e] of this.#entries) {
      if (current.has(key) || !e.sources.has(kind)) continue
      this.#dropSource(e, kind)
      if (e.sources.size === 0 && (e.state === 'idle' || e.state === 'banned')) this.#entries.delete(key)
    }
  }

  /**
   * The idle candidate to dial now: never tried first, then fewest failures,
   * then the one waiting longest. Marks it 'connecting'.
   */
  next(nowMs: number): Candidate | undefined {
    let best: Entry | undefined
    for (const e of this.#entries.values()) {
      if (e.state !== 'idle' || e.nextAttemptAtMs > nowMs) continue
      if (!best || isBetter(e, best)) best = e
    }
    if (!best) return undefined
    best.state = 'connecting'
    best.attempts++
    return best
  }

  markConnected(key: string): void {
    const e = this.#entries.get(key)
    if (!e || e.state === 'banned') return
    e.state = 'connected'
    e.failures = 0
  }

  /**
   * A dial (or a young connection) failed: back to idle after a backoff of
   * baseRetryMs·2^(failures-1), capped at 30 min; forgotten after 6 failures.
   * A failure reported for a candidate that is already idle is ignored.
   */
  markFailed(key: string, nowMs: number): void {
    const e = this.#entries.get(key)
    if (!e || e.state === 'banned' || e.state === 'idle') return
    e.failures++
    if (e.failures >= MAX_FAILURES || e.sources.size === 0) {
      this.#entries.delete(key)
      return
    }
    e.state = 'idle'
    e.nextAttemptAtMs = nowMs + Math.min(this.#baseRetryMs * 2 ** (e.failures - 1), RETRY_CAP_MS)
  }

  /** next() handed it out but the owner could not dial it now (e.g. its host has all its slots): idle again, no backoff. */
  putBack(key: string): void {
    const e = this.#entries.get(key)
    if (!e || e.state !== 'connecting') return
    e.state = 'idle'
    e.attempts--
  }

  /** A connection ended: the peer may be dialled again after baseRetryMs (it may have just dropped us). */
  markDisconnected(key: string, nowMs: number): void {
    const e = this.#entries.get(key)
    if (!e || e.state === 'banned') return
    if (e.sources.size === 0) {
      this.#entries.delete(key)
      return
    }
    e.state = 'idle'
    e.nextAttemptAtMs = nowMs + this.#baseRetryMs
  }

  /** The owner wants peers again (e.g. more files chosen): idle candidates that never failed are ready now. */
  wakeIdle(nowMs: number): void {
    for (const e of this.#entries.values()) if (e.state === 'idle' && e.failures === 0) e.nextAttemptAtMs = nowMs
  }

  /** `key` turned out to be us (the peer id in its handshake was ours): forgotten, and refused from every source from now on. */
  markSelf(key: string): void {
    this.#selfKeys.add(key)
    this.#entries.delete(key)
  }

  /** Bans the candidate's host on every port, now and for candidates added later. */
  ban(key: string): void {
    const e = this.#entries.get(key)
    const host = e?.host ?? hostOfKey(key)
    if (host === undefined) return
    this.banHost(host)
  }

  /** Bans a host on every port (a person's ban, or one for bad pieces). */
  banHost(host: string): void {
    this.#bannedHosts.add(host)
    for (const other of this.#entries.values()) if (other.host === host) other.state = 'banned'
  }

  /** Lifts a ban: the host's candidates are idle again and may be dialled at once. */
  unbanHost(host: string, nowMs: number): void {
    if (!this.#bannedHosts.delete(host)) return
    for (const e of this.#entries.values()) {
      if (e.host !== host || e.state !== 'banned') continue
      e.state = 'idle'
      e.failures = 0
      e.nextAttemptAtMs = nowMs
    }
  }

  isBanned(host: string): boolean {
    return this.#bannedHosts.has(host)
  }

  get(key: string): Candidate | undefined {
    return this.#entries.get(key)
  }

  /** Idle candidates that next() could return now. */
  readyCount(nowMs: number): number {
    let n = 0
    for (const e of this.#entries.values()) if (e.state === 'idle' && e.nextAttemptAtMs <= nowMs) n++
    return n
  }

  /** The earliest time an idle candidate becomes ready (possibly already past), or undefined if none is idle. */
  nextReadyAtMs(): number | undefined {
    let soonest: number | undefined
    for (const e of this.#entries.values()) {
      if (e.state === 'idle' && (soonest === undefined || e.nextAttemptAtMs < soonest)) soonest = e.nextAttemptAtMs
    }
    return soonest
  }

  size(): number {
    return this.#entries.size
  }

  #dropSource(e: Entry, kind: PeerSourceKind): void {
    e.sources.delete(kind)
    if (e.source === kind) {
      const [remaining] = e.sources
      if (remaining !== undefined) e.source = remaining
    }
  }

  /** Makes room when full by forgetting the idle candidate that failed most; false if none has failed. */
  #evictOne(): boolean {
    let worstKey: string | undefined
    let worst: Entry | undefined
    for (const [key, e] of this.#entries) {
      if (e.state !== 'idle' || e.failures === 0) continue
      if (!worst || e.failures > worst.failures) {
        worst = e
        worstKey = key
      }
    }
    if (worstKey === undefined) return false
    this.#entries.delete(worstKey)
    return true
  }
}

function isBetter(a: Entry, b: Entry): boolean {
  const aFresh = a.attempts === 0
  const bFresh = b.attempts === 0
  if (aFresh !== bFresh) return aFresh
  if (a.failures !== b.failures) return a.failures < b.failures
  return a.nextAttemptAtMs < b.nextAttemptAtMs
}

/** The host part of an addressKey ("1.2.3.4:5" or "[v6]:5"). */
function hostOfKey(key: string): string | undefined {
  const m = /^\[([^\]]+)\]:\d+$/.exec(key) ?? /^([^:]+):\d+$/.exec(key)
  return m?.[1]
}
