// IPv6 on ::1 between our own peers: a download over TCP and over uTP; one
// dual-stack port (TCP and the shared UDP socket) serving an IPv4 and an IPv6
// leecher at once; a seeder found only through an HTTP tracker on [::1]
// whose reply carries it in BEP 7 `peers6`; a UDP tracker on ::1 answering in
// BEP 15's IPv6 layout; BEP 11 `added6`, sent by our seeder and read by our
// leecher; and two whole sessions, listening as a user's do, over ::1.
// Every download is checked byte for byte.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { udpAnnounce } from '../../src/discovery/udp-announce.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import type { BuiltTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'
import type { PeerSnapshot } from '../../src/torrent/torrent-types.ts'
import { openTestSession } from '../helpers/session.ts'
import { startTracker } from '../helpers/tracker.ts'
import type { Session } from '../../src/session/session.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const PIECE_LENGTH = 32 * 1024
const WAIT_MS = 30_000

function writeSeed(dir: string, b: BuiltTorrent): string {
  mkdirSync(join(dir, 'seed'), { recursive: true })
  writeFileSync(join(dir, 'seed', 'v6.bin'), b.payload)
  writeFileSync(join(dir, 'v6.torrent'), b.torrent)
  return join(dir, 'v6.torrent')
}

/**
 * Every peer the torrent connects to, as it connects (a leecher that completes
 * drops its seeder at once, so a later snapshot would not show it). Called
 * right after startOurPeer returns: no handshake can finish before.
 */
function watchPeers(peer: OurPeer): PeerSnapshot[] {
  const seen: PeerSnapshot[] = []
  peer.torrent.on('peerConnected', (key) => {
    const p = peer.torrent.snapshot().peers.find((s) => s.key === key)
    if (p) seen.push(p)
  })
  return seen
}

async function assertDownloaded(leecher: OurPeer, b: BuiltTorrent, dir: string): Promise<void> {
  await waitUntil(() => leecher.torrent.state === 'seeding', WAIT_MS, `${dir} to complete`)
  assert.ok((await readFile(join(dir, 'v6.bin'))).equals(b.payload), 'downloaded bytes equal the payload')
}

for (const transport of ['tcp', 'utp'] as const) {
  test(`our leecher downloads from our seeder over ::1 (${transport === 'tcp' ? 'TCP' : 'uTP'})`, async () => {
    const work = tempDir(`ipv6-pair-${transport}`)
    const b = buildTorrent({ name: 'v6.bin', files: 6 * PIECE_LENGTH + 77, pieceLength: PIECE_LENGTH, seed: 61 })
    const stops: (() => Promise<void>)[] = []
    try {
      const torrentPath = writeSeed(work.path, b)
      const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false, host: '::1' })
      stops.push(seeder.stop)
      const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, 'leech'), useTrackers: false, host: '::1', utp: transport === 'utp', peers: [{ host: '::1', port: seeder.port, source: 'manual' }] })
      stops.push(leecher.stop)
      const seen = watchPeers(leecher)
      await assertDownloaded(leecher, b, join(work.path, 'leech'))
      const peer = seen.find((p) => p.key === `[::1]:${seeder.port}`)
      assert.ok(peer, `connected to [::1]:${seeder.port} (seen: ${seen.map((p) => p.key).join(', ')})`)
      assert.equal(peer.transport, transport)
    } finally {
      for (const stop of stops.reverse()) await stop()
      await work.cleanup()
    }
  })
}

test('one dual-stack port serves an IPv4 and an IPv6 leecher over uTP and TCP', async () => {
  const work = tempDir('ipv6-dual')
  const b = buildTorrent({ name: 'v6.bin', files: 6 * PIECE_LENGTH + 5, pieceLength: PIECE_LENGTH, seed: 62 })
  const stops: (() => Promise<void>)[] = []
  try {
    const torrentPath = writeSeed(work.path, b)
    const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false, host: '' })
    stops.push(seeder.stop)
    const cases = [
      { name: 'v4-utp', host: '127.0.0.1', utp: true, key: `127.0.0.1:${seeder.port}` },
      { name: 'v6-utp', host: '::1', utp: true, key: `[::1]:${seeder.port}` },
      { name: 'v4-tcp', host: '127.0.0.1', utp: false, key: `127.0.0.1:${seeder.port}` },
      { name: 'v6-tcp', host: '::1', utp: false, key: `[::1]:${seeder.port}` },
    ]
    const leechers = []
    for (const c of cases) {
      const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, c.name), useTrackers: false, host: c.host, utp: c.utp, peers: [{ host: c.host, port: seeder.port, source: 'manual' }] })
      stops.push(leecher.stop)
      leechers.push({ ...c, leecher, seen: watchPeers(leecher) })
    }
    const seederSaw = watchPeers(seeder)
    for (const { name, leecher, key, utp, seen } of leechers) {
      await assertDownloaded(leecher, b, join(work.path, name))
      const peer = seen.find((p) => p.key === key)
      assert.ok(peer, `${name}: connected to ${key}`)
      assert.equal(peer.transport, utp ? 'utp' : 'tcp', name)
    }
    // The seeder names each leecher in its plain form: IPv4 never as ::ffff:127.0.0.1.
    const hosts = seederSaw.map((p) => p.key.replace(/:\d+$/, ''))
    assert.ok(hosts.length >= 1 && hosts.every((h) => h === '127.0.0.1' || h === '[::1]'), `seeder's peers: ${hosts.join(', ')}`)
  } finally {
    for (const stop of stops.reverse()) await stop()
    await work.cleanup()
  }
})

test('an HTTP tracker on [::1] names our seeder in peers6 and our leecher downloads from it', async () => {
  const tracker = await startTracker({ host: '::1', intervalMs: 2_000 })
  const work = tempDir('ipv6-tracker')
  const b = buildTorrent({ name: 'v6.bin', files: 6 * PIECE_LENGTH + 9, pieceLength: PIECE_LENGTH, seed: 63, announce: [tracker.httpUrl] })
  const stops: (() => Promise<void>)[] = []
  try {
    const torrentPath = writeSeed(work.path, b)
    const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), host: '::1' })
    stops.push(seeder.stop)
    await tracker.waitForSeeders(b.infoHash.toString('hex'), 1, WAIT_MS)
    const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, 'leech'), host: '::1' })
    stops.push(leecher.stop)
    const seen = watchPeers(leecher)
    await assertDownloaded(leecher, b, join(work.path, 'leech'))
    const peer = seen.find((p) => p.key === `[::1]:${seeder.port}`)
    assert.equal(peer?.source, 'tracker', 'the seeder came from the tracker, as an IPv6 address')
  } finally {
    for (const stop of stops.reverse()) await stop()
    await tracker.close()
    await work.cleanup()
  }
})

test('a UDP tracker on ::1 answering in the BEP 15 IPv6 layout (18 bytes a peer) gives IPv6 peers', async () => {
  const peer6 = Buffer.concat([Buffer.from('20010db8000000000000000000000042', 'hex'), Buffer.from([0x1a, 0xe1])])
  const peer4mapped = Buffer.concat([Buffer.from('00000000000000000000ffff7f000001', 'hex'), Buffer.from([0x1a, 0xe2])])
  const server = createSocket('udp6')
  const actions: number[] = []
  server.on('message', (msg, rinfo) => {
    const action = msg.readUInt32BE(8)
    actions.push(action)
    const transaction = msg.readUInt32BE(12)
    const reply =
      action === 0
        ? Buffer.concat([u32(0), u32(transaction), Buffer.from('0123456789abcdef', 'hex')])
        : Buffer.concat([u32(1), u32(transaction), u32(1800), u32(3), u32(5), peer6, peer4mapped])
    server.send(reply, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => server.bind(0, '::1', resolve))
  try {
    const call = udpAnnounce(`udp://[::1]:${server.address().port}`, {
      infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2), port: 6881, uploaded: 0, downloaded: 0, left: 10, event: 'started', numWant: 50, key: 7,
    })
    const reply = await call.result
    assert.deepEqual(actions, [0, 1], 'connect, then announce')
    assert.deepEqual(reply.peers, [{ host: '2001:db8::42', port: 6881 }, { host: '127.0.0.1', port: 6882 }])
    assert.equal(reply.seeders, 5)
    assert.equal(reply.leechers, 3)
  } finally {
    server.close()
  }
})

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

test('PEX added6: our seeder names an IPv6 peer to our leecher, which connects to it', async () => {
  const work = tempDir('ipv6-pex')
  const b = buildTorrent({ name: 'v6.bin', files: 64 * PIECE_LENGTH, pieceLength: PIECE_LENGTH, seed: 64 })
  const stops: (() => Promise<void>)[] = []
  try {
    const torrentPath = writeSeed(work.path, b)
    const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false, host: '::1' })
    stops.push(seeder.stop)
    // A partial peer on ::1 that dials the seeder and says (BEP 10 `p`) where it listens.
    const other = await startWirePeer({ infoHash: b.infoHash, payload: b.payload, pieceLength: PIECE_LENGTH, pieces: [0, 1], host: '::1', dial: { host: '::1', port: seeder.port } })
    stops.push(other.close)
    await waitUntil(() => seeder.torrent.snapshot().connectedPeers === 1, WAIT_MS, 'the other peer connected to the seeder')
    const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, 'leech'), useTrackers: false, host: '::1', peers: [{ host: '::1', port: seeder.port, source: 'manual' }] })
    stops.push(leecher.stop)
    const seen = watchPeers(leecher)
    const viaPex = () => seen.find((p) => p.key === `[::1]:${other.port}`)
    await waitUntil(() => viaPex() !== undefined, WAIT_MS, 'the leecher to connect to the peer only added6 named')
    assert.equal(viaPex()!.source, 'pex')
    await assertDownloaded(leecher, b, join(work.path, 'leech'))
  } finally {
    for (const stop of stops.reverse()) await stop()
    await work.cleanup()
  }
})

for (const utp of [true, false]) {
  test(`two of our sessions (each listening dual-stack, as a user runs them) over ::1, ${utp ? 'uTP' : 'TCP'}`, async () => {
    const work = tempDir(`ipv6-sessions-${utp ? 'utp' : 'tcp'}`)
    const b = buildTorrent({ name: 'v6.bin', files: 40 * PIECE_LENGTH + 3, pieceLength: PIECE_LENGTH, seed: 65 })
    const sessions: Session[] = []
    try {
      writeSeed(work.path, b)
      const seeder = await openTestSession(join(work.path, 'seeder-state'), { utp })
      sessions.push(seeder)
      await seeder.start()
      await seeder.add(b.torrent, join(work.path, 'seed'))
      const hash = b.infoHash.toString('hex')
      await waitUntil(() => seeder.list()[0]?.state === 'seeding', WAIT_MS, 'the seeder to check its data')
      const leecher = await openTestSession(join(work.path, 'leecher-state'), { utp })
      sessions.push(leecher)
      await leecher.start()
      await leecher.add(b.torrent, join(work.path, 'leech'))
      const connected: string[] = []
      leecher.on('peer', (_hash, what, key) => what === 'connected' && connected.push(key))
      leecher.addPeers(hash, [{ host: '::1', port: seeder.port }])
      await waitUntil(() => leecher.list()[0]?.state === 'seeding', WAIT_MS, 'the leecher session to complete')
      assert.ok((await readFile(join(work.path, 'leech', 'v6.bin'))).equals(b.payload), 'downloaded bytes equal the payload')
      // The seeder may also dial back (it learns our port from BEP 10 `p`): every connection is over IPv6.
      assert.ok(connected.includes(`[::1]:${seeder.port}`) && connected.every((k) => k.startsWith('[::1]:')), `connected: ${connected.join(', ')}`)
    } finally {
      for (const s of sessions.reverse()) await s.close()
      await work.cleanup()
    }
  })
}
