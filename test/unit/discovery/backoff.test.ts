import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TRACKER_RETRY_CAP_MS, trackerRetryDelayMs } from '../../../src/discovery/backoff.ts'

test('tracker retry delay is 15 s · 2ⁿ after the n-th failure', () => {
  assert.equal(trackerRetryDelayMs(1), 30_000)
  assert.equal(trackerRetryDelayMs(2), 60_000)
  assert.equal(trackerRetryDelayMs(3), 120_000)
  assert.equal(trackerRetryDelayMs(4), 240_000)
  assert.equal(trackerRetryDelayMs(5), 480_000)
  assert.equal(trackerRetryDelayMs(6), 960_000)
})

test('tracker retry delay is capped at 30 min, however many failures', () => {
  assert.equal(TRACKER_RETRY_CAP_MS, 1_800_000)
  assert.equal(trackerRetryDelayMs(7), 1_800_000)
  assert.equal(trackerRetryDelayMs(8), 1_800_000)
  assert.equal(trackerRetryDelayMs(1000), 1_800_000)
})

test('a failure count below 1 is treated as the first failure', () => {
  assert.equal(trackerRetryDelayMs(0), 30_000)
  assert.equal(trackerRetryDelayMs(-3), 30_000)
})
