// friendtorrent downloads the odd-layout torrent from a real aria2c seeder it
// learns of through a tracker on 127.0.0.1, and writes a byte-identical tree
// (empty file, 1-byte file, nested and non-ASCII names included).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, downloadWithCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { requireBinaries, startAria2Seeder } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

const CLI_TIMEOUT_MS = 60_000

test('friendtorrent downloads the odd layout from an aria2c seeder', { timeout: CLI_TIMEOUT_MS + 30_000 }, async (t) => {
  if (!requireBinaries(t, ['aria2c'])) return
  const tracker = await startTracker()
  const work = tempDir('dl-from-aria2')
  try {
    // UDP tracker first (BEP 15), HTTP as the second tier (BEP 12): aria2c and we both speak both.
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.udpUrl, tracker.httpUrl] })
    const seeder = await startAria2Seeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
    try {
      await tracker.waitForSeeders(fixture.infoHash, 1, 15_000)
      const outDir = join(work.path, 'out')
      const result = await downloadWithCli({ torrentPath: fixture.torrentPath, outDir, timeoutMs: CLI_TIMEOUT_MS })
      assert.equal(result.code, 0, `${describeRun(result)}\n${seeder.logs().slice(-2000)}`)
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
    } finally {
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
