// A torrent being paused stays paused when the session schedules in the
// meantime (another torrent resumed while this one still tells its tracker
// "stopped"): the scheduler must not start it again half-way through its
// stop. Found by the soak (test/soak), where such a restarted torrent kept
// running after its data was removed.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

test('pause is not undone by a schedule run while the torrent is still stopping', { timeout: 60_000 }, async () => {
  // Answers "started"; never answers the second "stopped" (a.bin's), so that stop takes the tracker wait (a few seconds).
  let started = 0
  let stopped = 0
  const tracker = createServer((req, res) => {
    if (req.url?.includes('event=stopped')) {
      stopped++
      if (stopped === 2) return
    }
    if (req.url?.includes('event=started')) started++
    res.end('d8:intervali1800e5:peers0:e')
  })
  tracker.listen(0, '127.0.0.1')
  await once(tracker, 'listening')
  const announce = `http://127.0.0.1:${(tracker.address() as { port: number }).port}/announce`
  const work = tempDir('ft-stop-race')
  const data = join(work.path, 'data')
  mkdirSync(data)
  const [a, b] = ['a.bin', 'b.bin'].map((name, i) => {
    const built = buildTorrent({ name, files: 100_000, pieceLength: 16 * 1024, announce: [announce], seed: 50 + i })
    writeFileSync(join(data, name), built.payload)
    return { ...built, hex: built.infoHash.toString('hex') }
  })
  const session = await openTestSession(join(work.path, 'state'), { maxActiveDownloads: 2, maxActiveSeeds: 2, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4 })
  try {
    await session.start()
    await session.add(a.torrent, data)
    await session.add(b.torrent, data)
    const state = (hex: string): string | undefined => session.list().find((t) => t.infoHash === hex)?.state
    await waitUntil(() => state(a.hex) === 'seeding' && state(b.hex) === 'seeding' && started === 2, 20_000, 'both torrents to seed and announce')
    await session.pause(b.hex)

    const pausing = session.pause(a.hex)
    // b.bin's "stopped" came first; the second is a.bin's, still waiting for an answer.
    await waitUntil(() => stopped === 2, 10_000, 'a.bin to tell the tracker "stopped"')
    await session.resume(b.hex)
    await pausing
    assert.equal(state(a.hex), 'paused', 'a.bin stays paused')
    assert.equal(session.list().find((t) => t.infoHash === a.hex)?.connectedPeers, 0)
    await waitUntil(() => state(b.hex) === 'seeding', 20_000, 'b.bin to seed again')
  } finally {
    await session.close()
    tracker.closeAllConnections()
    await new Promise<void>((resolve) => tracker.close(() => resolve()))
    await work.cleanup()
  }
})
