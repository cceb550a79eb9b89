import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { RateMeter } from '../../../src/core/rate-meter.ts'

test('fake clock fires timers in time order and only when due', () => {
  const clock = new FakeClock(1000)
  const fired: string[] = []
  clock.setTimeout(() => fired.push('b'), 200)
  clock.setTimeout(() => fired.push('a'), 100)
  const c = clock.setTimeout(() => fired.push('never'), 150)
  c.cancel()
  clock.advance(99)
  assert.deepEqual(fired, [])
  clock.advance(1)
  assert.deepEqual(fired, ['a'])
  clock.advance(500)
  assert.deepEqual(fired, ['a', 'b'])
  assert.equal(clock.now(), 1600)
  assert.equal(clock.pending(), 0)
})

test('fake clock intervals repeat until cancelled', () => {
  const clock = new FakeClock()
  let n = 0
  const h = clock.setInterval(() => n++, 10)
  clock.advance(35)
  assert.equal(n, 3)
  h.cancel()
  clock.advance(100)
  assert.equal(n, 3)
})

test('rate meter averages over its window and forgets old seconds', () => {
  const clock = new FakeClock(0)
  const meter = new RateMeter(5, clock)
  for (let i = 0; i < 5; i++) {
    meter.add(1000)
    clock.advance(1000)
  }
  const rate = meter.rateBytesPerSec()
  assert.ok(rate > 900 && rate < 1300, `rate ${rate}`)
  clock.advance(10_000)
  assert.equal(meter.rateBytesPerSec(), 0)
  assert.equal(meter.total, 5000)
})
