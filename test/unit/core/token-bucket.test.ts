import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { LimiterChain, TokenBucket } from '../../../src/core/token-bucket.ts'

const KiB = 1024
const BLOCK = 16 * KiB

interface Limiter {
  tryTake(bytes: number): boolean
  waitMs(bytes: number): number
}

/** Sends blocks as fast as the limiter allows, stepping the clock by its waits; returns bytes sent. */
function drain(limiter: Limiter, clock: FakeClock, durationMs: number, blockBytes = BLOCK): number {
  const endMs = clock.now() + durationMs
  let sent = 0
  while (clock.now() <= endMs) {
    if (limiter.tryTake(blockBytes)) {
      sent += blockBytes
      continue
    }
    const waitMs = limiter.waitMs(blockBytes)
    assert.ok(waitMs > 0 && Number.isFinite(waitMs), `refused but waitMs is ${waitMs}`)
    if (clock.now() + waitMs > endMs) break
    clock.advance(waitMs)
    assert.ok(limiter.tryTake(blockBytes), 'waiting waitMs was not enough')
    sent += blockBytes
  }
  return sent
}

test('100 KiB/s lets through about 1 MiB in 10 s (the first burst included)', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(100 * KiB, undefined, clock)
  const sent = drain(bucket, clock, 10_000)
  // 100 KiB of initial burst, then 100 KiB/s for 10 s.
  assert.ok(sent >= 1000 * KiB && sent <= 1100 * KiB, `sent ${sent / KiB} KiB`)
})

test('the long-run rate holds after the burst is spent', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(50 * KiB, undefined, clock)
  drain(bucket, clock, 1_000)
  const sent = drain(bucket, clock, 20_000)
  assert.ok(Math.abs(sent - 20 * 50 * KiB) <= BLOCK, `sent ${sent / KiB} KiB in 20 s at 50 KiB/s`)
})

test('burst: a full bucket passes burstBytes at once, then refuses; idle time refills only up to the burst', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(10 * KiB, 32 * KiB, clock)
  assert.ok(bucket.tryTake(BLOCK))
  assert.ok(bucket.tryTake(BLOCK))
  assert.equal(bucket.tryTake(1), false)
  assert.equal(bucket.waitMs(BLOCK), 1600)
  clock.advance(3_600_000)
  assert.ok(bucket.tryTake(32 * KiB))
  assert.equal(bucket.tryTake(1), false)
})

test('the default burst is the larger of one second of rate and 64 KiB', () => {
  const clock = new FakeClock()
  const slow = new TokenBucket(1 * KiB, undefined, clock)
  assert.ok(slow.tryTake(64 * KiB))
  assert.equal(slow.tryTake(1), false)
  const fast = new TokenBucket(1024 * KiB, undefined, clock)
  assert.ok(fast.tryTake(1024 * KiB))
  assert.equal(fast.tryTake(1), false)
})

test('setRate takes effect at run time, both slower and faster', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(100 * KiB, 64 * KiB, clock)
  drain(bucket, clock, 1_000)
  bucket.setRate(20 * KiB)
  assert.equal(bucket.rateBytesPerSec, 20 * KiB)
  const slowSent = drain(bucket, clock, 10_000)
  assert.ok(slowSent <= 10 * 20 * KiB + 64 * KiB && slowSent >= 10 * 20 * KiB - BLOCK, `slow ${slowSent / KiB} KiB`)
  bucket.setRate(200 * KiB)
  const fastSent = drain(bucket, clock, 10_000)
  assert.ok(fastSent >= 10 * 200 * KiB - BLOCK && fastSent <= 10 * 200 * KiB + 64 * KiB, `fast ${fastSent / KiB} KiB`)
})

test('rate 0 is unlimited, and a bucket can switch between limited and unlimited', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(0, undefined, clock)
  for (let i = 0; i < 10_000; i++) assert.ok(bucket.tryTake(1024 * KiB))
  assert.equal(bucket.waitMs(1e12), 0)
  bucket.setRate(10 * KiB)
  assert.ok(bucket.tryTake(64 * KiB))
  assert.equal(bucket.tryTake(BLOCK), false)
  bucket.setRate(0)
  assert.ok(bucket.tryTake(1e9))
  assert.equal(bucket.rateBytesPerSec, 0)
})

test('a request larger than the burst passes when the bucket is full and is paid back before the next', () => {
  const clock = new FakeClock()
  const bucket = new TokenBucket(10 * KiB, 16 * KiB, clock)
  assert.ok(bucket.tryTake(100 * KiB))
  // 84 KiB of debt plus 16 KiB for the next block, at 10 KiB/s.
  assert.equal(bucket.waitMs(BLOCK), 10_000)
  const sent = drain(bucket, clock, 20_000, 100 * KiB)
  assert.ok(sent <= 2 * 100 * KiB, `sent ${sent / KiB} KiB`)
})

test('waits are never negative or NaN, even with a clock that steps back', () => {
  const clock = new FakeClock(1_000_000)
  const bucket = new TokenBucket(3 * KiB, 5_000, clock)
  const backwards = { now: () => clock.now() - 500, setTimeout: clock.setTimeout.bind(clock), setInterval: clock.setInterval.bind(clock) }
  const odd = new TokenBucket(7, 1, backwards)
  for (let i = 0; i < 200; i++) {
    bucket.tryTake((i * 7919) % 9000)
    odd.tryTake(i % 3)
    for (const w of [bucket.waitMs(i * 37), bucket.waitMs(0), odd.waitMs(i)]) {
      assert.ok(Number.isFinite(w) && w >= 0, `waitMs ${w}`)
    }
    clock.advance(i % 5)
  }
  assert.equal(bucket.waitMs(0), 0)
  assert.ok(bucket.tryTake(0))
  assert.throws(() => bucket.tryTake(Number.NaN), /byte count/)
  assert.throws(() => bucket.waitMs(-1), /byte count/)
  assert.throws(() => bucket.setRate(Number.NaN), /rate/)
  assert.throws(() => new TokenBucket(-5), /rate/)
  assert.throws(() => new TokenBucket(10, 0), /burstBytes/)
})

test('chain: two torrents at 80 KiB/s each under a global 100 KiB/s stay within 100 KiB/s together', () => {
  const clock = new FakeClock()
  const global = new TokenBucket(100 * KiB, undefined, clock)
  const left = new LimiterChain(new TokenBucket(80 * KiB, undefined, clock), global)
  const right = new LimiterChain(new TokenBucket(80 * KiB, undefined, clock), global)
  let leftSent = 0
  let rightSent = 0
  const durationMs = 20_000
  for (let t = 0; t <= durationMs; t += 5) {
    // Alternate who asks first so neither starves the other by order alone.
    const order = t % 10 === 0 ? [left, right] : [right, left]
    for (const chain of order) {
      while (chain.tryTake(BLOCK)) {
        if (chain === left) leftSent += BLOCK
        else rightSent += BLOCK
      }
      const w = chain.waitMs(BLOCK)
      assert.ok(w > 0 && Number.isFinite(w))
    }
    if (t < durationMs) clock.advance(5)
  }
  const total = leftSent + rightSent
  const allowed = 100 * KiB * (durationMs / 1000) + 100 * KiB
  assert.ok(total <= allowed, `together ${total / KiB} KiB > ${allowed / KiB} KiB`)
  assert.ok(total >= allowed - 2 * 100 * KiB, `together only ${total / KiB} KiB: the global limit is not used`)
  for (const sent of [leftSent, rightSent]) {
    assert.ok(sent <= 80 * KiB * (durationMs / 1000) + 80 * KiB, `one torrent ${sent / KiB} KiB over its own limit`)
    assert.ok(sent > 0)
  }
})

test('chain: a refusal by the parent takes nothing from the child', () => {
  const clock = new FakeClock()
  const parent = new TokenBucket(10 * KiB, 16 * KiB, clock)
  const child = new TokenBucket(10 * KiB, 32 * KiB, clock)
  const chain = new LimiterChain(child, parent)
  assert.ok(chain.tryTake(BLOCK))
  assert.equal(chain.tryTake(BLOCK), false)
  assert.equal(chain.waitMs(BLOCK), 1600)
  assert.equal(child.waitMs(BLOCK), 0, 'the refused take must not have drained the child')
  assert.ok(child.tryTake(BLOCK))
  assert.equal(new LimiterChain().waitMs(BLOCK), 0)
  assert.ok(new LimiterChain().tryTake(BLOCK))
})
