// Spreads costly handshake steps over turns of the event loop. A DH secret
// costs ~0.3 ms; 200 peers whose keys arrive in one poll phase would block the
// loop for ~100 ms (timers late, other peers unserved). Jobs run at once
// while this turn has spent less than `budgetMs` on them, else in order in
// later turns (setImmediate), `budgetMs` per turn. Order is kept: a job never
// overtakes one queued before it.
import { monotonicMs } from '../core/clock.ts'

export class TurnBudget {
  readonly #budgetMs: number
  readonly #now: () => number
  readonly #queue: (() => void)[] = []
  #turnStartMs = 0
  #turnOpen = false
  #draining = false

  /** `now`: milliseconds on a monotonic clock (tests pass their own, so a descheduled process cannot move a turn's edge). */
  constructor(budgetMs = 8, now: () => number = monotonicMs) {
    this.#budgetMs = budgetMs
    this.#now = now
  }

  /** Runs `job` now or later; `job` must handle its own errors. */
  run(job: () => void): void {
    if (this.#queue.length === 0 && this.#spentThisTurnMs() < this.#budgetMs) {
      job()
      return
    }
    this.#queue.push(job)
    if (!this.#draining) {
      this.#draining = true
      setImmediate(() => this.#drain())
    }
  }

  get queued(): number {
    return this.#queue.length
  }

  #spentThisTurnMs(): number {
    const now = this.#now()
    if (!this.#turnOpen) {
      this.#turnOpen = true
      this.#turnStartMs = now
      setImmediate(() => (this.#turnOpen = false))
    }
    return now - this.#turnStartMs
  }

  #drain(): void {
    const start = this.#now()
    while (this.#queue.length > 0 && this.#now() - start < this.#budgetMs) this.#queue.shift()!()
    if (this.#queue.length > 0) setImmediate(() => this.#drain())
    else this.#draining = false
  }
}
