// Our seeder → a real transmission-daemon leecher, both finding each other
// through a tracker on 127.0.0.1. Transmission 3.00 never dials 127.0.0.0/8
// peers, so this passes only if our seeder dials the leecher it hears of.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { assertSameTreeBarEmptyFiles } from '../helpers/compare.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurSeeder, type OurPeer } from '../helpers/our-seeder.ts'
import { requireBinaries, startTransmissionLeecher } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

// Our tracker client never re-announces sooner than 30 s, whatever the tracker
// says; a short interval makes Transmission re-announce often.
const TRACKER_INTERVAL_MS = 2_000
const DOWNLOAD_TIMEOUT_MS = 60_000

test('transmission-daemon downloads the odd layout from our seeder', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['transmission-daemon', 'transmission-remote'])) return
  const tracker = await startTracker({ intervalMs: TRACKER_INTERVAL_MS })
  const work = tempDir('seed-to-transmission')
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    // Transmission announces first, so our seeder hears of it in its first
    // announce: ours re-announces no sooner than 30 s.
    const outDir = join(work.path, 'out')
    const leecher = await startTransmissionLeecher({ torrentPath: fixture.torrentPath, dataDir: outDir })
    let seeder: OurPeer | undefined
    try {
      try {
        await waitUntil(() => tracker.peerCount(fixture.infoHash) >= 1, 15_000, 'transmission to announce to the tracker')
        seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
        const startedAtMs = Date.now()
        await leecher.waitComplete(DOWNLOAD_TIMEOUT_MS)
        assert.equal(await leecher.progress(), 1)
        t.diagnostic(`transmission completed ${Date.now() - startedAtMs} ms after our seeder started`)
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- transmission log ---\n${leecher.logs().slice(-2000)}`)
      } finally {
        // Stopping flushes Transmission's write cache, so the files are whole before they are compared.
        await leecher.stop()
      }
      await assertSameTreeBarEmptyFiles(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      const uploaded = seeder.torrent.snapshot().uploadedBytes
      assert.ok(uploaded >= fixture.totalBytes, `our seeder uploaded ${uploaded} bytes, less than the ${fixture.totalBytes}-byte payload`)
    } finally {
      await seeder?.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
