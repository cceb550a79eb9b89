// uTP against libtorrent: qBittorrent-nox in uTP-only mode (Session\BTProtocol=UTP,
// no TCP at all, so a completed transfer proves uTP) seeds to us when we dial
// it, and downloads from us when it dials us, byte for byte.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { requireBinaries, startQbittorrent, startQbittorrentSeeder } from '../helpers/real-clients.ts'

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex')

test('qBittorrent in uTP-only mode seeds to us over uTP, byte for byte', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['qbittorrent-nox'])) return
  const work = tempDir('utp-qb-seed')
  const listener = new Listener()
  let torrent: Torrent | undefined
  try {
    const b = buildTorrent({ name: 'from-qb.bin', files: 24 * 1024 * 1024 + 12345, pieceLength: 256 * 1024, seed: 41 })
    const seedDir = join(work.path, 'seed')
    mkdirSync(seedDir, { recursive: true })
    writeFileSync(join(seedDir, 'from-qb.bin'), b.payload)
    const torrentPath = join(work.path, 'x.torrent')
    writeFileSync(torrentPath, b.torrent)
    const qb = await startQbittorrentSeeder({ torrentPath, dataDir: seedDir, protocol: 'UTP' })
    try {
      const port = await listener.listen(0, '127.0.0.1')
      const meta = await parseTorrentFile(b.torrent)
      const leechDir = join(work.path, 'leech')
      torrent = new Torrent({ meta, storage: await FileStorage.open(meta, leechDir), peerId: newPeerId(), listenPort: port, useTrackers: false, transports: listener.transports })
      const done = new Promise<void>((resolve, reject) => {
        torrent!.once('complete', () => resolve())
        torrent!.once('error', (m) => reject(new Error(m)))
      })
      let transport: string | undefined
      const poll = setInterval(() => {
        transport ??= torrent!.snapshot().peers[0]?.transport
      }, 50)
      torrent.addPeers([{ host: '127.0.0.1', port: qb.port, source: 'manual' }])
      await torrent.start()
      await done.finally(() => clearInterval(poll))
      assert.equal(sha1(readFileSync(join(leechDir, 'from-qb.bin'))), sha1(b.payload))
      assert.equal(transport, 'utp')
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${qb.logs().slice(-1500)}`)
    } finally {
      await torrent?.stop()
      await qb.stop()
    }
  } finally {
    await listener.close()
    await work.cleanup()
  }
})

test('qBittorrent in uTP-only mode downloads from our seed over uTP, byte for byte', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['qbittorrent-nox'])) return
  const work = tempDir('utp-qb-leech')
  const listener = new Listener()
  let torrent: Torrent | undefined
  const qb = await startQbittorrent({ protocol: 'UTP' })
  try {
    const b = buildTorrent({ name: 'to-qb.bin', files: 24 * 1024 * 1024 + 777, pieceLength: 256 * 1024, seed: 42 })
    const seedDir = join(work.path, 'seed')
    mkdirSync(seedDir, { recursive: true })
    writeFileSync(join(seedDir, 'to-qb.bin'), b.payload)
    const port = await listener.listen(0, '127.0.0.1')
    const meta = await parseTorrentFile(b.torrent)
    torrent = new Torrent({ meta, storage: await FileStorage.open(meta, seedDir), peerId: newPeerId(), listenPort: port, useTrackers: false, transports: listener.transports })
    listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent!.handleIncoming(socket, decoder, handshake, rest))
    await torrent.start()
    assert.equal(torrent.state, 'seeding')
    const torrentPath = join(work.path, 'x.torrent')
    writeFileSync(torrentPath, b.torrent)
    const leechDir = join(work.path, 'qb-out')
    mkdirSync(leechDir, { recursive: true })
    const infoHash = await qb.addTorrent(torrentPath, leechDir)
    // Our seed dials qBittorrent: it has no tracker to learn of us from.
    // qBittorrent dials us (incoming uTP through our listener): it learns of us from its Web API.
    const res = await fetch(`http://127.0.0.1:${qb.webPort}/api/v2/torrents/addPeers`, {
      method: 'POST',
      body: new URLSearchParams({ hashes: infoHash, peers: `127.0.0.1:${port}` }),
    })
    assert.equal(res.status, 200, `qBittorrent addPeers: HTTP ${res.status} ${await res.text()}`)
    let transport: string | undefined
    const poll = setInterval(() => {
      transport ??= torrent!.snapshot().peers[0]?.transport
    }, 50)
    await qb.waitComplete(infoHash, 150_000).finally(() => clearInterval(poll))
    assert.equal(sha1(readFileSync(join(leechDir, 'to-qb.bin'))), sha1(b.payload))
    assert.equal(transport, 'utp')
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${qb.logs().slice(-1500)}`)
  } finally {
    await torrent?.stop()
    await qb.stop()
    await listener.close()
    await work.cleanup()
  }
})
