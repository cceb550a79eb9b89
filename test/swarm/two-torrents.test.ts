// One listening port serves two torrents (handshakes routed by info hash), and
// one remote address shares both torrents with us at the same time; each
// side's two torrents share budgets far smaller than their pieces in flight
// would take (the floor of one piece or block each keeps both moving), and
// stopped, they give everything back.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { newPeerId } from '../../src/core/peer-id.ts'
import { transferBudgets } from '../../src/core/memory-budget.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

test('two torrents from the same remote address at once, through one listener', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-two')
  const listener = new Listener()
  const torrents: Torrent[] = []
  // 4 pieces of alpha's, 2 blocks: the two torrents on each side contend for them.
  const seedBudgets = transferBudgets(128 * 1024, 32 * 1024)
  const leechBudgets = transferBudgets(128 * 1024, 32 * 1024)
  try {
    const port = await listener.listen(0, '127.0.0.1')
    const builds = [
      buildTorrent({ name: 'alpha.bin', files: 700_000, pieceLength: 32 * 1024, seed: 1 }),
      buildTorrent({ name: 'beta.bin', files: 900_001, pieceLength: 16 * 1024, seed: 2 }),
    ]
    const seedDir = join(work.path, 'seed')
    mkdirSync(seedDir, { recursive: true })
    for (const b of builds) {
      const meta = await parseTorrentFile(b.torrent)
      writeFileSync(join(seedDir, meta.name), b.payload)
      const seeder = new Torrent({ meta, storage: await FileStorage.open(meta, seedDir), peerId: newPeerId(), listenPort: port, useTrackers: false, budgets: seedBudgets })
      listener.register(meta.infoHash, (socket, decoder, handshake, rest) => seeder.handleIncoming(socket, decoder, handshake, rest))
      await seeder.start()
      assert.equal(seeder.state, 'seeding')
      torrents.push(seeder)
    }
    const leechDir = join(work.path, 'leech')
    const leechers = await Promise.all(
      builds.map(async (b) => {
        const meta = await parseTorrentFile(b.torrent)
        const t = new Torrent({ meta, storage: await FileStorage.open(meta, leechDir), peerId: newPeerId(), listenPort: 0, useTrackers: false, budgets: leechBudgets })
        torrents.push(t)
        return t
      }),
    )
    const done = leechers.map((t) => new Promise<void>((resolve, reject) => {
      t.once('complete', () => resolve())
      t.once('error', (m) => reject(new Error(m)))
    }))
    for (const t of leechers) {
      t.addPeers([{ host: '127.0.0.1', port, source: 'manual' }])
      await t.start()
    }
    await Promise.all(done)
    for (const b of builds) {
      const name = b === builds[0] ? 'alpha.bin' : 'beta.bin'
      assert.ok(readFileSync(join(leechDir, name)).equals(b.payload), `${name} is byte-identical`)
    }
    assert.equal(leechBudgets.pieces.usedBytes, 0, 'complete torrents hold no piece memory')
    for (const t of torrents) await t.stop()
    assert.equal(leechBudgets.pieces.usedBytes + seedBudgets.pieces.usedBytes, 0)
    await waitUntil(() => seedBudgets.inFlight.usedBytes + leechBudgets.inFlight.usedBytes === 0, 5_000, 'stopped torrents to give back their blocks in flight')
    assert.equal(seedBudgets.inFlight.waiting + leechBudgets.pieces.waiting, 0, 'no one left waiting')
  } finally {
    for (const t of torrents) await t.stop()
    await listener.close()
    await work.cleanup()
  }
})
