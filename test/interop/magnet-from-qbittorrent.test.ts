// A magnet link whose tr= points at a tracker on 127.0.0.1, seeded by a real
// client (qBittorrent-nox, libtorrent) that serves the metadata over BEP 9.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { magnetUri } from '../../src/metainfo/magnet.ts'
import { describeRun, runCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { requireBinaries, startQbittorrentSeeder } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

test('add <magnet with tr=> fetches metadata from qBittorrent and downloads byte for byte', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['qbittorrent-nox'])) return
  const tracker = await startTracker()
  const work = tempDir('magnet-qb')
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const seeder = await startQbittorrentSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
    try {
      await tracker.waitForSeeders(fixture.infoHash, 1, 30_000)
      const out = join(work.path, 'out')
      const link = magnetUri({ infoHashHex: fixture.infoHash, name: fixture.name, tiers: [[tracker.httpUrl]] })
      const run = await runCli(['add', link, '-o', out, '--port', String(await freePort())], { timeoutMs: 90_000 })
      assert.equal(run.code, 0, `${describeRun(run)}\n${seeder.logs().slice(-1500)}`)
      assert.match(run.stdout, /metadata verified/)
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(out, fixture.name))
    } finally {
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
