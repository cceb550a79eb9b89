// A rate limit judged in the limiter's own time, never the wall clock's. The
// limiter runs on a FakeClock that the test moves a step at a time; after each
// step the test waits (polling, in real time) until the transfer has used the
// tokens the step released. Bytes are then compared with what the limit allows
// for the time that passed on that clock, so the check holds on a slow or
// loaded machine exactly as on a fast one.
import { BLOCK_SIZE } from '../../src/core/types.ts'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import { FakeClock } from './fake-clock.ts'

/** A limiter that counts what it let through. */
export class CountingLimiter extends LimiterChain {
  grantedBytes = 0
  grants = 0

  override tryTake(bytes: number): boolean {
    const ok = super.tryTake(bytes)
    if (ok) {
      this.grantedBytes += bytes
      this.grants++
    }
    return ok
  }
}

export interface SteppedLimit {
  clock: FakeClock
  limiter: CountingLimiter
  rateBytesPerSec: number
  /** What a full bucket lets through at once (the token bucket's default: one second's worth, at least 64 KiB). */
  burstBytes: number
}

export function steppedLimit(rateBytesPerSec: number): SteppedLimit {
  const clock = new FakeClock()
  return { clock, limiter: new CountingLimiter(new TokenBucket(rateBytesPerSec, undefined, clock)), rateBytesPerSec, burstBytes: Math.max(rateBytesPerSec, 64 * 1024) }
}

export interface Step {
  /** Time on the limiter's clock since the transfer began. */
  atMs: number
  /** Bytes the transfer moved by then (counted by the caller's witness, not the limiter). */
  movedBytes: number
}

/**
 * Moves the limiter's clock by `stepMs` each time the transfer has used up the
 * tokens (less than a block left) and `settled()` says what was granted has
 * moved; stops when `done()`. Throws if the transfer stops taking tokens for
 * `stallMs` of real time. Returns every step, and the time when done.
 */
export async function runStepped(
  limit: SteppedLimit,
  opts: { stepMs: number; done: () => boolean; settled: () => boolean; moved: () => number; stallMs?: number; describe: () => string },
): Promise<{ steps: Step[]; doneAtMs: number }> {
  const steps: Step[] = []
  const stallMs = opts.stallMs ?? 20_000
  const startMs = limit.clock.now()
  for (;;) {
    const deadline = Date.now() + stallMs
    while (!opts.done() && !(limit.limiter.waitMs(BLOCK_SIZE) > 0 && opts.settled())) {
      if (Date.now() > deadline) throw new Error(`the transfer stopped using its tokens ${limit.clock.now() - startMs} ms into the limit (${limit.limiter.grantedBytes} bytes granted): ${opts.describe()}`)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const atMs = limit.clock.now() - startMs
    steps.push({ atMs, movedBytes: opts.moved() })
    if (opts.done()) return { steps, doneAtMs: atMs }
    limit.clock.advance(opts.stepMs)
  }
}
