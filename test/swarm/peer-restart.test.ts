// A uTP peer of our seeder vanishes without a word (kill -9, its box gone:
// no FIN, no RESET) and comes back on the same address and port with the
// same peer id. The seeder still holds the dead connection; the new one must
// replace it at once (not be refused as a duplicate until the old one times
// out), the old one closing with its reason, and the new one is served.
// Over TCP the peer comes back from another port: its old connection, open
// but silent, is replaced once silent SILENT_REPLACE_MS (a fake clock).
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import type { Socket as DgramSocket } from 'node:dgram'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { DUPLICATE_CONNECTION, SILENT_REPLACE_MS } from '../../src/torrent/duplicate-connection.ts'
import { UtpManager } from '../../src/transport/utp/utp-manager.ts'
import type { UtpSocket } from '../../src/transport/utp/utp-socket.ts'
import { Decoder } from '../../src/wire/decoder.ts'
import type { DecodedItem } from '../../src/wire/decoder.ts'
import { encodeHandshake } from '../../src/wire/handshake.ts'
import { encode } from '../../src/wire/messages.ts'
import { FakeClock } from '../helpers/fake-clock.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { connectWirePeer, type WireClient } from '../helpers/wire-peer.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'

interface UtpPeer {
  udp: DgramSocket
  utp: UtpManager
  socket: UtpSocket
  received: DecodedItem['type'][]
  closed: boolean
}

/** A uTP peer on `port` (0: any) that dials `to` and says the handshake. */
async function dialUtp(port: number, to: number, infoHash: Buffer, peerId: Buffer): Promise<UtpPeer> {
  const udp = createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(port, '127.0.0.1', () => resolve())
  })
  const utp = new UtpManager(udp)
  const socket = utp.connect('127.0.0.1', to)
  const peer: UtpPeer = { udp, utp, socket, received: [], closed: false }
  const decoder = new Decoder({ expectHandshake: true })
  socket.on('data', (chunk: Buffer) => {
    for (const m of decoder.push(chunk)) peer.received.push(m.type)
  })
  socket.on('close', () => (peer.closed = true))
  socket.on('error', () => (peer.closed = true))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  socket.write(encodeHandshake(infoHash, peerId, { extended: false }))
  return peer
}

test('a uTP peer that vanished and redials from the same port replaces its dead connection at once', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-dupconn-restart')
  let seeder: Awaited<ReturnType<typeof startOurSeeder>> | undefined
  const peers: UtpPeer[] = []
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
    seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false, utp: true })
    const s = seeder
    const infoHash = s.meta.infoHash
    const disconnected: { key: string; reason: string }[] = []
    s.torrent.on('peerDisconnected', (key, reason) => disconnected.push({ key, reason }))
    const peerId = newPeerId()

    const first = await dialUtp(0, s.port, infoHash, peerId)
    peers.push(first)
    const port = first.udp.address().port
    await waitUntil(() => first.received.includes('bitfield'), 10_000, 'the seeder\'s handshake and bitfield')
    await waitUntil(() => s.torrent.snapshot().peers.some((p) => p.transport === 'utp'), 10_000, 'the seeder holding the uTP peer')

    // Gone without a word: nothing it would send (RESET, FIN) leaves, nothing reaches it, the port is free.
    first.udp.removeAllListeners('message')
    first.udp.send = (() => {}) as unknown as DgramSocket['send']
    await first.utp.close()
    assert.equal(disconnected.length, 0, 'the seeder has not noticed')

    const again = await dialUtp(port, s.port, infoHash, peerId)
    peers.push(again)
    await waitUntil(() => disconnected.length > 0, 10_000, 'the dead connection closed')
    assert.equal(disconnected.length, 1)
    assert.equal(disconnected[0].key, `127.0.0.1:${port}`)
    assert.match(disconnected[0].reason, /^replaced: the peer connected again, this connection received nothing for \d+\.\d s$/)
    await waitUntil(() => again.received.includes('bitfield'), 10_000, 'the new connection greeted')
    // Served over the new connection: it asks and gets a block.
    again.socket.write(encode({ type: 'interested' }))
    await waitUntil(() => again.received.includes('unchoke') || again.closed, 10_000, 'unchoked on the new connection')
    again.socket.write(encode({ type: 'request', index: 0, begin: 0, length: 16 * 1024 }))
    await waitUntil(() => again.received.includes('piece') || again.closed, 10_000, 'a block on the new connection')
    assert.equal(again.closed, false, 'the new connection stays')
    const peersNow = s.torrent.snapshot().peers
    assert.equal(peersNow.length, 1)
    assert.equal(peersNow[0].key, `127.0.0.1:${port}`)
  } finally {
    for (const p of peers) await p.utp.close().catch(() => {})
    await seeder?.stop()
    await work.cleanup()
  }
})

test('a TCP peer whose old connection went silent comes back from another port: replaced once silent, refused while live', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-dupconn-restart-tcp')
  const clock = new FakeClock(Date.now())
  let seeder: Awaited<ReturnType<typeof startOurSeeder>> | undefined
  const clients: WireClient[] = []
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
    seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false, clock })
    const s = seeder
    const disconnected: { key: string; reason: string }[] = []
    s.torrent.on('peerDisconnected', (key, reason) => disconnected.push({ key, reason }))
    const failed: { key: string; reason: string }[] = []
    s.torrent.on('peerFailed', (key, reason) => failed.push({ key, reason }))
    const peerId = newPeerId()
    const dial = async (): Promise<WireClient> => {
      const c = await connectWirePeer({ port: s.port, infoHash: s.meta.infoHash, peerId })
      clients.push(c)
      return c
    }
    const keys = () => s.torrent.snapshot().peers.map((p) => p.key)

    // Its box stops answering: the connection stays open, nothing more comes.
    const old = await dial()
    await waitUntil(() => keys().includes(old.key), 10_000, 'the seeder holding the peer')

    // Back at once, while the old one spoke under SILENT_REPLACE_MS ago: refused, the old one kept.
    const early = await dial()
    await early.until(() => early.closed, 'the early redial refused')
    assert.deepEqual(failed.map((f) => f.reason), [DUPLICATE_CONNECTION])
    assert.deepEqual(keys(), [old.key])

    clock.advance(SILENT_REPLACE_MS)
    const again = await dial()
    await waitUntil(() => keys().includes(again.key), 10_000, 'the new connection a peer')
    await old.until(() => old.closed, 'the silent connection closed')
    assert.deepEqual(keys(), [again.key])
    assert.deepEqual(disconnected.map((d) => d.key), [old.key])
    assert.match(disconnected[0].reason, /^replaced: the peer connected again, this connection received nothing for 3\.0 s$/)
    // Served over the new connection.
    again.send(encode({ type: 'interested' }))
    await again.until(() => again.received.includes('unchoke') || again.closed, 'unchoked on the new connection')
    again.send(encode({ type: 'request', index: 0, begin: 0, length: 16 * 1024 }))
    await again.until(() => again.blocks > 0 || again.closed, 'a block on the new connection')
    assert.equal(again.closed, false)
  } finally {
    for (const c of clients) c.close()
    await seeder?.stop()
    await work.cleanup()
  }
})
