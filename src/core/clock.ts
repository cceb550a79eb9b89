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
