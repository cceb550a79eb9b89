// Time as an injectable dependency, so schedules (tracker backoff, choking,
// timeouts) can be tested with a fake clock (test/helpers/fake-clock.ts) instead of sleeping.

export interface TimerHandle {
  cancel(): void
}

export interface Clock {
  /** Milliseconds since the epoch (or since the fake clock began). */
  now(): number
  setTimeout(fn: () => void, delayMs: number): TimerHandle
  setInterval(fn: () => void, periodMs: number): TimerHandle
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, delayMs) {
    const t = setTimeout(fn, delayMs)
    t.unref?.()
    return { cancel: () => clearTimeout(t) }
  },
  setInterval(fn, periodMs) {
    const t = setInterval(fn, periodMs)
    t.unref?.()
    return { cancel: () => clearInterval(t) }
  },
}

/**
 * A monotonic time in milliseconds (fractional, microsecond resolution) from an
 * arbitrary origin, for measuring spans. Not `performance.now()`: the global
 * `performance` loads Node's perf_hooks (~0.3 MB RSS; issue 15, README "Memory").
 */
export function monotonicMs(): number {
  return process.uptime() * 1000
}
