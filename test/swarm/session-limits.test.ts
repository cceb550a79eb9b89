// The session pauses a seeding torrent at its seed-time limit and says why.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { tempDir } from '../helpers/net.ts'

test('a torrent is paused when it reaches the seed-time limit', { timeout: 30_000 }, async () => {
  const work = tempDir('ft-seed-limit')
  const session = await openTestSession(join(work.path, 'state'), { download: false, maxActiveDownloads: 1, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4, seedTimeLimitMs: 1_000 })
  await session.start()
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
    const limited = new Promise<string>((resolve) => session.once('seedLimit', (_summary, reason) => resolve(reason)))
    const { added } = await session.add(readFileSync(fixture.torrentPath), fixture.payloadDir)
    assert.ok(added)
    const deadline = Date.now() + 10_000
    while (session.list()[0].state !== 'seeding' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.equal(session.list()[0].state, 'seeding', 'complete data is checked and seeded')
    assert.match(await limited, /seed-time limit/)
    assert.equal(session.list()[0].state, 'paused')
  } finally {
    await session.close()
    await work.cleanup()
  }
})
