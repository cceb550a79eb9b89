// The upload queue against a real loopback socket: the bytes waiting in a
// peer's socket stay under maxBacklogBytes (plus the one block that crossed
// it) when the peer stops reading, and serving resumes once it drains; piece
// buffers are reused from a pool once the socket is done with their blocks.
// And two uploaders sharing a session's in-flight budget: past it a peer with
// blocks of its own in flight waits, one with none still sends one; a block
// done wakes the waiting; a removed peer gives back everything it held.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { test } from 'node:test'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { MemoryBudget } from '../../../src/core/memory-budget.ts'
import { newPeerId } from '../../../src/core/peer-id.ts'
import { PeerConnection } from '../../../src/peer/peer-connection.ts'
import { MemoryStorage } from '../../helpers/memory-storage.ts'
import { Uploader } from '../../../src/torrent/uploader.ts'
import { pseudoRandomBytes } from '../../helpers/make-torrent.ts'
import { waitUntil } from '../../helpers/net.ts'
import { metaFor } from '../storage/meta-for.ts'
import type { Metainfo } from '../../../src/metainfo/metainfo.ts'

const BLOCK = 16 * 1024
const PIECE_FRAME = 13 + BLOCK

/** A torrent of 16 KiB pieces over `payload`, every piece had. */
async function wholeTorrent(name: string, payload: Buffer): Promise<{ meta: Metainfo; have: Bitfield }> {
  const { meta } = await metaFor(name, BLOCK, payload)
  const have = new Bitfield(meta.pieceCount)
  for (let i = 0; i < meta.pieceCount; i++) have.set(i)
  return { meta, have }
}

/** The parts of a PeerConnection an Uploader uses: unchoked, never backlogged; `send` is its transport. */
function transportPeer(send: (data: Buffer, done: () => void) => void): PeerConnection {
  const pc = { amChoking: false, closed: false, writeBacklogBytes: 0, drained: async () => {}, sendBlock: (_i: number, _b: number, d: Buffer, cb: () => void) => send(d, cb) }
  return pc as unknown as PeerConnection
}

test('a peer that stops reading holds at most maxBacklogBytes plus one block in its socket; serving resumes when it drains', async () => {
  // 16 MiB: more than the kernel's socket buffers on loopback can swallow, so the backlog must build up in ours.
  const payload = pseudoRandomBytes(16 * 1024 * 1024, 5)
  const { meta } = await metaFor('backlog', BLOCK, payload)
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  client.pause()
  const [socket] = (await once(server, 'connection')) as [Socket]
  const pc = new PeerConnection({ socket, infoHash: meta.infoHash, ourPeerId: newPeerId(), pieceCount: meta.pieceCount, outgoing: false, extendedHandshake: { m: {} } })
  const limit = 256 * 1024
  let maxBacklog = 0
  const write = socket.write.bind(socket) as (chunk: Buffer, done?: () => void) => boolean
  socket.write = ((chunk: Buffer, done?: () => void) => {
    const ok = write(chunk, done)
    maxBacklog = Math.max(maxBacklog, socket.writableLength)
    return ok
  }) as typeof socket.write
  const have = new Bitfield(meta.pieceCount)
  for (let i = 0; i < meta.pieceCount; i++) have.set(i)
  const uploader = new Uploader(meta, new MemoryStorage(meta, payload), () => have, { maxQueuePerPeer: meta.pieceCount, maxBacklogBytes: limit })
  try {
    pc.setChoking(false)
    for (let i = 0; i < meta.pieceCount; i++) assert.equal(uploader.handleRequest(pc, { index: i, begin: 0, length: BLOCK }), 'queued')
    await waitUntil(() => pc.writeBacklogBytes > limit, 20_000, 'the backlog to reach the limit while the peer does not read')
    assert.ok(uploader.queuedFor(pc) > 0, 'requests wait in the queue, not in the socket')
    assert.ok(maxBacklog <= limit + PIECE_FRAME, `backlog peaked at ${maxBacklog} bytes, limit ${limit} + one block`)

    let received = 0
    client.on('data', (chunk: Buffer) => (received += chunk.length))
    client.resume()
    const expected = 5 + meta.pieceCount * PIECE_FRAME // the unchoke, then every block
    await waitUntil(() => received === expected, 30_000, `all ${meta.pieceCount} blocks to arrive once the peer reads`)
    assert.equal(uploader.queuedFor(pc), 0)
    assert.ok(maxBacklog <= limit + PIECE_FRAME, `backlog peaked at ${maxBacklog} bytes, limit ${limit} + one block`)
    assert.ok(uploader.cachedPieces > 0, 'pieces read for the peer are cached')
    uploader.removePeer(pc)
    assert.equal(uploader.cachedPieces, 0, 'with no peer left the cache is dropped')
  } finally {
    pc.close('test over')
    client.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** MemoryStorage that reads into the buffers the uploader hands it, and remembers which ones it was handed. */
class ReadIntoStorage extends MemoryStorage {
  readonly buffers = new Set<Buffer>()
  async readInto(index: number, begin: number, into: Buffer): Promise<void> {
    const bytes = await this.read(index, begin, into.length)
    bytes.copy(into)
    this.buffers.add(into)
  }
}

test('pieces are read into a few pooled buffers, each reused only once the socket is done with its blocks', async () => {
  const PIECE = 4 * BLOCK
  const payload = pseudoRandomBytes(128 * PIECE, 9)
  const { meta } = (await metaFor('pooled', PIECE, payload)) as { meta: Metainfo }
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  const [socket] = (await once(server, 'connection')) as [Socket]
  const pc = new PeerConnection({ socket, infoHash: meta.infoHash, ourPeerId: newPeerId(), pieceCount: meta.pieceCount, outgoing: false, extendedHandshake: { m: {} } })
  const have = new Bitfield(meta.pieceCount)
  for (let i = 0; i < meta.pieceCount; i++) have.set(i)
  const storage = new ReadIntoStorage(meta, payload)
  // A two-piece cache: without the pool each of the 128 pieces would be a new buffer.
  const uploader = new Uploader(meta, storage, () => have, { maxQueuePerPeer: 4 * meta.pieceCount, maxBacklogBytes: 128 * 1024, cacheBytes: 2 * PIECE })
  try {
    const chunks: Buffer[] = []
    let received = 0
    client.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      received += chunk.length
    })
    pc.setChoking(false)
    for (let i = 0; i < meta.pieceCount; i++) {
      for (let b = 0; b < 4; b++) assert.equal(uploader.handleRequest(pc, { index: i, begin: b * BLOCK, length: BLOCK }), 'queued')
    }
    const expected = 5 + 4 * meta.pieceCount * PIECE_FRAME
    await waitUntil(() => received === expected, 30_000, 'every block to arrive')
    const wire = Buffer.concat(chunks).subarray(5)
    const blocks: Buffer[] = []
    for (let at = 0; at < wire.length; at += PIECE_FRAME) blocks.push(wire.subarray(at + 13, at + PIECE_FRAME))
    assert.ok(Buffer.concat(blocks).equals(payload), 'the blocks are the payload, in order: no buffer was reused while a socket held it')
    assert.ok(storage.buffers.size <= 12, `${storage.buffers.size} buffers for ${meta.pieceCount} piece reads`)
    await waitUntil(() => uploader.inFlightBytes === 0, 5_000, 'the socket to be done with every block')
    uploader.removePeer(pc)
    assert.equal(uploader.cachedPieces, 0)
    assert.equal(uploader.pooledBuffers, 0, 'an idle uploader keeps no pooled buffers')
  } finally {
    pc.close('test over')
    client.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('two uploaders share one in-flight budget: a peer with none in flight still sends, a done block wakes the waiting, a removed peer gives back all', async () => {
  const payload = pseudoRandomBytes(8 * BLOCK, 17)
  const budget = new MemoryBudget(4 * BLOCK)
  const make = async (name: string) => {
    const { meta, have } = await wholeTorrent(name, payload)
    // The transport: holds each block until the test says it is sent.
    const done: Array<() => void> = []
    const pc = transportPeer((_d, cb) => void done.push(cb))
    const uploader = new Uploader(meta, new MemoryStorage(meta, payload), () => have, { maxInFlightBytes: 4 * BLOCK, inFlight: budget.share() })
    const request = (count: number) => {
      for (let i = 0; i < count; i++) assert.equal(uploader.handleRequest(pc, { index: i, begin: 0, length: BLOCK }), 'queued')
    }
    return { uploader, pc, done, request }
  }
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  }
  const a = await make('inflight-a')
  const b = await make('inflight-b')
  a.request(8)
  await settle()
  assert.equal(a.done.length, 4, 'alone, up to its own bound (the budget’s)')
  b.request(4)
  await settle()
  assert.equal(b.done.length, 1, 'a peer with nothing in flight sends one block though the budget is spent')
  assert.equal(budget.usedBytes, 5 * BLOCK)
  a.done.shift()!()
  await settle()
  assert.equal(a.done.length + b.done.length, 4, 'at the budget still: no one sends')
  a.done.shift()!()
  await settle()
  assert.equal(a.done.length + b.done.length, 4, 'room for one block: a waiting peer was woken and sent it')
  assert.equal(budget.usedBytes, 4 * BLOCK)
  a.uploader.removePeer(a.pc)
  assert.equal(a.uploader.inFlightBytes, 0, 'a removed peer’s blocks no longer count')
  await settle()
  assert.equal(b.done.length, 4, 'the other torrent takes the room')
  assert.equal(budget.usedBytes, b.uploader.inFlightBytes)
  for (const cb of b.done.splice(0)) cb()
  for (const cb of a.done.splice(0)) cb() // late callbacks of a removed peer change nothing
  await settle()
  assert.equal(budget.usedBytes, 0, 'nothing leaks')
  assert.equal(budget.waiting, 0)
})

test('uploaders sharing a read-cache budget: one alone keeps its own cap; past the budget each keeps one piece; idle ones give all back', async () => {
  const payload = pseudoRandomBytes(8 * BLOCK, 19)
  const cacheBudget = new MemoryBudget(2 * BLOCK)
  const make = async (name: string) => {
    const { meta, have } = await wholeTorrent(name, payload)
    const sent: Buffer[] = []
    const pc = transportPeer((d, cb) => (sent.push(Buffer.from(d)), cb()))
    const uploader = new Uploader(meta, new MemoryStorage(meta, payload), () => have, { cacheBytes: 4 * BLOCK, readCache: cacheBudget.share() })
    const serve = async (index: number) => {
      assert.equal(uploader.handleRequest(pc, { index, begin: 0, length: BLOCK }), 'queued')
      await waitUntil(() => sent.length > 0 && sent.at(-1)!.equals(payload.subarray(index * BLOCK, (index + 1) * BLOCK)), 5_000, `piece ${index} served`)
    }
    return { uploader, pc, serve }
  }
  const a = await make('cache-a')
  const b = await make('cache-b')
  for (let i = 0; i < 4; i++) await a.serve(i)
  assert.equal(a.uploader.cachedPieces, 4, 'alone, its own cap (4 pieces), though the session budget is 2')
  await b.serve(0)
  await b.serve(1)
  assert.equal(b.uploader.cachedPieces, 1, 'past the budget, with others holding part: down to one piece')
  await a.serve(4)
  assert.equal(a.uploader.cachedPieces, 1, 'the one that held most gives back at its next read')
  assert.equal(cacheBudget.usedBytes, 2 * BLOCK)
  a.uploader.removePeer(a.pc)
  b.uploader.removePeer(b.pc)
  assert.equal(cacheBudget.usedBytes, 0, 'idle uploaders keep no cached pieces, and say so')
})
