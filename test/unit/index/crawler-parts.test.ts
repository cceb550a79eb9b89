// The crawler's pure parts: circuit breaker backoff, the node table's
// sampling schedule (interval honoured, sooner only for a node that keeps
// returning new hashes), staging's batching (one storedAmong and one claim
// per batch, in-flight hashes skipped, a flooding node capped), connection
// limits per IP and in total, the bounded queue, the record made from an
// info dict, and the counters' per-minute rates for a session's status.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { BoundedQueue } from '../../../src/index/bounded-queue.ts'
import { CircuitBreaker } from '../../../src/index/circuit-breaker.ts'
import { CrawlStats } from '../../../src/index/crawl-stats.ts'
import { FetchLimits } from '../../../src/index/fetch-limits.ts'
import type { IndexedTorrent, IndexStore } from '../../../src/index/index-store.ts'
import { indexedTorrent } from '../../../src/index/indexed-torrent.ts'
import { EAGER_RESAMPLE_MS, NodeTable } from '../../../src/index/node-table.ts'
import { Staging } from '../../../src/index/staging.ts'
import type { SampleReply } from '../../../src/discovery/bep51.ts'

const HOUR = 3_600_000

test('circuit breaker: opens after 3 failures, the wait doubles up to its cap, one success closes it', () => {
  const b = new CircuitBreaker({ failuresToOpen: 3, baseBackoffMs: 1000, maxBackoffMs: 5000 })
  assert.equal(b.failure('n', 0), false)
  assert.equal(b.failure('n', 0), false)
  assert.ok(b.allows('n', 0))
  assert.equal(b.failure('n', 0), true)
  assert.equal(b.allows('n', 999), false)
  assert.ok(b.allows('n', 1000))
  b.failure('n', 1000) // 4th: 2 s
  assert.equal(b.allows('n', 2999), false)
  assert.ok(b.allows('n', 3000))
  b.failure('n', 3000) // 5th: 4 s
  b.failure('n', 7000) // 6th: 8 s, capped at 5 s
  assert.equal(b.allows('n', 11_999), false)
  assert.ok(b.allows('n', 12_000))
  assert.equal(b.openCount(11_000), 1)
  b.success('n')
  assert.ok(b.allows('n', 11_000))
  assert.equal(b.openCount(11_000), 0)
})

test('circuit breaker keeps at most maxKeys keys', () => {
  const b = new CircuitBreaker({ failuresToOpen: 1, baseBackoffMs: 1000, maxKeys: 2 })
  b.failure('a', 0)
  b.failure('b', 0)
  b.failure('c', 0)
  assert.ok(b.allows('a', 0), 'the oldest key was forgotten')
  assert.equal(b.allows('c', 0), false)
})

function reply(samples: number, num: number, intervalSeconds: number): SampleReply {
  return { intervalSeconds, num, samples: Array.from({ length: samples }, () => randomBytes(20)), nodes: [] }
}

test('node table: a new node is due at once; its next sample honours the interval it asks, never sooner than the floor', () => {
  const table = new NodeTable({ minIntervalMs: 60_000 })
  assert.equal(table.add([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.1', port: 1 }], 0), 1)
  assert.equal(table.due(0, 10, () => true).length, 1)
  assert.deepEqual(table.recordSample('10.0.0.1:1', reply(20, 20, 6 * 3600), 20, 0), { nextSampleAtMs: 6 * HOUR, eager: false })
  assert.equal(table.due(6 * HOUR - 1, 10, () => true).length, 0)
  assert.equal(table.due(6 * HOUR, 10, () => true).length, 1)
  assert.equal(table.recordSample('10.0.0.1:1', reply(20, 20, 0), 0, 0)?.nextSampleAtMs, 60_000)
})

test('node table: sampled sooner only after two mostly-new samples from a node holding more than it sent', () => {
  const table = new NodeTable({ minIntervalMs: 60_000 })
  table.add([{ host: '10.0.0.2', port: 2 }], 0)
  const key = '10.0.0.2:2'
  assert.equal(table.recordSample(key, reply(20, 5000, 21600), 15, 0)?.eager, false) // one mostly-new sample is not enough
  assert.deepEqual(table.recordSample(key, reply(20, 5000, 21600), 10, 0), { nextSampleAtMs: EAGER_RESAMPLE_MS, eager: true })
  assert.equal(table.recordSample(key, reply(20, 5000, 21600), 3, 0)?.eager, false) // mostly known again: back to its interval
  // All new, but the node holds no more than it sent: nothing to gain by asking sooner.
  table.recordSample(key, reply(20, 20, 21600), 20, 0)
  assert.equal(table.recordSample(key, reply(20, 20, 21600), 20, 0)?.eager, false)
})

test('node table: a node without BEP 51 waits 6 h; a failure waits the floor; when full, silent nodes make room', () => {
  const table = new NodeTable({ minIntervalMs: 1000, maxNodes: 2 })
  table.add([{ host: '10.0.0.3', port: 3 }, { host: '10.0.0.4', port: 4 }], 0)
  table.recordNoSupport('10.0.0.3:3', 0)
  table.recordFailure('10.0.0.4:4', 0)
  assert.deepEqual(table.due(1000, 10, () => true).map((n) => n.key), ['10.0.0.4:4'])
  assert.deepEqual(table.due(6 * HOUR, 10, (k) => k !== '10.0.0.4:4').map((n) => n.key), ['10.0.0.3:3'])
  // 10.0.0.3 answered (no support), 10.0.0.4 never did: it makes room for a newcomer.
  assert.equal(table.add([{ host: '10.0.0.5', port: 5 }], 0), 1)
  assert.equal(table.get('10.0.0.4:4'), undefined)
  assert.ok(table.get('10.0.0.3:3'))
  table.markAnswered('10.0.0.5:5')
  assert.equal(table.add([{ host: '10.0.0.6', port: 6 }], 0), 0, 'full of nodes that answered')
})

/** A store that records its calls; stored and claimed-elsewhere hashes are given. */
function recordingStore(stored: Set<string>, claimedElsewhere = new Set<string>()) {
  const calls: string[] = []
  const store: IndexStore = {
    async storedAmong(h) {
      calls.push(`storedAmong ${h.length}`)
      return new Set(h.filter((x) => stored.has(x)))
    },
    async claim(h) {
      calls.push(`claim ${h.length}`)
      return h.filter((x) => !claimedElsewhere.has(x))
    },
    async release() {},
    async insert(_t: IndexedTorrent[]) {},
    async seen(h) {
      calls.push(`seen ${h.length}`)
    },
    async sizeBytes() {
      return 0
    },
    async close() {},
  }
  return { store, calls }
}

const hex = () => randomBytes(20).toString('hex')
const node = { host: '10.0.0.9', port: 9 }

test('staging: one storedAmong and one claim per batch; stored ones marked seen; in-flight and recent repeats skipped', async () => {
  const hashes = Array.from({ length: 250 }, hex)
  const { store, calls } = recordingStore(new Set(hashes.slice(0, 50)), new Set(hashes.slice(50, 60)))
  const staging = new Staging(store, 'w', { batchSize: 200, maxBatchWaitMs: 500, maxPerNode: 1000 })
  for (const h of hashes) assert.equal(staging.offer(h, node, 0), 'queued')
  assert.equal(staging.offer(hashes[0], node, 0), 'known')
  assert.ok(staging.due(0), 'a full batch is due at once')
  const { claimed, stored } = await staging.flush(0, 1000)
  assert.deepEqual(calls, ['storedAmong 200', 'seen 50', 'claim 150'])
  assert.equal(stored, 50)
  assert.equal(claimed.length, 140) // 10 were claimed by another crawler
  assert.equal(staging.offer(claimed[0].infoHash, node, 1), 'known', 'in flight')
  assert.equal(staging.offer(hashes[0], node, 1), 'known', 'stored a moment ago')
  // The 50 left make a batch once the oldest has waited 500 ms.
  assert.equal(staging.due(499), false)
  assert.ok(staging.due(500))
  calls.length = 0
  await staging.flush(500, 1000)
  assert.deepEqual(calls, ['storedAmong 50', 'claim 50'])
  staging.finish(claimed[0].infoHash)
  assert.equal(staging.offer(claimed[0].infoHash, node, 2), 'known', 'finished hashes are remembered as checked')
})

test('staging: a node past its share in flight and a full staging drop new hashes', async () => {
  const { store } = recordingStore(new Set())
  const staging = new Staging(store, 'w', { maxPerNode: 3, maxPending: 5 })
  const flooder = { host: '10.6.6.6', port: 666 }
  const results = Array.from({ length: 5 }, () => staging.offer(hex(), flooder, 0))
  assert.deepEqual(results, ['queued', 'queued', 'queued', 'dropped', 'dropped'])
  // Still capped while its hashes are in flight, not only while they wait.
  const { claimed } = await staging.flush(600, 10)
  assert.equal(claimed.length, 3)
  assert.equal(staging.offer(hex(), flooder, 700), 'dropped')
  staging.finish(claimed[0].infoHash)
  assert.equal(staging.offer(hex(), flooder, 700), 'queued')
  for (let i = 0; i < 4; i++) staging.offer(hex(), { host: '10.0.0.1', port: 1000 + i }, 700)
  assert.ok(staging.full)
  assert.equal(staging.offer(hex(), { host: '10.0.0.2', port: 1 }, 700), 'dropped')
})

test('staging: a store error gives the batch back (nothing stays in flight) and reaches the caller', async () => {
  const { store } = recordingStore(new Set())
  store.claim = async () => {
    throw new Error('database is locked')
  }
  const staging = new Staging(store, 'w', {})
  staging.offer(hex(), node, 0)
  await assert.rejects(staging.flush(1000, 10), /database is locked/)
  assert.equal(staging.inFlight, 0)
})

test('fetch limits: per IP and in total; release gives the slot back; a release without a slot throws', () => {
  const limits = new FetchLimits(3, 2)
  assert.ok(limits.tryAcquire('1.1.1.1'))
  assert.ok(limits.tryAcquire('1.1.1.1'))
  assert.equal(limits.tryAcquire('1.1.1.1'), false)
  assert.ok(limits.tryAcquire('2.2.2.2'))
  assert.equal(limits.tryAcquire('3.3.3.3'), false)
  limits.release('1.1.1.1')
  assert.ok(limits.tryAcquire('3.3.3.3'))
  assert.throws(() => limits.release('9.9.9.9'), /without a slot/)
})

test('bounded queue: refuses past its capacity, first in first out, stays usable after many turns', () => {
  const q = new BoundedQueue<number>(3)
  assert.ok(q.push(1) && q.push(2) && q.push(3))
  assert.equal(q.push(4), false)
  assert.equal(q.shift(), 1)
  assert.ok(q.push(4))
  assert.deepEqual(q.drain(), [2, 3, 4])
  for (let i = 0; i < 5000; i++) {
    q.push(i)
    assert.equal(q.shift(), i)
  }
  assert.equal(q.size, 0)
  assert.equal(q.shift(), undefined)
})

test('the stored record: paths relative to the torrent, pad files left out, the total of the real files', async () => {
  const info = {
    name: 'album',
    'piece length': 16384,
    pieces: randomBytes(40),
    files: [
      { length: 1000, path: ['cd1', 'track 01.flac'] },
      { length: 15384, path: ['.pad', '15384'], attr: 'p' },
      { length: 500, path: ['cover.jpg'] },
    ],
  }
  const dict = Buffer.from(bencode.encode(info))
  const record = await indexedTorrent(dict, 42)
  assert.equal(record.name, 'album')
  assert.deepEqual(record.files, [{ path: 'cd1/track 01.flac', sizeBytes: 1000 }, { path: 'cover.jpg', sizeBytes: 500 }])
  assert.equal(record.sizeBytes, 1500)
  assert.equal(record.pieceCount, 2)
  assert.equal(record.collectedAt, 42)
  assert.ok(record.infoDict.equals(dict))
  const single = await indexedTorrent(Buffer.from(bencode.encode({ name: 'one.iso', 'piece length': 16384, pieces: randomBytes(20), length: 99 })), 1)
  assert.deepEqual(single.files, [{ path: 'one.iso', sizeBytes: 99 }])
  await assert.rejects(indexedTorrent(Buffer.from('d4:name1:xe'), 1), /invalid info dictionary/)
})

test('crawl stats: the status rates cover the last minute (since the start before that); the status copies the counters', () => {
  const gauges = { nodes: 3, staging: 0, lookups: 0, fetchQueue: 0, fetching: 0, storing: 0, databaseBytes: 4096 }
  const stats = new CrawlStats(0)
  stats.counters.seen = 50
  stats.counters.fetched = 5
  assert.deepEqual(stats.perMinute(30_000), { seen: 100, fetched: 10 }, 'half a minute in: over the time since the start')
  // A steady 60 seen and 6 fetched a minute for three minutes, sampled on every 200 ms tick.
  for (let t = 30_000; t <= 210_000; t += 200) {
    stats.counters.seen = 50 + Math.floor(((t - 30_000) / 60_000) * 60)
    stats.counters.fetched = 5 + Math.floor(((t - 30_000) / 60_000) * 6)
    stats.sample(t)
  }
  const rate = stats.perMinute(210_000)
  assert.ok(Math.abs(rate.seen - 60) <= 6 && Math.abs(rate.fetched - 6) <= 1, `the last minute's rate, not the start's burst: ${JSON.stringify(rate)}`)
  // Nothing more for two minutes: the rate falls to 0.
  for (let t = 210_200; t <= 330_000; t += 200) stats.sample(t)
  assert.deepEqual(stats.perMinute(330_000), { seen: 0, fetched: 0 })
  const status = stats.status(330_000, gauges, false)
  assert.deepEqual(status.counters, { ...stats.counters })
  assert.notEqual(status.counters, stats.counters, 'a copy: later counts do not change an answer already given')
  assert.equal(status.gauges.databaseBytes, 4096)
  assert.equal(status.stopped, false)
})
