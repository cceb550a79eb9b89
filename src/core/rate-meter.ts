// Bytes per second over a sliding window of one-second buckets. Cheap to
// update on every block: one addition, no allocation.
import type { Clock } from './clock.ts'
import { systemClock } from './clock.ts'

export class RateMeter {
  readonly #buckets: Float64Array
  readonly #clock: Clock
  #headSecond: number
  #total = 0

  constructor(windowSeconds = 5, clock: Clock = systemClock) {
    this.#buckets = new Float64Array(windowSeconds)
    this.#clock = clock
    this.#headSecond = Math.floor(clock.now() / 1000)
  }

  /** Total bytes ever added. */
  get total(): number {
    return this.#total
  }

  add(bytes: number): void {
    this.#advance()
    this.#buckets[this.#headSecond % this.#buckets.length] += bytes
    this.#total += bytes
  }

  /** Average bytes/second over the window (the current partial second included). */
  rateBytesPerSec(): number {
    this.#advance()
    let sum = 0
    for (const b of this.#buckets) sum += b
    const elapsedInHead = (this.#clock.now() % 1000) / 1000
    const span = this.#buckets.length - 1 + Math.max(elapsedInHead, 0.001)
    return sum / span
  }

  #advance(): void {
    const second = Math.floor(this.#clock.now() / 1000)
    if (second === this.#headSecond) return
    const steps = Math.min(second - this.#headSecond, this.#buckets.length)
    for (let i = 1; i <= steps; i++) this.#buckets[(this.#headSecond + i) % this.#buckets.length] = 0
    this.#headSecond = second
  }
}
