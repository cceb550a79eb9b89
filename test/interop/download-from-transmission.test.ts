// friendtorrent downloads the odd-layout torrent from a real transmission-daemon
// seeder. Transmission 3.00 never dials 127.0.0.0/8 peers, so this passes only
// if we dial it ourselves from the tracker's answer; it also unchokes only at
// its 10 s rechoke, so a client must wait patiently while choked.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, downloadWithCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { requireBinaries, startTransmissionSeeder } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

const CLI_TIMEOUT_MS = 60_000

test('friendtorrent downloads the odd layout from a transmission seeder', { timeout: CLI_TIMEOUT_MS + 30_000 }, async (t) => {
  if (!requireBinaries(t, ['transmission-daemon', 'transmission-remote'])) return
  const tracker = await startTracker()
  const work = tempDir('dl-from-transmission')
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl, tracker.udpUrl] })
    const seeder = await startTransmissionSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
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
