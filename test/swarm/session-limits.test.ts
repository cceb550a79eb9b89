// The session pauses a seeding torrent at its seed-time limit or seed ratio and says why.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { TorrentSummary } from '../../src/session/session.ts'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { TickCountingClock } from '../helpers/fake-clock.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitFor, waitUntil } from '../helpers/net.ts'
import { startOurPeer, type OurPeer } from '../helpers/our-seeder.ts'

/** The session checks its seed limits every 5 s; the tests run that check when they want it. */
const SEED_LIMIT_CHECK_MS = 5_000

test('a torrent is paused when it reaches the seed-time limit', { timeout: 30_000 }, async () => {
  const work = tempDir('ft-seed-limit')
  const clock = new TickCountingClock()
  const session = await openTestSession(join(work.path, 'state'), { download: false, maxActiveDownloads: 1, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4, seedTimeLimitMs: 1_000, clock })
  await session.start()
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
    const limited = new Promise<string>((resolve) => session.once('seedLimit', (_summary, reason) => resolve(reason)))
    const { added } = await session.add(readFileSync(fixture.torrentPath), fixture.payloadDir)
    assert.ok(added)
    const deadline = Date.now() + 10_000
    while (session.list()[0].state !== 'seeding' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.equal(session.list()[0].state, 'seeding', 'complete data is checked and seeded')
    // The first check sees it seeding; one a second (the limit) later pauses it. Without the test
    // running them, the checks come every 5 s.
    clock.fireIntervals(SEED_LIMIT_CHECK_MS)
    const seedingSince = clock.now()
    await waitUntil(() => clock.now() - seedingSince > 1_000, 5_000, 'the seed-time limit to pass')
    clock.fireIntervals(SEED_LIMIT_CHECK_MS)
    assert.match(await limited, /seed-time limit/)
    assert.equal(session.list()[0].state, 'paused')
  } finally {
    await session.close()
    await work.cleanup()
  }
})

test('a torrent is paused once it has uploaded seedRatioLimit times its size, and not before', { timeout: 30_000 }, async () => {
  const work = tempDir('ft-seed-ratio')
  const built = buildTorrent({ name: 'ratio.bin', files: 300_000, pieceLength: 32 * 1024, seed: 61 })
  const seedDir = join(work.path, 'seed')
  mkdirSync(seedDir)
  writeFileSync(join(seedDir, 'ratio.bin'), built.payload)
  const torrentPath = join(work.path, 'ratio.torrent')
  writeFileSync(torrentPath, built.torrent)
  const clock = new TickCountingClock()
  const session = await openTestSession(join(work.path, 'state'), { download: false, seedRatioLimit: 1.5, clock })
  const leechers: OurPeer[] = []
  const reasons: string[] = []
  session.on('seedLimit', (_summary, reason) => reasons.push(reason))
  /** A leecher on loopback that takes the whole torrent from the session. */
  const leech = async (n: number) => {
    const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, `leech-${n}`), useTrackers: false, peers: [{ host: '127.0.0.1', port: session.port, source: 'manual' }] })
    leechers.push(leecher)
    await waitFor(leecher.torrent, 'complete', 20_000)
    assert.ok(readFileSync(join(work.path, `leech-${n}`, 'ratio.bin')).equals(built.payload), `leecher ${n} got the file byte for byte`)
    await waitUntil(() => session.list()[0].uploadedBytes >= n * built.payload.length, 10_000, `the session to count ${n}× the torrent uploaded`)
  }
  try {
    await session.start()
    await session.add(built.torrent, seedDir)
    await waitUntil(() => session.list()[0].state === 'seeding', 10_000, 'complete data to be checked and seeded')

    await leech(1)
    // The check runs synchronously up to a pause it decides on; with none to make it is over on return.
    clock.fireIntervals(SEED_LIMIT_CHECK_MS)
    assert.equal(session.list()[0].state, 'seeding', `at ratio ${(session.list()[0].uploadedBytes / built.payload.length).toFixed(2)} it seeds on`)
    assert.deepEqual(reasons, [])

    await leech(2)
    const limited = waitFor<TorrentSummary>(session, 'seedLimit', 10_000)
    clock.fireIntervals(SEED_LIMIT_CHECK_MS)
    await limited
    assert.equal(reasons.length, 1)
    assert.match(reasons[0], /^reached the seed ratio 1\.5 \(uploaded 2\.\d\d× its size\)$/)
    assert.equal(session.list()[0].state, 'paused')
  } finally {
    for (const l of leechers) await l.stop()
    await session.close()
    await work.cleanup()
  }
})
