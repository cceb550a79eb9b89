// The downloader's cap on verified pieces waiting for the disk: once that many
// writes are under way it stops reading from every peer (requests stay out),
// and reads resume only when half of them have landed; the bytes that land are
// the payload's. Storage here holds each write until the test lets it go.
// And a PeerConnection's pauseReading pauses its socket, and resumeReading reads on.
// And two downloaders sharing a session's piece budget: past it neither opens
// new pieces, except one that holds none; a verified piece wakes the waiting
// one; a stopped downloader gives back all it held.
// And a peer's requests are topped up in batches of an eighth of its queue.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { test } from 'node:test'
import { newPeerId } from '../../../src/core/peer-id.ts'
import { PeerConnection as RealPeerConnection } from '../../../src/peer/peer-connection.ts'
import { encodeHandshake } from '../../../src/wire/handshake.ts'
import { waitUntil } from '../../helpers/net.ts'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { RateMeter } from '../../../src/core/rate-meter.ts'
import type { BlockRef } from '../../../src/core/types.ts'
import type { PeerConnection } from '../../../src/peer/peer-connection.ts'
import { Downloader } from '../../../src/torrent/downloader.ts'
import { MemoryBudget } from '../../../src/core/memory-budget.ts'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { pseudoRandomBytes } from '../../helpers/make-torrent.ts'
import { MemoryStorage } from '../../helpers/memory-storage.ts'
import { metaFor } from '../storage/meta-for.ts'

const BLOCK = 16 * 1024

/** MemoryStorage whose writes land only when released, in the order they were made. */
class HeldStorage extends MemoryStorage {
  readonly held: Array<() => void> = []
  override async write(index: number, begin: number, data: Buffer): Promise<void> {
    await new Promise<void>((resolve) => this.held.push(resolve))
    return super.write(index, begin, data)
  }
  releaseOne(): void {
    this.held.shift()!()
  }
}

/** The part of a PeerConnection the downloader uses, recording requests and read pauses. */
function fakePeer(key: string, pieceCount: number, clock: FakeClock) {
  const requested: BlockRef[] = []
  const have = new Bitfield(pieceCount)
  for (let i = 0; i < pieceCount; i++) have.set(i)
  const peer = {
    key,
    ready: true,
    peerChoking: false,
    amInterested: false,
    snubbed: false,
    maxRequests: 250,
    have,
    downloadMeter: new RateMeter(5, clock),
    readingPaused: false,
    pauses: 0,
    get outstandingCount() {
      return requested.length
    },
    request(blocks: BlockRef[]) {
      requested.push(...blocks)
    },
    setInterested(v: boolean) {
      peer.amInterested = v
    },
    sendHave() {},
    cancel() {},
    pauseReading() {
      if (!peer.readingPaused) peer.pauses++
      peer.readingPaused = true
    },
    resumeReading() {
      peer.readingPaused = false
    },
    requested,
  }
  return peer
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

test('reads stop while the cap of pieces waits for the disk and resume once half have landed; the payload lands intact', async () => {
  // One block a piece: every block completes a piece and starts a write.
  const payload = pseudoRandomBytes(12 * BLOCK, 21)
  const { meta } = await metaFor('backpressure', BLOCK, payload)
  const storage = new HeldStorage(meta)
  const clock = new FakeClock()
  const connections = new Map<string, PeerConnection>()
  const a = fakePeer('a', meta.pieceCount, clock)
  const b = fakePeer('b', meta.pieceCount, clock)
  connections.set('a', a as unknown as PeerConnection)
  const downloader = new Downloader({
    meta,
    storage,
    clock,
    connections,
    isDownloading: () => true,
    maxPieceMemoryBytes: 64 * BLOCK,
    maxUnwrittenBytes: 4 * BLOCK,
    requestTimeoutMs: 60_000,
  })
  const verified: number[] = []
  downloader.on('pieceVerified', (i) => verified.push(i))
  downloader.start(new Bitfield(meta.pieceCount))
  downloader.addPeer('a')
  downloader.handleHaveAll('a')
  downloader.updateInterest(a as unknown as PeerConnection)
  assert.equal(a.requested.length, meta.pieceCount, 'every piece is asked of the peer')

  const deliver = (peer: typeof a) => {
    const block = peer.requested.shift()!
    downloader.handleBlock(peer as unknown as PeerConnection, block, payload.subarray(block.index * BLOCK, block.index * BLOCK + block.length))
  }
  for (let i = 0; i < 3; i++) deliver(a)
  await settle()
  assert.equal(storage.held.length, 3)
  assert.equal(a.readingPaused, false, 'under the cap of 4 the peer is read')
  deliver(a)
  await settle()
  assert.equal(storage.held.length, 4)
  assert.equal(a.readingPaused, true, 'at 4 pieces waiting for the disk the peer is not read')
  assert.equal(downloader.readsPaused, true)

  // A peer that joins meanwhile is held back with its first block.
  connections.set('b', b as unknown as PeerConnection)
  downloader.addPeer('b')
  downloader.handleHaveAll('b')
  downloader.updateInterest(b as unknown as PeerConnection)
  assert.ok(b.requested.length > 0, 'requests still go out while reads wait')
  deliver(b)
  await settle()
  assert.equal(b.readingPaused, true)

  storage.releaseOne()
  await settle()
  assert.equal(storage.held.length, 4)
  assert.equal(a.readingPaused, true, '5 → 4 waiting (b’s piece came in too): still over half the cap')
  storage.releaseOne()
  await settle()
  assert.equal(a.readingPaused, true, '4 → 3 waiting: still over half')
  storage.releaseOne()
  await settle()
  assert.equal(storage.held.length, 2)
  assert.equal(a.readingPaused, false, 'at half the cap reads resume')
  assert.equal(b.readingPaused, false)
  assert.equal(downloader.readsPaused, false)
  assert.equal(a.pauses, 1, 'one pause, not one per write')

  while (a.requested.length > 0 || b.requested.length > 0) {
    if (a.requested.length > 0) deliver(a)
    if (b.requested.length > 0) deliver(b)
    await settle()
    while (storage.held.length > 0) storage.releaseOne()
    await settle()
  }
  await downloader.settle()
  assert.equal(verified.length, meta.pieceCount, 'every piece verified once written')
  assert.ok(downloader.isComplete())
  assert.ok((await storage.read(0, 0, meta.length)).equals(payload), 'the bytes on storage are the payload')
  assert.equal(a.readingPaused || b.readingPaused, false, 'no peer left paused')
})

test('a paused PeerConnection reads nothing from its socket until resumed; then every byte arrives', async () => {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  const [socket] = (await once(server, 'connection')) as [Socket]
  const infoHash = Buffer.alloc(20, 7)
  const pc = new RealPeerConnection({ socket, infoHash, ourPeerId: newPeerId(), pieceCount: 8, outgoing: false, extendedHandshake: { m: {} } })
  try {
    pc.start()
    client.write(encodeHandshake(infoHash, newPeerId()))
    await waitUntil(() => pc.ready, 5_000, 'the handshake')
    pc.pauseReading()
    assert.equal(pc.readingPaused, true)
    const readBefore = socket.bytesRead
    // 8 MiB of keep-alives (zero lengths): more than loopback's socket buffers hold, so the sender backs up.
    const total = 8 * 1024 * 1024
    client.write(Buffer.alloc(total))
    assert.equal(socket.isPaused(), true, 'the socket itself is paused')
    // What the kernel takes before flow control stops the sender stays there (loopback buffers hold well under 8 MiB).
    await waitUntil(() => client.writableLength > 0, 10_000, 'the sender to back up while we do not read')
    assert.ok(socket.bytesRead - readBefore < total, `read ${socket.bytesRead - readBefore} of ${total} bytes while paused`)
    pc.resumeReading()
    assert.equal(pc.readingPaused, false)
    assert.equal(socket.isPaused(), false)
    await waitUntil(() => socket.bytesRead - readBefore === total, 20_000, 'every byte once reading resumes')
    assert.equal(pc.closed, false, 'keep-alives only: the connection stays up')
  } finally {
    pc.close('test over')
    client.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('two torrents share one piece budget: the second still gets its first piece, a release wakes it, a stop gives back everything', async () => {
  const PIECE = 4 * BLOCK
  const payload = pseudoRandomBytes(8 * PIECE, 33)
  const budget = new MemoryBudget(2 * PIECE)
  const clock = new FakeClock()
  const make = async (name: string) => {
    const { meta } = await metaFor(name, PIECE, payload)
    const storage = new HeldStorage(meta)
    const connections = new Map<string, PeerConnection>()
    const peer = fakePeer(name, meta.pieceCount, clock)
    peer.maxRequests = 4 // one piece of requests at a time
    connections.set(name, peer as unknown as PeerConnection)
    // Its own cap is the budget's (as in a session): alone, it holds what it would without the budget.
    const downloader = new Downloader({ meta, storage, clock, connections, isDownloading: () => true, maxPieceMemoryBytes: 2 * PIECE, requestTimeoutMs: 60_000, pieceMemory: budget.share() })
    downloader.start(new Bitfield(meta.pieceCount))
    downloader.addPeer(name)
    downloader.handleHaveAll(name)
    /** Delivers every block asked of the peer, until it asks for no more. */
    const deliverAll = async () => {
      for (let block = peer.requested.shift(); block; block = peer.requested.shift()) {
        downloader.handleBlock(peer as unknown as PeerConnection, block, payload.subarray(block.index * PIECE + block.begin, block.index * PIECE + block.begin + block.length))
        await settle()
      }
    }
    const open = () => [...downloader.openPieces()].length
    return { downloader, storage, peer, deliverAll, open }
  }
  const a = await make('budget-a')
  const b = await make('budget-b')

  a.downloader.updateInterest(a.peer as unknown as PeerConnection)
  await a.deliverAll()
  // Writes are held: whole pieces stay in memory until they land.
  assert.equal(a.open(), 2, 'the first torrent opens pieces up to the budget')
  assert.equal(budget.usedBytes, 2 * PIECE)

  b.downloader.updateInterest(b.peer as unknown as PeerConnection)
  assert.ok(b.peer.requested.length > 0, 'a torrent holding nothing may take its first piece though the budget is spent')
  await b.deliverAll()
  assert.equal(b.open(), 1, 'but no second one (alone, its own cap would allow two)')
  assert.equal(budget.usedBytes, 3 * PIECE)
  assert.equal(a.peer.requested.length + b.peer.requested.length, 0, 'both wait for memory')

  // One of the first torrent's pieces lands: the budget is still spent. The second lands: one is woken and takes the room.
  a.storage.releaseOne()
  await settle()
  await settle()
  assert.equal(a.peer.requested.length + b.peer.requested.length, 0, 'still no room')
  a.storage.releaseOne()
  await settle()
  await settle()
  assert.equal(a.peer.requested.length + b.peer.requested.length, 4, 'a woken torrent asks for one new piece')
  assert.equal(budget.usedBytes, 2 * PIECE)

  a.downloader.stop()
  assert.equal(budget.usedBytes, b.open() * PIECE, 'a stopped torrent gives back everything it held')
  for (const t of [a, b]) while (t.storage.held.length > 0) t.storage.releaseOne()
  await settle()
  b.downloader.stop()
  assert.equal(budget.usedBytes, 0, 'nothing leaks')
  assert.equal(budget.waiting, 0)
})

test("a peer's requests are topped up an eighth of its queue at a time while some are out, block by block for a short queue", async () => {
  const payload = pseudoRandomBytes(64 * 4 * BLOCK, 22)
  const { meta } = await metaFor('refill', 4 * BLOCK, payload)
  const clock = new FakeClock()
  const run = async (maxRequests: number) => {
    const connections = new Map<string, PeerConnection>()
    const peer = fakePeer('a', meta.pieceCount, clock)
    peer.maxRequests = maxRequests
    connections.set('a', peer as unknown as PeerConnection)
    const downloader = new Downloader({ meta, storage: new MemoryStorage(meta), clock, connections, isDownloading: () => true, maxPieceMemoryBytes: 64 * 4 * BLOCK, requestTimeoutMs: 60_000 })
    downloader.start(new Bitfield(meta.pieceCount))
    downloader.addPeer('a')
    downloader.handleHaveAll('a')
    downloader.updateInterest(peer as unknown as PeerConnection)
    const outstanding = [peer.requested.length]
    for (let i = 0; i < 5; i++) {
      const block = peer.requested.shift()!
      downloader.handleBlock(peer as unknown as PeerConnection, block, payload.subarray(block.index * 4 * BLOCK + block.begin, block.index * 4 * BLOCK + block.begin + block.length))
      outstanding.push(peer.requested.length)
    }
    downloader.stop()
    return outstanding
  }
  // A queue of 32 (the least, at no measured rate) is topped up 4 at a time, once 4 are free.
  assert.deepEqual(await run(250), [32, 31, 30, 29, 32, 31])
  // A peer that queues 6 (its reqq) gets a request for each block it sends.
  assert.deepEqual(await run(6), [6, 6, 6, 6, 6, 6])
})
