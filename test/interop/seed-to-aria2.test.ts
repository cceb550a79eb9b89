// Our seeder → a real aria2c leecher that finds us through a tracker on 127.0.0.1.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { exitWithin } from '../helpers/managed-process.ts'
import { requireBinaries, startAria2Leecher } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

test('aria2c downloads the odd layout from our seeder', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, ['aria2c'])) return
  const tracker = await startTracker()
  const work = tempDir('seed-to-aria2')
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
    try {
      await tracker.waitForSeeders(fixture.infoHash, 1, 15_000)
      const outDir = join(work.path, 'out')
      const leecher = await startAria2Leecher({ torrentPath: fixture.torrentPath, dataDir: outDir })
      try {
        const code = await exitWithin(leecher.exited, 60_000)
        assert.equal(code, 0, `aria2c ended with ${code}\n${leecher.logs().slice(-2000)}`)
      } finally {
        await leecher.stop()
      }
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      assert.ok(seeder.torrent.snapshot().uploadedBytes >= fixture.totalBytes)
    } finally {
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
