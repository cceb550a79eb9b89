// A magnet link added to a running session shows as "fetching metadata", then
// joins the library like a .torrent and downloads; one nobody serves can be
// removed while it is still fetching.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { magnetUri, parseMagnetOrInfoHash } from '../../src/metainfo/magnet.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startTracker } from '../helpers/tracker.ts'

test('a session fetches a magnet link\u2019s metadata, then downloads it; a pending fetch can be removed', { timeout: 60_000 }, async () => {
  const tracker = await startTracker()
  const work = tempDir('ft-session-magnet')
  const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
  const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
  const stateDir = join(work.path, 'state')
  const session = await openTestSession(stateDir, { maxActiveDownloads: 2, maxActiveSeeds: 2, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4 })
  await session.start()
  try {
    await tracker.waitForSeeders(fixture.infoHash, 1, 15_000)
    const out = join(work.path, 'out')
    const link = parseMagnetOrInfoHash(magnetUri({ infoHashHex: fixture.infoHash, name: fixture.name, tiers: [[tracker.httpUrl]] }))
    const { added, summary } = await session.addMagnet(link, out)
    assert.ok(added)
    assert.equal(summary.state, 'fetching metadata')
    assert.equal(session.list()[0].state, 'fetching metadata')

    const deadline = Date.now() + 30_000
    while (session.list()[0]?.state !== 'seeding' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    assert.equal(session.list()[0]?.state, 'seeding', JSON.stringify(session.list()))
    await assertSameTree(join(fixture.payloadDir, fixture.name), join(out, fixture.name))
    assert.ok(existsSync(join(stateDir, 'torrents', `${fixture.infoHash}.torrent`)), 'the fetched metadata is in the library')

    // Nobody has this one: it stays fetching until removed.
    const orphan = parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=orphan`)
    await session.addMagnet(orphan, out)
    assert.equal(session.list().find((t) => t.name === 'orphan')?.state, 'fetching metadata')
    await session.remove('orphan', false)
    assert.equal(session.list().find((t) => t.name === 'orphan'), undefined)
  } finally {
    await session.close()
    await seeder.stop()
    await tracker.close()
    await work.cleanup()
  }
})
