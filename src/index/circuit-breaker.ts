// A circuit breaker per key (a DHT node's or a peer's address): after a few
// failures in a row the key is left alone for a while, the wait doubling with
// each further failure up to a cap; one success closes it again. Pure: the
// caller passes the time; the map is bounded (the oldest entry goes first).

export interface CircuitBreakerOptions {
  /** Failures in a row before the key is skipped (default 3). */
  failuresToOpen?: number
  /** The first wait once open (default 1 min); doubled per further failure. */
  baseBackoffMs?: number
  /** The longest wait (default 6 h). */
  maxBackoffMs?: number
  /** Keys remembered at most (default 50,000). */
  maxKeys?: number
}

interface Entry {
  failures: number
  /** Skipped until then (0 while closed). */
  openUntilMs: number
}

export class CircuitBreaker {
  readonly #failuresToOpen: number
  readonly #baseBackoffMs: number
  readonly #maxBackoffMs: number
  readonly #maxKeys: number
  readonly #entries = new Map<string, Entry>()

  constructor(opts: CircuitBreakerOptions = {}) {
    this.#failuresToOpen = opts.failuresToOpen ?? 3
    this.#baseBackoffMs = opts.baseBackoffMs ?? 60_000
    this.#maxBackoffMs = opts.maxBackoffMs ?? 6 * 60 * 60_000
    this.#maxKeys = opts.maxKeys ?? 50_000
  }

  /** Whether `key` may be tried now. */
  allows(key: string, nowMs: number): boolean {
    const entry = this.#entries.get(key)
    return !entry || entry.openUntilMs <= nowMs
  }

  success(key: string): void {
    this.#entries.delete(key)
  }

  /** Records a failure; true when this one opened (or re-opened) the breaker. */
  failure(key: string, nowMs: number): boolean {
    let entry = this.#entries.get(key)
    if (entry) this.#entries.delete(key)
    else entry = { failures: 0, openUntilMs: 0 }
    this.#entries.set(key, entry) // most recently touched last
    entry.failures++
    if (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!)
    const over = entry.failures - this.#failuresToOpen
    if (over < 0) return false
    entry.openUntilMs = nowMs + Math.min(this.#maxBackoffMs, this.#baseBackoffMs * 2 ** Math.min(over, 30))
    return true
  }

  /** Keys skipped now. */
  openCount(nowMs: number): number {
    let n = 0
    for (const entry of this.#entries.values()) if (entry.openUntilMs > nowMs) n++
    return n
  }

  /** Forgets closed keys whose last failure is old news (idle clean-up). */
  prune(nowMs: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.openUntilMs !== 0 && entry.openUntilMs + this.#maxBackoffMs < nowMs) this.#entries.delete(key)
    }
  }
}
