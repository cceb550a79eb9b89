import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MIN_PACKET_BYTES, MtuSearch } from '../../../src/transport/utp/mtu-search.ts'

const BIG_WINDOW = 1 << 30

/** Runs the search against a path that carries packets up to `pathBytes`; returns the probes sent. */
function search(s: MtuSearch, pathBytes: number): number[] {
  const probes: number[] = []
  for (let seq = 1; seq < 100; seq++) {
    const probe = s.probeBytes(BIG_WINDOW, 0)
    if (probe === 0) break
    probes.push(probe)
    s.handleSent(seq, probe)
    if (probe <= pathBytes) s.handleAcked(seq, 0)
    else assert.equal(s.handleLost(seq, 0), true)
  }
  return probes
}

test('binary search from the floor to the ceiling ends within 16 bytes under the path MTU', () => {
  const s = new MtuSearch({ floorBytes: 1400, ceilingBytes: 65_507, nowMs: 0 })
  assert.equal(s.floorBytes, 1400)
  const probes = search(s, 9000 - 28)
  assert.ok(probes.length <= 13, `${probes.length} probes`)
  assert.equal(probes[0], (1400 + 65_507) >> 1, 'the first probe is the midpoint')
  assert.ok(s.floorBytes <= 8972 && s.floorBytes >= 8972 - 16, `settled at ${s.floorBytes}`)
  assert.equal(s.ceilingBytes, s.floorBytes)
  assert.equal(s.probeBytes(BIG_WINDOW, 0), 0, 'no more probes once done')
})

test('no probe while the window holds three floor-sized packets or fewer, or while one is in flight', () => {
  const s = new MtuSearch({ floorBytes: 1400, ceilingBytes: 1472, nowMs: 0 })
  assert.equal(s.probeBytes(3 * 1400, 0), 0)
  const probe = s.probeBytes(3 * 1400 + 1, 0)
  assert.equal(probe, 1436)
  s.handleSent(7, probe)
  assert.equal(s.probeSeq, 7)
  assert.equal(s.probeBytes(BIG_WINDOW, 0), 0)
  assert.equal(s.handleLost(8, 0), false, 'another packet lost is not the probe')
  s.handleAcked(7, 0)
  assert.equal(s.floorBytes, 1436)
})

test('a packet no larger than the floor is never taken for a probe', () => {
  const s = new MtuSearch({ floorBytes: 1400, ceilingBytes: 9000, nowMs: 0 })
  s.handleSent(3, 1400)
  assert.equal(s.probeSeq, -1)
})

test('a timeout with only the probe outstanding lowers the ceiling; with others, the probe is forgotten', () => {
  const s = new MtuSearch({ floorBytes: 1400, ceilingBytes: 9000, nowMs: 0 })
  const probe = s.probeBytes(BIG_WINDOW, 0)
  s.handleSent(5, probe)
  s.handleTimeout(4, 0)
  assert.equal(s.ceilingBytes, 9000, 'lost with the rest: no verdict')
  assert.equal(s.probeSeq, -1)
  const again = s.probeBytes(BIG_WINDOW, 0)
  s.handleSent(9, again)
  s.handleTimeout(9, 0)
  assert.equal(s.ceilingBytes, again - 1)
})

test('the ceiling and floor never go below 548 bytes; a new ceiling restarts the search; a finished one restarts after 30 minutes', () => {
  const tiny = new MtuSearch({ floorBytes: 1400, ceilingBytes: 100, nowMs: 0 })
  assert.equal(tiny.floorBytes, MIN_PACKET_BYTES)
  assert.equal(tiny.ceilingBytes, MIN_PACKET_BYTES)
  const s = new MtuSearch({ floorBytes: 1400, ceilingBytes: 1472, nowMs: 0 })
  s.setCeiling(65_507, 0)
  assert.equal(s.probeBytes(BIG_WINDOW, 0), (1400 + 65_507) >> 1)
  search(s, 65_507)
  assert.ok(s.floorBytes >= 65_491)
  assert.equal(s.probeBytes(BIG_WINDOW, 29 * 60_000), 0)
  assert.equal(s.probeBytes(BIG_WINDOW, 30 * 60_000 + 1), (1400 + 65_507) >> 1, 'searching again')
  assert.equal(s.floorBytes, 1400)
})
