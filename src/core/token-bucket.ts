// Token-bucket rate limiting for upload/download limits: a bucket refills at
// rateBytesPerSec up to burstBytes, and a LimiterChain takes from several at
// once (global + per-torrent). Never sets a timer: callers ask waitMs() and
// schedule on their own Clock. Never reports a negative or NaN wait.
import type { Clock } from './clock.ts'
import { systemClock } from './clock.ts'

const MIN_BURST_BYTES = 64 * 1024
// Refill is computed in floating point; a wait rounded up to whole ms must
// always be enough, so tiny shortfalls from rounding count as full.
const EPSILON_BYTES = 1e-6

export class TokenBucket {
  readonly #clock: Clock
  readonly #explicitBurst: number | undefined
  #rate = 0
  #burst = MIN_BURST_BYTES
  // May go below zero after a take larger than the burst (see tryTake).
  #tokens = 0
  #lastMs: number

  constructor(rateBytesPerSec: number, burstBytes?: number, clock: Clock = systemClock) {
    if (burstBytes !== undefined && (!Number.isFinite(burstBytes) || burstBytes <= 0)) {
      throw new RangeError(`token bucket burstBytes must be a number > 0, got ${burstBytes}`)
    }
    this.#clock = clock
    this.#explicitBurst = burstBytes
    this.#lastMs = clock.now()
    this.setRate(rateBytesPerSec)
    this.#tokens = this.#burst
  }

  /** 0 means unlimited; takes effect from now, keeping tokens already earned. */
  setRate(rateBytesPerSec: number): void {
    if (!Number.isFinite(rateBytesPerSec) || rateBytesPerSec < 0) {
      throw new RangeError(`token bucket rate must be a number of bytes/s ≥ 0 (0 = unlimited), got ${rateBytesPerSec}`)
    }
    const wasUnlimited = this.#rate === 0
    this.#refill()
    this.#rate = rateBytesPerSec
    this.#burst = this.#explicitBurst ?? Math.max(rateBytesPerSec, MIN_BURST_BYTES)
    // Leaving unlimited starts with a full bucket: no debt was tracked meanwhile.
    if (wasUnlimited) this.#tokens = this.#burst
    else this.#tokens = Math.min(this.#tokens, this.#burst)
  }

  get rateBytesPerSec(): number {
    return this.#rate
  }

  /**
   * True if `bytes` may pass now (and they are taken). A request larger than
   * the burst passes once the bucket is full and leaves it in debt, so the
   * long-run rate still holds instead of such a request waiting forever.
   */
  tryTake(bytes: number): boolean {
    checkBytes(bytes)
    if (this.#rate === 0 || bytes === 0) return true
    this.#refill()
    if (this.#tokens + EPSILON_BYTES < Math.min(bytes, this.#burst)) return false
    this.#tokens -= bytes
    return true
  }

  /** Milliseconds until `bytes` would be allowed (0 if now). */
  waitMs(bytes: number): number {
    checkBytes(bytes)
    if (this.#rate === 0 || bytes === 0) return 0
    this.#refill()
    const shortBytes = Math.min(bytes, this.#burst) - this.#tokens
    if (shortBytes <= EPSILON_BYTES) return 0
    return Math.ceil((shortBytes * 1000) / this.#rate)
  }

  #refill(): void {
    const nowMs = this.#clock.now()
    const elapsedMs = nowMs - this.#lastMs
    this.#lastMs = nowMs
    if (this.#rate === 0 || !(elapsedMs > 0)) return
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#rate) / 1000)
  }
}

/** A child bucket also limited by a parent (global limit + per-torrent limit). */
export class LimiterChain {
  readonly #buckets: TokenBucket[]

  constructor(...buckets: TokenBucket[]) {
    this.#buckets = buckets
  }

  /** Takes from every bucket, or from none if any would refuse. */
  tryTake(bytes: number): boolean {
    checkBytes(bytes)
    for (const b of this.#buckets) if (b.waitMs(bytes) > 0) return false
    for (const b of this.#buckets) b.tryTake(bytes)
    return true
  }

  /** The longest wait among the buckets. */
  waitMs(bytes: number): number {
    checkBytes(bytes)
    let waitMs = 0
    for (const b of this.#buckets) waitMs = Math.max(waitMs, b.waitMs(bytes))
    return waitMs
  }
}

function checkBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`token bucket request must be a byte count ≥ 0, got ${bytes}`)
}
