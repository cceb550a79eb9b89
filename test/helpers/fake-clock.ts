// A clock for tests that moves only when told to: schedules (tracker backoff,
// choking, timeouts, rate limits) are driven by hand instead of by sleeping.
import { systemClock, type Clock, type TimerHandle } from '../../src/core/clock.ts'

/** A clock that moves only when told to; timers fire in time order. */
export class FakeClock implements Clock {
  #now: number
  #seq = 0
  #timers = new Map<number, { at: number; fn: () => void; periodMs?: number }>()

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = ++this.#seq
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), fn })
    return { cancel: () => this.#timers.delete(id) }
  }

  setInterval(fn: () => void, periodMs: number): TimerHandle {
    const id = ++this.#seq
    this.#timers.set(id, { at: this.#now + Math.max(1, periodMs), fn, periodMs: Math.max(1, periodMs) })
    return { cancel: () => this.#timers.delete(id) }
  }

  /** Number of timers waiting to fire. */
  pending(): number {
    return this.#timers.size
  }

  /** When the next timer fires, or undefined if none is set. */
  nextAt(): number | undefined {
    let next: number | undefined
    for (const t of this.#timers.values()) if (next === undefined || t.at < next) next = t.at
    return next
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      let dueId = -1
      let due: { at: number; fn: () => void; periodMs?: number } | undefined
      for (const [id, t] of this.#timers) {
        if (t.at <= target && (due === undefined || t.at < due.at || (t.at === due.at && id < dueId))) {
          due = t
          dueId = id
        }
      }
      if (!due) break
      this.#now = due.at
      if (due.periodMs !== undefined) due.at += due.periodMs
      else this.#timers.delete(dueId)
      due.fn()
    }
    this.#now = target
  }
}

/**
 * The system clock, counting how often timers of each interval period have
 * fired: a test waits for a periodic job (a disk-space check, a seed-limit
 * check) to have run N more times instead of sleeping and hoping it ran, or
 * runs the jobs of one period at once rather than waiting a whole period.
 */
export class TickCountingClock implements Clock {
  readonly #ticks = new Map<number, number>()
  readonly #intervals = new Map<number, { fn: () => void; periodMs: number }>()
  #seq = 0

  now(): number {
    return systemClock.now()
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return systemClock.setTimeout(fn, delayMs)
  }

  setInterval(fn: () => void, periodMs: number): TimerHandle {
    const id = ++this.#seq
    const interval = { fn, periodMs }
    this.#intervals.set(id, interval)
    const timer = systemClock.setInterval(() => this.#fire(interval), periodMs)
    return {
      cancel: () => {
        this.#intervals.delete(id)
        timer.cancel()
      },
    }
  }

  /** Times an interval of `periodMs` has fired (its job's synchronous part has run). */
  ticks(periodMs: number): number {
    return this.#ticks.get(periodMs) ?? 0
  }

  /** Runs every live interval of `periodMs` now, as if its period had come round. */
  fireIntervals(periodMs: number): void {
    for (const interval of [...this.#intervals.values()]) if (interval.periodMs === periodMs) this.#fire(interval)
  }

  #fire(interval: { fn: () => void; periodMs: number }): void {
    interval.fn()
    this.#ticks.set(interval.periodMs, this.ticks(interval.periodMs) + 1)
  }
}
