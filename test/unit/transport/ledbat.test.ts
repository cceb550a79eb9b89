import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { GAIN_BYTES_PER_RTT, Ledbat } from '../../../src/transport/utp/ledbat.ts'

const MSS = 1400

function make(clock = new FakeClock(1_000_000)) {
  return { clock, cc: new Ledbat({ clock, mssBytes: MSS, initialWindowBytes: 10 * MSS }) }
}

/** One RTT's worth of acks: the whole window acknowledged, packet by packet, with `delayUs` as the peer measured it. */
function ackWindow(cc: Ledbat, clock: FakeClock, delayUs: number, rttMs = 50): void {
  const packets = Math.max(1, Math.floor(cc.windowBytes / MSS))
  cc.handleWindowFull()
  // The current delay is the lowest of the last three samples: let the new delay settle first.
  for (let i = 0; i < 3; i++) cc.handleDelaySample(delayUs)
  for (let i = 0; i < packets; i++) {
    cc.handleDelaySample(delayUs)
    cc.handleAck(MSS)
  }
  clock.advance(rttMs)
  cc.handleRttSample(rttMs)
}

test('slow start doubles the window each RTT while the queue stays empty', () => {
  const { clock, cc } = make()
  const base = 5_000
  const before = cc.windowBytes
  ackWindow(cc, clock, base)
  assert.equal(cc.slowStart, true)
  assert.ok(cc.windowBytes >= 2 * before - MSS, `window ${cc.windowBytes} after one RTT from ${before}`)
})

test('slow start ends when the queuing delay nears the 100 ms target, and the window then shrinks as delay rises above it', () => {
  const { clock, cc } = make()
  const base = 20_000
  ackWindow(cc, clock, base)
  ackWindow(cc, clock, base + 95_000)
  assert.equal(cc.slowStart, false)
  const atTarget = cc.windowBytes
  // Delay 120 ms over base: 20 % over target, so each RTT gives back about a fifth of the window.
  ackWindow(cc, clock, base + 120_000)
  const ratio = cc.windowBytes / atTarget
  assert.ok(ratio > 0.75 && ratio < 0.85, `window fell to ${ratio.toFixed(3)} of itself in one RTT; about 0.8 expected`)
  // Far over target: never more than half per RTT.
  const before = cc.windowBytes
  ackWindow(cc, clock, base + 900_000)
  assert.ok(cc.windowBytes >= before * 0.5 - 1 && cc.windowBytes < before * 0.65, `window ${cc.windowBytes} from ${before}`)
})

test('below the target the window grows by at most 3000 bytes per RTT, scaled by how far below', () => {
  const { clock, cc } = make()
  const base = 20_000
  cc.handleDelaySample(base)
  ackWindow(cc, clock, base + 95_000) // leave slow start
  assert.equal(cc.slowStart, false)
  const start = cc.windowBytes
  ackWindow(cc, clock, base) // queue empty again: full gain
  const fullGain = cc.windowBytes - start
  assert.ok(fullGain > 0 && fullGain <= GAIN_BYTES_PER_RTT + 1, `full gain ${fullGain}`)
  const mid = cc.windowBytes
  ackWindow(cc, clock, base + 50_000) // half way to target: about half the gain
  const halfGain = cc.windowBytes - mid
  assert.ok(halfGain > 0 && halfGain <= GAIN_BYTES_PER_RTT / 2 + 1, `half gain ${halfGain}`)
})

test('the window does not grow while it is not being used', () => {
  const { clock, cc } = make()
  ackWindow(cc, clock, 10_000)
  clock.advance(5_000)
  const idle = cc.windowBytes
  for (let i = 0; i < 20; i++) {
    cc.handleDelaySample(10_000)
    cc.handleAck(MSS)
  }
  assert.equal(cc.windowBytes, idle)
})

test('the base delay is the lowest over the last minutes and forgets older minima', () => {
  const { clock, cc } = make()
  cc.handleDelaySample(1_000)
  clock.advance(60_000)
  for (let i = 0; i < 3; i++) cc.handleDelaySample(50_000)
  assert.equal(cc.queuingDelayUs, 49_000)
  for (let m = 0; m < 13; m++) {
    clock.advance(60_000)
    cc.handleDelaySample(50_000)
  }
  assert.equal(cc.queuingDelayUs, 0, 'the 1 ms minimum is older than the history and gone')
})

test('the base delay survives the peer clock wrapping around 2^32 µs', () => {
  const { cc } = make()
  cc.handleDelaySample(0xffffff00)
  cc.handleDelaySample(0x100) // 512 µs later, wrapped
  cc.handleDelaySample(0x100)
  cc.handleDelaySample(0x100)
  assert.equal(cc.queuingDelayUs, 0x200)
})

test('loss halves the window, at most once per 100 ms', () => {
  const { clock, cc } = make()
  ackWindow(cc, clock, 10_000)
  const w = cc.windowBytes
  cc.handleLoss()
  assert.equal(cc.windowBytes, w / 2)
  cc.handleLoss()
  clock.advance(99)
  cc.handleLoss()
  assert.equal(cc.windowBytes, w / 2, 'a burst of losses within 100 ms halves once')
  clock.advance(1)
  cc.handleLoss()
  assert.equal(cc.windowBytes, w / 4)
  assert.equal(cc.slowStart, false)
})

test('RTO is rtt + 4·rttvar, never below the minimum, doubles per timeout and resets on progress', () => {
  const { clock, cc } = make()
  assert.equal(cc.rtoMs, 1000, 'before any sample')
  cc.handleRttSample(10)
  assert.equal(cc.rtoMs, 500, 'a 10 ms RTT still waits the 500 ms minimum')
  for (let i = 0; i < 30; i++) cc.handleRttSample(400)
  assert.ok(cc.rtoMs > 400 && cc.rtoMs < 600, `steady 400 ms RTT gives RTO ${cc.rtoMs}`)
  const rto = cc.rtoMs
  assert.equal(cc.handleTimeout(), 1)
  assert.equal(cc.rtoMs, rto * 2)
  assert.equal(cc.windowBytes, MSS, 'one packet after a timeout')
  assert.equal(cc.handleTimeout(), 2)
  assert.equal(cc.rtoMs, rto * 4)
  clock.advance(1)
  cc.handleAck(MSS)
  assert.equal(cc.consecutiveTimeouts, 0)
  assert.equal(cc.rtoMs, rto)
})

test('a zero peer window stops sending until a probe falls due, and re-probes after each timeout', () => {
  const { clock, cc } = make()
  cc.handleRttSample(100)
  cc.handlePeerWindow(64 * 1024)
  assert.equal(cc.sendWindowBytes(), Math.min(cc.windowBytes, 64 * 1024))
  cc.handlePeerWindow(0)
  assert.equal(cc.sendWindowBytes(), 0)
  clock.advance(cc.rtoMs - 1)
  assert.equal(cc.sendWindowBytes(), 0)
  clock.advance(1)
  assert.equal(cc.sendWindowBytes(), MSS, 'one packet probes the window')
  cc.handleProbeSent()
  assert.equal(cc.sendWindowBytes(), 0)
  cc.handlePeerWindow(0) // the probe's ack still says zero
  clock.advance(cc.rtoMs)
  assert.equal(cc.sendWindowBytes(), MSS, 'probes again')
  cc.handlePeerWindow(8000)
  assert.equal(cc.sendWindowBytes(), Math.min(8000, cc.windowBytes))
})
