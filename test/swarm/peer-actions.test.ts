// Peer actions through the control command table, as the dashboard and the
// CLI send them, against a loopback seeder: add a peer by HOST:PORT, disconnect
// it, ban its address (its connection closes, it is refused when it calls
// back, the ban is kept in the library across a restart), lift the ban and the
// download finishes byte for byte.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { controlHandler } from '../../src/cli/session-control.ts'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import type { Session, TorrentDetails } from '../../src/session/session.ts'
import { makeSingleFile } from '../../fixtures/make-fixtures.ts'
import type { Fixture } from '../../fixtures/make-fixtures.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'
import { openTestSession } from '../helpers/session.ts'

describe('peer actions (control commands)', () => {
  let work: TempDir
  let fixture: Fixture
  let seeder: OurPeer
  let session: Session | undefined

  before(async () => {
    work = tempDir('dash-peer-actions')
    fixture = await makeSingleFile(join(work.path, 'fixture'), { sizeBytes: 2 * 1024 * 1024, pieceLength: 32 * 1024, announce: ['http://127.0.0.1:9/announce'] })
    // No tracker answers (port 9): peers come only by hand. ~8 s for 2 MiB: time enough to act on the connection before it completes.
    seeder = await startSeeder()
  })

  const startSeeder = () =>
    startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false, uploadLimiter: new LimiterChain(new TokenBucket(256 * 1024)) })

  after(async () => {
    await session?.close()
    await seeder?.stop()
    await work?.cleanup()
  })

  it('adds, disconnects, bans (refused when it calls back, kept across a restart), unbans and finishes', async () => {
    const stateDir = join(work.path, 'state')
    const dl = join(work.path, 'dl')
    session = await openTestSession(stateDir)
    await session.start()
    const call = controlHandler(session, work.path, dl)
    const added = (await call('add', { torrentBase64: (await readFile(fixture.torrentPath)).toString('base64'), savePath: dl })) as { summary: { infoHash: string } }
    const id = added.summary.infoHash
    let seederKey = `127.0.0.1:${seeder.port}`
    const peers = async () => ((await call('details', { id })) as TorrentDetails).peers.map((p) => p.key)

    await assert.rejects(call('add-peers', { id, peers: ['not-an-address'] }), /is not HOST:PORT/)
    assert.deepEqual(await call('add-peers', { id: id.slice(0, 8), peers: [seederKey] }), { infoHash: id, added: 1 })
    await waitUntil(async () => (await peers()).includes(seederKey), 10_000, 'the seeder connected')
    const source = ((await call('details', { id })) as TorrentDetails).peers.find((p) => p.key === seederKey)?.source
    assert.equal(source, 'manual')

    assert.deepEqual(await call('disconnect', { id, peer: seederKey }), { disconnected: seederKey })
    await waitUntil(async () => !(await peers()).includes(seederKey), 5000, 'the seeder disconnected')
    await assert.rejects(call('disconnect', { id, peer: seederKey }), /has no connected peer/)

    // A connection again, then ban its address. After a disconnect both ends
    // wait 30 s before dialling that address again, so it is a seeder on a new port.
    await seeder.stop()
    seeder = await startSeeder()
    seederKey = `127.0.0.1:${seeder.port}`
    session.addPeers(id, [{ host: '127.0.0.1', port: seeder.port }])
    await waitUntil(async () => (await peers()).includes(seederKey), 10_000, 'a connection again')
    const banned = (await call('ban', { address: '::ffff:127.0.0.1' })) as { address: string; closed: number }
    assert.equal(banned.address, '127.0.0.1')
    assert.ok(banned.closed >= 1, `closed ${banned.closed}`)
    await waitUntil(async () => (await peers()).length === 0, 5000, 'every connection with the address closed')
    assert.deepEqual(await call('bans', {}), ['127.0.0.1'])
    const progressAtBan = ((await call('details', { id })) as TorrentDetails).summary.progress
    assert.ok(progressAtBan < 1, 'the ban came before the end')

    // The seeder calls back: refused. Given again by hand: never dialled.
    const refused = new Promise<void>((resolve) => {
      const onEnd = (key: string) => {
        if (key === `127.0.0.1:${session!.port}`) resolve()
      }
      seeder.torrent.on('peerFailed', onEnd)
      seeder.torrent.on('peerDisconnected', onEnd)
    })
    seeder.torrent.addPeers([{ host: '127.0.0.1', port: session.port, source: 'manual' }])
    await call('add-peers', { id, peers: [seederKey] })
    await refused
    assert.deepEqual(await peers(), [], 'a banned address stays away')

    // Kept in the library: a restarted session still bans it.
    await session.close()
    session = await openTestSession(stateDir)
    assert.deepEqual(session.bans(), ['127.0.0.1'])
    await session.start()
    const again = controlHandler(session, work.path, dl)
    assert.deepEqual(await again('unban', { address: '127.0.0.1' }), { address: '127.0.0.1', wasBanned: true })
    assert.deepEqual(await again('bans', {}), [])
    await again('add-peers', { id, peers: [seederKey] })
    await waitUntil(async () => ((await again('list', {})) as { state: string }[])[0]?.state === 'seeding', 60_000, 'the download finished')
    await assertSameTree(fixture.payloadDir, dl)
  })
})
