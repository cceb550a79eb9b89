// Peer connections over uTP (BEP 29): a whole torrent over uTP alone, through
// a relay that loses, duplicates and reorders datagrams (both directions of
// dialing), the fallback to TCP when a peer refuses uTP, and the DHT answering
// on the same UDP port while uTP runs.
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
import { EncryptionPolicy } from '../../src/transport/encryption-policy.ts'
import { createSocket } from 'node:dgram'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { plainDhtNode } from '../helpers/local-dht.ts'

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

/** Starts both, the leecher given the seeder by hand; resolves once it completes, telling whether it ever listed a uTP peer. */
async function downloadWatchingUtp(seeder: Side, leecher: Side): Promise<boolean> {
  await seeder.torrent.start()
  const done = completes(leecher.torrent)
  let sawUtp = false
  const look = () => {
    sawUtp ||= leecher.torrent.snapshot().peers.some((p) => p.transport === 'utp')
  }
  leecher.torrent.on('peerConnected', look)
  leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
  await leecher.torrent.start()
  const poll = setInterval(look, 20)
  try {
    await done
  } finally {
    clearInterval(poll)
  }
  return sawUtp
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
    const sawUtp = await downloadWatchingUtp(seeder, leecher)
    assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
    assert.equal(sawUtp, true, 'the leecher listed its peer as a uTP peer')
    assert.equal(leecher.listener.transports.remembered('127.0.0.1', seeder.port), 'utp')
  } finally {
    await stopAll([seeder, leecher])
    await work.cleanup()
  }
})

for (const dialer of ['leecher', 'seeder'] as const) {
  test(`64 MiB over uTP through a relay dropping 5 %, duplicating, reordering and dropping whatever exceeds 1500 bytes, the ${dialer} dialing`, { timeout: 180_000 }, async () => {
    const work = tempDir('ft-utp-lossy')
    const b = buildTorrent({ name: 'lossy.bin', files: 64 * 1024 * 1024, pieceLength: 1024 * 1024, seed: dialer === 'leecher' ? 5 : 6 })
    const meta = await parseTorrentFile(b.torrent)
    const only = { utp: true, tcp: false }
    const seeder = await side(meta, join(work.path, 'seed'), only, b.payload)
    const leecher = await side(meta, join(work.path, 'leech'), only)
    const target = dialer === 'leecher' ? seeder : leecher
    // Loopback's MTU lets packets grow to 64 KiB; this path silently drops anything over 1500 (an MTU black hole).
    const relay = await startUdpRelay({ targetPort: target.port, dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05, seed: 64, maxDatagramBytes: 1500 })
    try {
      await seeder.torrent.start()
      const done = completes(leecher.torrent)
      await leecher.torrent.start()
      const from = dialer === 'leecher' ? leecher : seeder
      from.torrent.addPeers([{ host: '127.0.0.1', port: relay.port, source: 'manual' }])
      await done
      assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
      assert.ok(relay.stats.dropped > 1000, `the relay dropped ${relay.stats.dropped} datagrams`)
      assert.ok(relay.stats.tooBig > 0, 'MTU probes above 1500 bytes were tried')
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

test('the DHT answers on the UDP port it shares with uTP while a uTP transfer runs', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-utp-dht')
  const b = buildTorrent({ name: 'dht.bin', files: 8 * 1024 * 1024, pieceLength: 256 * 1024, seed: 5 })
  const meta = await parseTorrentFile(b.torrent)
  const only = { utp: true, tcp: false }
  const seeder = await side(meta, join(work.path, 'seed'), only, b.payload)
  const leecher = await side(meta, join(work.path, 'leech'), only)
  const dht = new DhtNode({ port: seeder.port, host: '127.0.0.1', bootstrap: [], socket: seeder.listener.dhtSocket() })
  dht.on('warning', () => {})
  const pinger = createSocket('udp4')
  let plain: Awaited<ReturnType<typeof plainDhtNode>> | undefined
  try {
    await dht.start()
    assert.equal(dht.port, seeder.port, 'the DHT runs on the listen port, not a port of its own')
    // A plain bittorrent-dht node joins through ours: our node answers its find_node.
    plain = await plainDhtNode([`127.0.0.1:${seeder.port}`])
    await new Promise<void>((r) => pinger.bind(0, '127.0.0.1', r))
    let answered = 0
    pinger.on('message', (msg) => {
      if (msg.includes('1:y1:r')) answered++
    })
    await seeder.torrent.start()
    const done = completes(leecher.torrent)
    leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
    await leecher.torrent.start()
    let sent = 0
    const ping = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:pp1:y1:qe')
    const timer = setInterval(() => {
      sent++
      pinger.send(ping, seeder.port, '127.0.0.1')
    }, 10)
    await done
    clearInterval(timer)
    const until = Date.now() + 5000
    while (answered < sent && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    assert.ok(sent >= 1, 'pinged during the transfer')
    assert.equal(answered, sent, `the DHT answered ${answered} of ${sent} pings sent during the transfer`)
    assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
  } finally {
    pinger.close()
    await new Promise<void>((r) => (plain ? plain.destroy(() => r()) : r()))
    await dht.stop()
    await stopAll([seeder, leecher])
    await work.cleanup()
  }
})

test('MSE runs over uTP: both sides require encryption, the payload crosses uTP alone, byte for byte', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-utp-mse')
  const b = buildTorrent({ name: 'utp-mse.bin', files: 2 * 1024 * 1024 + 77, pieceLength: 64 * 1024, seed: 52 })
  const meta = await parseTorrentFile(b.torrent)
  const sides: Side[] = []
  try {
    for (const [dir, payload] of [['seed', b.payload], ['leech', undefined]] as const) {
      const encryption = new EncryptionPolicy('require')
      const listener = new Listener(undefined, { utp: true, tcp: false, encryption })
      const port = await listener.listen(0, '127.0.0.1')
      mkdirSync(join(work.path, dir), { recursive: true })
      if (payload) writeFileSync(join(work.path, dir, meta.name), payload)
      const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, join(work.path, dir)), peerId: newPeerId(), listenPort: port, useTrackers: false, transports: listener.transports, encryption })
      listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
      sides.push({ listener, torrent, port })
    }
    const [seeder, leecher] = sides
    const sawUtp = await downloadWatchingUtp(seeder, leecher)
    assert.equal(sha1(readFileSync(join(work.path, 'leech', meta.name))), sha1(b.payload))
    assert.equal(sawUtp, true, 'the encrypted connection ran over uTP')
  } finally {
    await stopAll(sides)
    await work.cleanup()
  }
})
