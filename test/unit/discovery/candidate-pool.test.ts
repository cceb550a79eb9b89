import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CandidatePool } from '../../../src/discovery/candidate-pool.ts'
import type { PeerCandidate, PeerSourceKind } from '../../../src/core/types.ts'

const BASE_MS = 30_000

function peer(host: string, port: number, source: PeerSourceKind = 'tracker'): PeerCandidate {
  return { host, port, source }
}

test('add de-duplicates by address and counts only new candidates', () => {
  const pool = new CandidatePool()
  assert.equal(pool.add([peer('10.0.0.1', 1000), peer('10.0.0.2', 1000), peer('10.0.0.1', 1000)], 0), 2)
  assert.equal(pool.add([peer('10.0.0.1', 1000), peer('10.0.0.1', 1001)], 0), 1)
  assert.equal(pool.size(), 3)
  assert.equal(pool.add([peer('::1', 1000), peer('::1', 1000)], 0), 1)
  assert.ok(pool.get('[::1]:1000'))
})

test('a candidate known from another source gains that source', () => {
  const pool = new CandidatePool()
  pool.add([peer('10.0.0.1', 1000, 'tracker')], 0)
  assert.equal(pool.add([peer('10.0.0.1', 1000, 'dht')], 0), 0)
  const c = pool.get('10.0.0.1:1000')
  assert.ok(c)
  assert.deepEqual([...c.sources].sort(), ['dht', 'tracker'])
  assert.equal(c.source, 'tracker')
  assert.equal(c.state, 'idle')
  assert.equal(c.failures, 0)
})

test('replaceFromSource drops idle candidates left without a source, keeps connected ones', () => {
  const pool = new CandidatePool()
  pool.add([peer('10.0.0.1', 1), peer('10.0.0.2', 1), peer('10.0.0.3', 1), peer('10.0.0.4', 1)], 0)
  pool.add([peer('10.0.0.2', 1, 'dht')], 0)
  // 10.0.0.3 becomes connected: take it out of the ready set in order.
  let c = pool.next(0)
  while (c && c.host !== '10.0.0.3') {
    pool.markFailed(`${c.host}:${c.port}`, 0)
    c = pool.next(0)
  }
  assert.ok(c)
  pool.markConnected('10.0.0.3:1')

  pool.replaceFromSource('tracker', [peer('10.0.0.4', 1), peer('10.0.0.5', 1)], 0)

  assert.equal(pool.get('10.0.0.1:1'), undefined, 'idle, tracker was its only source')
  const fromDht = pool.get('10.0.0.2:1')
  assert.ok(fromDht, 'still known from the DHT')
  assert.deepEqual([...fromDht.sources], ['dht'])
  assert.equal(fromDht.source, 'dht')
  const connected = pool.get('10.0.0.3:1')
  assert.ok(connected, 'connected candidates stay')
  assert.equal(connected.sources.size, 0)
  assert.ok(pool.get('10.0.0.4:1'))
  assert.ok(pool.get('10.0.0.5:1'), 'new ones from the list are added')

  // Once the sourceless connected candidate disconnects, it leaves the pool.
  pool.markDisconnected('10.0.0.3:1', 0)
  assert.equal(pool.get('10.0.0.3:1'), undefined)
})

test('next() prefers never-tried candidates, then fewest failures, and marks the pick connecting', () => {
  const pool = new CandidatePool({ baseRetryMs: BASE_MS })
  pool.add([peer('10.0.0.1', 1), peer('10.0.0.2', 1)], 0)
  const first = pool.next(0)
  const second = pool.next(0)
  assert.ok(first && second)
  assert.equal(first.state, 'connecting')
  assert.equal(pool.next(0), undefined, 'both are connecting')

  pool.markFailed('10.0.0.1:1', 0) // 1 failure, ready at 30 s
  pool.markFailed('10.0.0.2:1', 0)
  pool.markFailed('10.0.0.2:1', 0) // not idle: ignored until it is tried again
  assert.equal(pool.get('10.0.0.2:1')?.failures, 1)

  pool.add([peer('10.0.0.3', 1)], 100_000)
  const later = 100_000
  assert.equal(pool.readyCount(later), 3)
  assert.equal(pool.next(later)?.host, '10.0.0.3', 'never tried goes first')

  assert.equal(pool.next(later)?.failures, 1, 'then the tried ones')
  const left = pool.next(later)
  assert.ok(left)
  assert.equal(pool.next(later), undefined)
})

test('fewest failures wins among tried candidates', () => {
  const pool = new CandidatePool({ baseRetryMs: BASE_MS })
  pool.add([peer('10.0.0.1', 1), peer('10.0.0.2', 1)], 0)
  assert.equal(pool.next(0)?.host, '10.0.0.1')
  pool.markFailed('10.0.0.1:1', 0)
  assert.equal(pool.next(0)?.host, '10.0.0.2')
  pool.markFailed('10.0.0.2:1', 0)
  // Both have one failure and are ready at 30 s; give 10.0.0.1 a second one.
  assert.equal(pool.next(BASE_MS)?.host, '10.0.0.1')
  pool.markFailed('10.0.0.1:1', BASE_MS)
  const later = 10 * 60_000
  assert.equal(pool.get('10.0.0.1:1')?.failures, 2)
  assert.equal(pool.next(later)?.host, '10.0.0.2', 'one failure before two')
  assert.equal(pool.next(later)?.host, '10.0.0.1')
})

test('markFailed backs off baseRetryMs·2^(failures-1), capped at 30 min, and forgets after 6 failures', () => {
  const pool = new CandidatePool({ baseRetryMs: 60_000 })
  pool.add([peer('10.0.0.1', 1)], 0)
  const key = '10.0.0.1:1'
  const expectedDelays = [60_000, 120_000, 240_000, 480_000, 960_000]
  let now = 0
  for (const delay of expectedDelays) {
    assert.equal(pool.next(now)?.host, '10.0.0.1')
    pool.markFailed(key, now)
    const c = pool.get(key)
    assert.ok(c)
    assert.equal(c.state, 'idle')
    assert.equal(c.nextAttemptAtMs, now + delay)
    assert.equal(pool.next(now + delay - 1), undefined, 'not ready before its backoff ends')
    assert.equal(pool.nextReadyAtMs(), now + delay)
    now += delay
  }
  assert.equal(pool.next(now)?.host, '10.0.0.1')
  pool.markFailed(key, now)
  assert.equal(pool.get(key), undefined, 'sixth failure forgets it')
  assert.equal(pool.size(), 0)
})

test('the retry delay is capped at 30 min', () => {
  const pool = new CandidatePool({ baseRetryMs: 20 * 60_000 })
  pool.add([peer('10.0.0.1', 1)], 0)
  pool.next(0)
  pool.markFailed('10.0.0.1:1', 0)
  assert.equal(pool.get('10.0.0.1:1')?.nextAttemptAtMs, 20 * 60_000)
  pool.next(20 * 60_000)
  pool.markFailed('10.0.0.1:1', 20 * 60_000)
  assert.equal(pool.get('10.0.0.1:1')?.nextAttemptAtMs, 20 * 60_000 + 30 * 60_000)
})

test('markConnected resets failures; markDisconnected waits baseRetryMs before the next dial', () => {
  const pool = new CandidatePool({ baseRetryMs: BASE_MS })
  pool.add([peer('10.0.0.1', 1)], 0)
  pool.next(0)
  pool.markFailed('10.0.0.1:1', 0)
  pool.next(BASE_MS)
  pool.markConnected('10.0.0.1:1')
  const c = pool.get('10.0.0.1:1')
  assert.ok(c)
  assert.equal(c.state, 'connected')
  assert.equal(c.failures, 0)
  assert.equal(pool.readyCount(BASE_MS), 0)
  pool.markDisconnected('10.0.0.1:1', 100_000)
  assert.equal(c.state, 'idle')
  assert.equal(pool.next(100_000 + BASE_MS - 1), undefined)
  assert.equal(pool.next(100_000 + BASE_MS)?.host, '10.0.0.1')
})

test('bans are per host: every port, now and later', () => {
  const pool = new CandidatePool()
  pool.add([peer('10.0.0.9', 1), peer('10.0.0.9', 2), peer('10.0.0.8', 1)], 0)
  pool.ban('10.0.0.9:1')
  assert.equal(pool.isBanned('10.0.0.9'), true)
  assert.equal(pool.isBanned('10.0.0.8'), false)
  assert.equal(pool.get('10.0.0.9:2')?.state, 'banned')
  assert.equal(pool.add([peer('10.0.0.9', 3)], 0), 0, 'a banned host is not added on a new port')
  assert.equal(pool.readyCount(0), 1)
  assert.equal(pool.next(0)?.host, '10.0.0.8')
  assert.equal(pool.next(0), undefined)
  // Banning a key that is not in the pool still bans its host (IPv6 too).
  pool.ban('[2001:db8::1]:6881')
  assert.equal(pool.isBanned('2001:db8::1'), true)
  assert.equal(pool.add([peer('2001:db8::1', 1)], 0), 0)
})

test('a banned candidate stays banned through connection events', () => {
  const pool = new CandidatePool()
  pool.add([peer('10.0.0.1', 1)], 0)
  pool.next(0)
  pool.markConnected('10.0.0.1:1')
  pool.ban('10.0.0.1:1')
  pool.markDisconnected('10.0.0.1:1', 0)
  assert.equal(pool.get('10.0.0.1:1')?.state, 'banned')
  assert.equal(pool.next(1_000_000_000), undefined)
})

test('when full, a failed idle candidate makes room; otherwise new ones are refused', () => {
  const pool = new CandidatePool({ maxCandidates: 2 })
  pool.add([peer('10.0.0.1', 1), peer('10.0.0.2', 1)], 0)
  assert.equal(pool.add([peer('10.0.0.3', 1)], 0), 0)
  assert.equal(pool.size(), 2)
  pool.next(0)
  pool.markFailed('10.0.0.1:1', 0)
  assert.equal(pool.add([peer('10.0.0.3', 1)], 0), 1)
  assert.equal(pool.size(), 2)
  assert.equal(pool.get('10.0.0.1:1'), undefined)
})

test('nextReadyAtMs is undefined with no idle candidate', () => {
  const pool = new CandidatePool()
  assert.equal(pool.nextReadyAtMs(), undefined)
  pool.add([peer('10.0.0.1', 1)], 5)
  assert.equal(pool.nextReadyAtMs(), 5)
  pool.next(5)
  assert.equal(pool.nextReadyAtMs(), undefined)
})

test('putBack returns a picked candidate to idle at once, still never tried, with no failure', () => {
  const pool = new CandidatePool({ baseRetryMs: BASE_MS })
  pool.add([peer('10.0.0.1', 1), peer('10.0.0.2', 2)], 0)
  const first = pool.next(0)!
  pool.putBack(`${first.host}:${first.port}`)
  assert.equal(pool.readyCount(0), 2, 'ready again now, no backoff')
  assert.equal(pool.get(`${first.host}:${first.port}`)!.failures, 0)
  // Still a never-tried candidate: next() may pick it again before tried ones.
  const again = pool.next(0)!
  assert.equal(`${again.host}:${again.port}`, `${first.host}:${first.port}`)
  pool.markConnected('10.0.0.1:1')
  pool.putBack('10.0.0.1:1')
  assert.equal(pool.get('10.0.0.1:1')!.state, 'connected', 'only a candidate being dialled can be put back')
})

test('our own listen addresses never enter the pool, from any source', () => {
  const self = new Set(['127.0.0.1:6881', '[::1]:6881', '192.168.1.5:6881'])
  const pool = new CandidatePool({ isOwnAddress: (host, port) => self.has(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) })
  const sources: PeerSourceKind[] = ['tracker', 'dht', 'pex', 'lsd', 'incoming', 'manual']
  for (const source of sources) {
    assert.equal(pool.add([peer('127.0.0.1', 6881, source), peer('::1', 6881, source), peer('192.168.1.5', 6881, source)], 0), 0, source)
  }
  pool.replaceFromSource('tracker', [peer('192.168.1.5', 6881), peer('192.168.1.5', 6882)], 0)
  assert.equal(pool.size(), 1, 'only the other port of the same host is a candidate')
  assert.equal(pool.next(0)?.port, 6882)
  assert.equal(pool.next(0), undefined)
})

test('an address found to be us is forgotten and never offered again', () => {
  const pool = new CandidatePool()
  pool.add([peer('203.0.113.7', 6881), peer('10.0.0.2', 1)], 0)
  const first = pool.next(0)!
  pool.markSelf(`${first.host}:${first.port}`)
  assert.equal(pool.get(`${first.host}:${first.port}`), undefined)
  assert.equal(pool.add([peer(first.host, first.port, 'dht'), peer(first.host, first.port, 'pex')], 1), 0)
  assert.notEqual(pool.next(1)?.host, first.host)
  assert.equal(pool.next(1), undefined)
  assert.equal(pool.isBanned(first.host), false, 'the host is not banned: other ports on it are other peers')
})
