// The retry schedule for a tracker that failed, kept apart from the protocol so
// it can be tested without a network. Pure: no timers here.

const TRACKER_RETRY_BASE_MS = 15_000

/** A tracker that keeps failing is still asked at least every 30 min. */
export const TRACKER_RETRY_CAP_MS = 30 * 60_000

/**
 * Delay before the next attempt after the `failures`-th consecutive failure
 * (n >= 1): 15 s · 2ⁿ, so 30 s, 60 s, 120 s, … capped at 30 min.
 * Values below 1 are treated as the first failure.
 */
export function trackerRetryDelayMs(failures: number): number {
  const n = Math.max(1, Math.floor(failures))
  return Math.min(TRACKER_RETRY_BASE_MS * 2 ** n, TRACKER_RETRY_CAP_MS)
}
