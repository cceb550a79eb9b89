// TrackerSource against bittorrent-tracker's real Server (HTTP and UDP) and a
// few hand-made bad trackers, all on 127.0.0.1. Schedules are driven by a
// FakeClock: only the network outcome is awaited, never a sleep.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { Server } from 'bittorrent-tracker'
import { FakeClock } from '../helpers/fake-clock.ts'
import type { PeerCandidate } from '../../src/core/types.ts'
import { TrackerSource, type TrackerSourceOptions } from '../../src/discovery/tracker-source.ts'
import { freePort, waitFor, waitUntil } from '../helpers/net.ts'
import { fixedReplyTracker, startTracker, type TestTracker } from '../helpers/tracker.ts'

const WAIT_MS = 5000
const START_MS = 1_000_000

function source(tiers: string[][], port: number, extra: Partial<TrackerSourceOptions> = {}): TrackerSource {
  return new TrackerSource({
    infoHash: extra.infoHash ?? randomBytes(20),
    peerId: randomBytes(20),
    port,
    tiers,
    getStats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
    ...extra,
  })
}

type TrackerErrorInfo = { url: string; message: string; retryAtMs: number }

function nextError(src: TrackerSource): Promise<TrackerErrorInfo> {
  return waitFor<TrackerErrorInfo>(src, 'trackerError', WAIT_MS)
}

/**
 * The next peers event, sorted by port. bittorrent-tracker (like most trackers)
 * lists the announcer itself too; telling ourselves apart is the handshake's job.
 */
async function nextPeers(src: TrackerSource): Promise<PeerCandidate[]> {
  const peers = await waitFor<PeerCandidate[]>(src, 'peers', WAIT_MS)
  return [...peers].sort((a, b) => a.port - b.port)
}

function local(...ports: number[]): PeerCandidate[] {
  return ports.map((port) => ({ host: '127.0.0.1', port, source: 'tracker' as const }))
}

/** A port with nothing listening on it (for now). */
async function deadUrl(): Promise<{ url: string; port: number }> {
  const port = await freePort()
  return { url: `http://127.0.0.1:${port}/announce`, port }
}

/** bittorrent-tracker's Server on a given port, for a tracker that comes up late. */
async function listenTrackerOn(port: number): Promise<Server> {
  const server = new Server({ udp: true, http: true, ws: false, stats: false, interval: 600_000 })
  server.on('warning', () => {})
  // The server always opens a udp6 socket too; ::1 keeps it on loopback.
  server.listen({ http: port, udp: port }, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' })
  await once(server, 'listening')
  return server
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.http?.closeAllConnections?.()
    server.close(() => resolve())
  })
}

/** Registers a peer on `url` for `infoHash` and returns its port. */
async function registerOtherPeer(url: string, infoHash: Buffer, port: number): Promise<TrackerSource> {
  const other = source([[url]], port, { infoHash })
  const announced = waitFor(other, 'trackerAnnounced', WAIT_MS)
  other.start()
  await announced
  return other
}

async function announceAndGetPeers(tracker: TestTracker, url: string): Promise<void> {
  const infoHash = randomBytes(20)
  const other = await registerOtherPeer(url, infoHash, 7001)
  const src = source([[url]], 7002, { infoHash })
  const stops: string[] = []
  tracker.server.on('stop', (addr: string) => stops.push(addr))
  try {
    const announced = waitFor<{ url: string; peers: number; intervalMs: number; seeders?: number; leechers?: number }>(
      src,
      'trackerAnnounced',
      WAIT_MS,
    )
    const peers = nextPeers(src)
    src.start()
    assert.deepEqual(await peers, local(7001, 7002))
    const info = await announced
    assert.equal(info.url, url)
    assert.equal(info.peers, 2)
    assert.equal(info.intervalMs, 30_000, 'the tracker helper asks for a 30 s interval')
    assert.equal(info.leechers, 2)
    const [status] = src.status()
    assert.equal(status.state, 'ok')
    assert.equal(status.failures, 0)
    assert.equal(status.peersReceived, 2)
    assert.ok(status.nextAnnounceAtMs !== undefined && status.lastAnnounceAtMs !== undefined)
    assert.equal(status.nextAnnounceAtMs - status.lastAnnounceAtMs >= 30_000 - 1000, true)
    assert.equal(tracker.peerCount(infoHash.toString('hex')), 2)

    await src.stop()
    assert.deepEqual(stops, ['127.0.0.1:7002'], "'stopped' reached the tracker before stop() resolved")
    assert.equal(tracker.peerCount(infoHash.toString('hex')), 1)
    assert.equal(src.status()[0].state, 'idle')
    assert.equal(src.status()[0].nextAnnounceAtMs, undefined)
  } finally {
    await src.stop()
    await other.stop()
  }
}

test('HTTP: announce, get the peer another announcer registered, and stop', async () => {
  const tracker = await startTracker()
  try {
    await announceAndGetPeers(tracker, tracker.httpUrl)
  } finally {
    await tracker.close()
  }
})

test('UDP: announce, get the peer another announcer registered, and stop', async () => {
  const tracker = await startTracker()
  try {
    await announceAndGetPeers(tracker, tracker.udpUrl)
  } finally {
    await tracker.close()
  }
})

test('HTTP over IPv6: compact peers6 come back as IPv6 candidates', async () => {
  const server = new Server({ udp: true, http: true, ws: false, stats: false })
  server.on('warning', () => {})
  server.listen({ http: 0, udp: 0 }, { http: '::1', udp: '127.0.0.1', udp6: '::1' })
  await once(server, 'listening')
  const url = `http://[::1]:${server.http.address().port}/announce`
  const infoHash = randomBytes(20)
  const other = await registerOtherPeer(url, infoHash, 7051)
  const src = source([[url]], 7052, { infoHash })
  try {
    const peers = nextPeers(src)
    src.start()
    assert.deepEqual(await peers, [
      { host: '::1', port: 7051, source: 'tracker' },
      { host: '::1', port: 7052, source: 'tracker' },
    ])
  } finally {
    await src.stop()
    await other.stop()
    await closeServer(server)
  }
})

test('a tracker that is down at first is retried at +30 s, +60 s, then answers', async () => {
  const clock = new FakeClock(START_MS)
  const dead = await deadUrl()
  const infoHash = randomBytes(20)
  const src = source([[dead.url]], 7100, { clock, infoHash })
  let server: Server | undefined
  let other: TrackerSource | undefined
  try {
    let failed = nextError(src)
    src.start()
    let err = await failed
    assert.equal(err.url, dead.url)
    assert.equal(err.message, `cannot connect to tracker 127.0.0.1:${dead.port} (connection refused)`)
    assert.equal(err.retryAtMs, START_MS + 30_000)
    assert.equal(clock.pending(), 1, 'only our retry timer is waiting')
    assert.deepEqual(
      { state: src.status()[0].state, failures: src.status()[0].failures, next: src.status()[0].nextAnnounceAtMs },
      { state: 'error', failures: 1, next: START_MS + 30_000 },
    )

    clock.advance(29_999)
    assert.equal(src.status()[0].state, 'error', 'no attempt before the backoff ends')
    failed = nextError(src)
    clock.advance(1)
    assert.equal(src.status()[0].state, 'announcing')
    err = await failed
    assert.equal(err.retryAtMs, START_MS + 30_000 + 60_000)
    assert.equal(src.status()[0].failures, 2)

    server = await listenTrackerOn(dead.port)
    other = await registerOtherPeer(dead.url, infoHash, 7101)
    const started: string[] = []
    server.on('start', (addr: string) => started.push(addr))

    clock.advance(59_999)
    assert.deepEqual(started, [], 'still waiting out the 60 s backoff')
    const peers = nextPeers(src)
    clock.advance(1)
    assert.deepEqual(await peers, local(7100, 7101))
    assert.deepEqual(started, ['127.0.0.1:7100'], "the retry still carries 'started'")
    const [status] = src.status()
    assert.equal(status.state, 'ok')
    assert.equal(status.failures, 0)
    assert.equal(status.intervalMs, 600_000)
    assert.equal(status.nextAnnounceAtMs, START_MS + 90_000 + 600_000)
  } finally {
    await src.stop()
    await other?.stop()
    if (server) await closeServer(server)
  }
  assert.equal(clock.pending(), 0, 'stop() cancelled every timer')
})

test('tiers: the first tier is dead, peers come from the second; the first is retried and taken back when it recovers', async () => {
  const clock = new FakeClock(START_MS)
  const live = await startTracker({ intervalMs: 600_000 })
  const dead = await deadUrl()
  const infoHash = randomBytes(20)
  const other = await registerOtherPeer(live.httpUrl, infoHash, 7201)
  const src = source([[dead.url], [live.httpUrl]], 7200, { clock, infoHash })
  let recovered: Server | undefined
  try {
    const failed = nextError(src)
    const announced = waitFor<{ url: string }>(src, 'trackerAnnounced', WAIT_MS)
    const peers = nextPeers(src)
    src.start()
    assert.equal((await failed).url, dead.url)
    assert.equal((await announced).url, live.httpUrl, 'the second tier answered')
    assert.deepEqual(await peers, local(7200, 7201))
    let [first, second] = src.status()
    assert.deepEqual([first.url, first.tier, first.state], [dead.url, 0, 'error'])
    assert.deepEqual([second.url, second.tier, second.state], [live.httpUrl, 1, 'ok'])
    assert.equal(first.nextAnnounceAtMs, START_MS + 30_000, 'a better tier keeps being retried')

    // The first tier comes back: at its retry it gets 'started' and the second tier stands by.
    recovered = await listenTrackerOn(dead.port)
    const backUp = waitFor<{ url: string }>(src, 'trackerAnnounced', WAIT_MS)
    clock.advance(30_000)
    assert.equal((await backUp).url, dead.url)
    ;[first, second] = src.status()
    assert.equal(first.state, 'ok')
    assert.equal(second.state, 'idle')
    assert.equal(second.nextAnnounceAtMs, undefined, 'no schedule while a better tier works')
    assert.equal(Object.keys(recovered.torrents).length, 1)
  } finally {
    await src.stop()
    await other.stop()
    await live.close()
    if (recovered) await closeServer(recovered)
  }
  assert.equal(clock.pending(), 0)
})

test('tiers: a tier member that answers moves to the front, the failed one waits behind it', async () => {
  const clock = new FakeClock(START_MS)
  const live = await startTracker({ intervalMs: 600_000 })
  const dead = await deadUrl()
  try {
    // Each tier is shuffled at construction: build until the dead tracker comes first.
    let src = source([[dead.url, live.httpUrl]], 7300, { clock })
    for (let i = 0; i < 64 && src.status()[0].url !== dead.url; i++) src = source([[dead.url, live.httpUrl]], 7300, { clock })
    assert.equal(src.status()[0].url, dead.url, 'shuffle never put the dead tracker first')

    const errors: TrackerErrorInfo[] = []
    src.on('trackerError', (e) => errors.push(e))
    const announced = waitFor<{ url: string }>(src, 'trackerAnnounced', WAIT_MS)
    src.start()
    assert.equal((await announced).url, live.httpUrl)
    const [first, second] = src.status()
    assert.equal(first.url, live.httpUrl, 'the answering tracker moved to the front of its tier')
    assert.equal(second.url, dead.url)
    assert.equal(second.state, 'error')
    assert.equal(second.nextAnnounceAtMs, undefined, 'BEP 12: tried again only if the front one fails')
    assert.equal(errors.length, 1)

    clock.advance(120_000)
    assert.equal(errors.length, 1, 'the failed member is not retried behind a working one')
    await src.stop()
  } finally {
    await live.close()
  }
  assert.equal(clock.pending(), 0)
})

test('a websocket tracker is skipped with a status error', async () => {
  const live = await startTracker()
  const src = source([['ws://127.0.0.1:9/announce', 'wss://tracker.invalid/'], [live.httpUrl]], 7400)
  try {
    const announced = waitFor<{ url: string }>(src, 'trackerAnnounced', WAIT_MS)
    src.start()
    assert.equal((await announced).url, live.httpUrl)
    const ws = src.status().filter((s) => s.url.startsWith('ws'))
    assert.equal(ws.length, 2)
    for (const s of ws) {
      assert.equal(s.state, 'error')
      assert.equal(s.lastError, 'websocket trackers are not supported')
      assert.equal(s.lastAnnounceAtMs, undefined)
    }
  } finally {
    await src.stop()
    await live.close()
  }
})

test("a tracker's failure reason becomes a trackerError with that reason", async () => {
  const clock = new FakeClock(START_MS)
  const bad = await fixedReplyTracker('d14:failure reason12:not allowed!e')
  const src = source([[bad.url]], 7500, { clock })
  try {
    const failed = nextError(src)
    src.start()
    const err = await failed
    assert.equal(err.message, 'tracker refused the announce: not allowed!')
    assert.equal(err.retryAtMs, START_MS + 30_000)
    assert.equal(src.status()[0].lastError, 'tracker refused the announce: not allowed!')
  } finally {
    await src.stop()
    await bad.close()
  }
})

test('a tracker answering garbage gives a clear trackerError', async () => {
  const clock = new FakeClock(START_MS)
  const bad = await fixedReplyTracker('<html><body>503 backend down</body></html>')
  const src = source([[bad.url]], 7600, { clock })
  try {
    const failed = nextError(src)
    src.start()
    const err = await failed
    assert.match(err.message, /^tracker sent a reply that is not bencoded \(starts with "<html><body>503 backend down/)
    assert.doesNotMatch(err.message, /\n/)
    assert.equal(err.retryAtMs, START_MS + 30_000)
  } finally {
    await src.stop()
    await bad.close()
  }
})

test('a tracker that never answers times out on our clock and its connection is closed', async () => {
  const clock = new FakeClock(START_MS)
  const silent = await fixedReplyTracker(undefined)
  const src = source([[silent.url]], 7700, { clock, announceTimeoutMs: 15_000 })
  try {
    src.start()
    await waitUntil(() => silent.openSockets() === 1, WAIT_MS, 'the announce to reach the silent tracker')
    const failed = nextError(src)
    clock.advance(15_000)
    const err = await failed
    assert.equal(err.message, 'tracker did not answer within 15 s')
    assert.equal(err.retryAtMs, START_MS + 15_000 + 30_000)
    await waitUntil(() => silent.openSockets() === 0, WAIT_MS, 'the timed-out request to close its socket')
  } finally {
    await src.stop()
    await silent.close()
  }
  assert.equal(clock.pending(), 0)
})

test('announceNow keeps the 30 s minimum gap; complete() sends completed at once', async () => {
  const clock = new FakeClock(START_MS)
  const live = await startTracker({ intervalMs: 600_000 })
  const infoHash = randomBytes(20)
  let left = 1000
  const src = source([[live.httpUrl]], 7800, { clock, infoHash, getStats: () => ({ uploaded: 0, downloaded: 1000 - left, left }) })
  const events: string[] = []
  for (const name of ['start', 'update', 'complete', 'stop']) live.server.on(name, () => events.push(name))
  try {
    const first = waitFor(src, 'trackerAnnounced', WAIT_MS)
    src.start()
    await first
    assert.deepEqual(events, ['start'])
    assert.equal(src.status()[0].nextAnnounceAtMs, START_MS + 600_000)

    src.announceNow()
    assert.equal(src.status()[0].state, 'ok', 'too soon: nothing sent')
    assert.equal(src.status()[0].nextAnnounceAtMs, START_MS + 30_000, 'moved up to the end of the minimum gap')
    const update = waitFor(src, 'trackerAnnounced', WAIT_MS)
    clock.advance(30_000)
    await update
    assert.deepEqual(events, ['start', 'update'])

    assert.equal(live.seederCount(infoHash.toString('hex')), 0)
    const completed = waitFor(src, 'trackerAnnounced', WAIT_MS)
    left = 0
    src.complete()
    await completed
    assert.deepEqual(events, ['start', 'update', 'complete'])
    assert.equal(live.seederCount(infoHash.toString('hex')), 1)
    await src.stop()
    assert.deepEqual(events, ['start', 'update', 'complete', 'stop'])
  } finally {
    await src.stop()
    await live.close()
  }
  assert.equal(clock.pending(), 0)
})
