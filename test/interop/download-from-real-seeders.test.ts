// friendtorrent downloads the odd-layout torrent (empty file, 1-byte file,
// nested and non-ASCII names) from real seeders it learns of through a tracker
// on 127.0.0.1, and writes a byte-identical tree.
// Transmission 3.00 never dials 127.0.0.0/8 peers, so that case passes only if
// we dial it from the tracker's answer; it also unchokes only at its 10 s
// rechoke, so a client must wait patiently while choked.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, downloadWithCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { requireBinaries, startAria2Seeder, startTransmissionSeeder, type ClientHandle } from '../helpers/real-clients.ts'
import { startTracker, type TestTracker } from '../helpers/tracker.ts'

const CLI_TIMEOUT_MS = 60_000

const seeders: { name: string; binaries: string[]; announce: (t: TestTracker) => string[]; start: (torrentPath: string, dataDir: string) => Promise<ClientHandle> }[] = [
  // UDP first (BEP 15), HTTP as the second tier (BEP 12): aria2c and we both speak both.
  { name: 'aria2c', binaries: ['aria2c'], announce: (t) => [t.udpUrl, t.httpUrl], start: (torrentPath, dataDir) => startAria2Seeder({ torrentPath, dataDir }) },
  {
    name: 'transmission',
    binaries: ['transmission-daemon', 'transmission-remote'],
    announce: (t) => [t.httpUrl, t.udpUrl],
    start: (torrentPath, dataDir) => startTransmissionSeeder({ torrentPath, dataDir }),
  },
]

for (const seeder of seeders) {
  test(`friendtorrent downloads the odd layout from a ${seeder.name} seeder`, { timeout: CLI_TIMEOUT_MS + 30_000 }, async (t) => {
    if (!requireBinaries(t, seeder.binaries)) return
    const tracker = await startTracker()
    const work = tempDir(`dl-from-${seeder.name}`)
    try {
      const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: seeder.announce(tracker) })
      const client = await seeder.start(fixture.torrentPath, fixture.payloadDir)
      try {
        await tracker.waitForSeeders(fixture.infoHash, 1, 15_000)
        const outDir = join(work.path, 'out')
        const result = await downloadWithCli({ torrentPath: fixture.torrentPath, outDir, timeoutMs: CLI_TIMEOUT_MS })
        assert.equal(result.code, 0, `${describeRun(result)}\n${client.logs().slice(-2000)}`)
        await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      } finally {
        await client.stop()
      }
    } finally {
      await tracker.close()
      await work.cleanup()
    }
  })
}
