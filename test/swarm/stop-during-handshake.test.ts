// A torrent stopped while an outgoing connection still waits for the peer's
// handshake: stop() closes that connection too, and a reply arriving during
// the stop (trackers are still being told "stopped") never turns into a peer
// that downloads into the closing storage. Found by the soak (test/soak).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import { Bitfield } from '../../src/core/bitfield.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { MemoryStorage } from '../helpers/memory-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { Decoder, encode, encodeHandshake } from '../../src/wire/index.ts'
import { exitWithin } from '../helpers/managed-process.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { waitUntil } from '../helpers/net.ts'

test('stop() closes a connection still in its handshake; a late reply gets no requests', { timeout: 30_000 }, async () => {
  // A tracker that answers "started" but never "stopped" keeps stop() busy for a while.
  let announced = false
  const tracker = createHttpServer((req, res) => {
    if (req.url?.includes('event=stopped')) return
    announced = true
    res.end('d8:intervali1800e5:peers0:e')
  })
  tracker.listen(0, '127.0.0.1')
  await once(tracker, 'listening')
  const trackerPort = (tracker.address() as { port: number }).port

  const built = buildTorrent({ name: 'late.bin', files: 64 * 1024, pieceLength: 16 * 1024, announce: [`http://127.0.0.1:${trackerPort}/announce`] })
  const meta = await parseTorrentFile(built.torrent)
  const received: string[] = []
  let peerSocket: Socket | undefined
  let peerClosed = false
  const peer = createServer((s) => {
    peerSocket = s
    s.on('error', () => {})
    s.on('close', () => (peerClosed = true))
    const decoder = new Decoder({ expectHandshake: true })
    s.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) received.push(item.type)
    })
  })
  peer.listen(0, '127.0.0.1')
  await once(peer, 'listening')
  const peerPort = (peer.address() as { port: number }).port

  const torrent = new Torrent({ meta, storage: new MemoryStorage(meta), peerId: newPeerId(), listenPort: 6881 }) // announced only, never bound
  const errors: string[] = []
  torrent.on('error', (m) => errors.push(m))
  try {
    torrent.addPeers([{ host: '127.0.0.1', port: peerPort, source: 'manual' }])
    await torrent.start()
    await waitUntil(() => received.includes('handshake') && announced, 10_000, 'our handshake to reach the peer and our "started" the tracker')

    const stopped = torrent.stop()
    // The peer answers only now: handshake, all pieces, unchoke.
    const all = new Bitfield(meta.pieceCount)
    for (let i = 0; i < meta.pieceCount; i++) all.set(i)
    // The peer side cannot have seen a close yet (that takes a turn of the event loop), so the reply
    // is always sent: were it skipped, the check below would pass without a late reply to refuse.
    assert.ok(peerSocket && !peerSocket.destroyed, 'the peer is still connected when it answers')
    peerSocket.write(Buffer.concat([encodeHandshake(meta.infoHash, newPeerId(), { extended: false }), encode({ type: 'bitfield', bitfield: all.toBuffer() }), encode({ type: 'unchoke' })]))
    await waitUntil(() => peerClosed, 5_000, 'the stopped torrent to close the connection that was still in its handshake')
    assert.notEqual(await exitWithin(stopped, 10_000), 'timeout', 'stop() returns')
    assert.ok(!received.includes('request') && !received.includes('interested'), `a stopped torrent asks nothing of a late peer (it sent: ${received.join(', ')})`)
    assert.equal(torrent.state, 'stopped')
    assert.deepEqual(errors, [])
  } finally {
    await torrent.stop()
    tracker.closeAllConnections()
    peerSocket?.destroy()
    await new Promise<void>((resolve) => tracker.close(() => resolve()))
    await new Promise<void>((resolve) => peer.close(() => resolve()))
  }
})
