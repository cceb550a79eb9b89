// Peer connections over uTP (BEP 29): a whole torrent over uTP alone, through
// a relay that loses, duplicates and reorders datagrams (both directions of
// dialing), and the fallback to TCP when a peer refuses uTP.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startUdpRelay } from '../helpers/udp-relay.ts'

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex')

interface Side {
  listener: Listener
  torrent: Torrent
  port: number
}

async function side(meta: Metainfo, dir: string, transports: { utp: boolean; tcp: boolean }, payload?: Buffer): Promise<Side> {
  const listener = new Listener(undefined, transports)
  const port = await listener.listen(0, '127.0.0.1')
  mkdirSync(dir, { recursive: true })
  if (payload) writeFileSync(join(dir, meta.name), payload)
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: port, useTrackers: false, transports: listener.transports })
  listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
  return { listener, torrent, port }
}

function completes(t: Torrent): Promise<void> {
  return new Promise((resolve, reject) => {
    t.once('complete', () => resolve())
    t.once('error', (m) => reject(new Error(m)))
  })
}

async function stopAll(sides: Side[]): Promise<void> {
  for (const s of sides) await s.torrent.stop()
  for (const s of sides) await s.listener.close()
}

test('a torrent downloads byte for byte over uTP alone, and the peers view says uTP', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-utp')
  const b = buildTorrent({ name: 'utp.bin', files: 6 * 1024 * 1024 + 333, pieceLength: 256 * 1024, seed: 29 })
  const meta = await parseTorrentFile(b.torrent)
  const only = { utp: true, tcp: false }
  const seeder = await side(meta, join(work.path, 'seed'), only, b.payload)
  const leecher = await side(meta, join(work.path, 'leech'), only)
  try {
    await seeder.torrent.start()
    const done = completes(leecher.torrent)
    let sawUtp = false
    leecher.torrent.on('peerConnected', () => {
      sawUtp ||= leecher.torrent.snapshot().peers.some((p) => p.transport === 'utp')
    })
    leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
    await leecher.torrent.start()
    const poll = setInterval(() => {
      sawUtp ||= leecher.torrent.snapshot().peers.some((p) => p.transport === 'utp')
    }, 20)
    await done
    clearInterval(poll)
    assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
    assert.equal(sawUtp, true, 'the leecher listed its peer as a uTP peer')
    assert.equal(leecher.listener.transports.remembered('127.0.0.1', seeder.port), 'utp')
  } finally {
    await stopAll([seeder, leecher])
    await work.cleanup()
  }
})

for (const dialer of ['leecher', 'seeder'] as const) {
  test(`64 MiB over uTP through a relay dropping 5 %, duplicating and reordering, the ${dialer} dialing`, { timeout: 180_000 }, async () => {
    const work = tempDir('ft-utp-lossy')
    const b = buildTorrent({ name: 'lossy.bin', files: 64 * 1024 * 1024, pieceLength: 1024 * 1024, seed: dialer === 'leecher' ? 5 : 6 })
    const meta = await parseTorrentFile(b.torrent)
    const only = { utp: true, tcp: false }
    const seeder = await side(meta, join(work.path, 'seed'), only, b.payload)
    const leecher = await side(meta, join(work.path, 'leech'), only)
    const target = dialer === 'leecher' ? seeder : leecher
    const relay = await startUdpRelay({ targetPort: target.port, dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05, seed: 64 })
    try {
      await seeder.torrent.start()
      const done = completes(leecher.torrent)
      await leecher.torrent.start()
      const from = dialer === 'leecher' ? leecher : seeder
      from.torrent.addPeers([{ host: '127.0.0.1', port: relay.port, source: 'manual' }])
      await done
      assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
      assert.ok(relay.stats.dropped > 1000, `the relay dropped ${relay.stats.dropped} datagrams`)
    } finally {
      await stopAll([seeder, leecher])
      await relay.close()
      await work.cleanup()
    }
  })
}

test('a peer that refuses uTP is reached over TCP at once, and TCP is remembered for it', { timeout: 30_000 }, async () => {
  const work = tempDir('ft-utp-fallback')
  const b = buildTorrent({ name: 'tcp.bin', files: 1024 * 1024, pieceLength: 64 * 1024, seed: 3 })
  const meta = await parseTorrentFile(b.torrent)
  const seeder = await side(meta, join(work.path, 'seed'), { utp: false, tcp: true }, b.payload)
  const leecher = await side(meta, join(work.path, 'leech'), { utp: true, tcp: true })
  try {
    await seeder.torrent.start()
    const done = completes(leecher.torrent)
    let transport: string | undefined
    const look = () => {
      transport ??= leecher.torrent.snapshot().peers[0]?.transport
    }
    leecher.torrent.on('peerConnected', look)
    const poll = setInterval(look, 20)
    leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
    await leecher.torrent.start()
    await done
    clearInterval(poll)
    assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
    assert.equal(transport, 'tcp')
    assert.equal(leecher.listener.transports.remembered('127.0.0.1', seeder.port), 'tcp')
    assert.deepEqual(leecher.listener.transports.order('127.0.0.1', seeder.port), ['tcp', 'utp'])
  } finally {
    await stopAll([seeder, leecher])
    await work.cleanup()
  }
})
