// A v2-only torrent (BEP 52) against a seeder that corrupts pieces: each bad
// piece fails its merkle check (the root of its 16 KiB blocks against the piece
// layer), is fetched again, and the peer that sent it is struck and, at
// maxStrikes, banned; the download then completes from an honest peer, byte
// for byte. A peer sending one bad block in a piece of a v2 or hybrid torrent
// is banned as that block arrives (checked against the piece's block hashes,
// BEP 52 base layer 0), or as the hashes come when they come after it, before
// the rest of the piece is here; our seeder then serves the block hashes and
// the pieces, and the download completes byte for byte.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { createTorrentFile } from '../../src/cli/create-command.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { MerkleTree, blockHashes } from '../../src/metainfo/merkle.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { pseudoRandomBytes } from '../helpers/make-torrent.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const PIECE = 32 * 1024
const HOSTILE_HOST = '127.0.0.2'

test('v2: a seeder corrupting pieces is struck and banned by the merkle check; the download completes from an honest one', { timeout: 60_000 }, async (t) => {
  const work = tempDir('v2-hostile')
  t.after(work.cleanup)
  const data = pseudoRandomBytes(6 * PIECE + 1000, 7)
  mkdirSync(join(work.path, 'src'))
  writeFileSync(join(work.path, 'src', 'v2.bin'), data)
  const created = await createTorrentFile(join(work.path, 'src', 'v2.bin'), { trackers: [], private: false, version: 'v2', pieceLength: PIECE })
  const meta = created.meta
  assert.equal(meta.hasV1, false)
  // The payload as pieces lie: the file, then its tail pad of zeros.
  const payload = Buffer.concat([data, Buffer.alloc(meta.length - data.length)])
  const out = join(work.path, 'out')
  mkdirSync(out)
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, out), peerId: newPeerId(), listenPort: 0, useTrackers: false, maxStrikes: 2 })
  const failed: number[] = []
  torrent.on('pieceFailed', (index, peers) => {
    failed.push(index)
    assert.ok(peers.every((p) => p.startsWith(`${HOSTILE_HOST}:`)), `only the hostile peer is blamed: ${peers.join(', ')}`)
  })
  const banned = new Promise<string>((resolve) => torrent.on('peerBanned', (host) => resolve(host)))
  const hostile = await startWirePeer({ infoHash: meta.infoHash, payload, pieceLength: PIECE, host: HOSTILE_HOST, corruptPieces: new Set([0, 1, 2, 3, 4, 5, 6]) })
  t.after(() => hostile.close())
  await torrent.start()
  t.after(() => torrent.stop())
  torrent.addPeers([{ host: HOSTILE_HOST, port: hostile.port, source: 'manual' }])
  assert.equal(await banned, HOSTILE_HOST)
  assert.ok(failed.length >= 2, `pieces failed: ${failed.join(', ')}`)
  const honest = await startWirePeer({ infoHash: meta.infoHash, payload, pieceLength: PIECE })
  t.after(() => honest.close())
  const complete = new Promise<void>((resolve) => torrent.once('complete', () => resolve()))
  torrent.addPeers([{ host: '127.0.0.1', port: honest.port, source: 'manual' }])
  await complete
  assert.ok(readFileSync(join(out, 'v2.bin')).equals(data), 'byte for byte')
})

for (const [version, hashesAfter] of [['v2', 0], ['v2', 4], ['hybrid', 0]] as const) {
  const when = hashesAfter === 0 ? 'when that block arrives' : `when its block hashes come ${hashesAfter} blocks later`
  test(`${version}: a peer sending one bad block is banned ${when}, before the rest of its piece; the download completes from our seeder`, { timeout: 60_000 }, (t) => badBlock(t, version, hashesAfter))
}

async function badBlock(t: TestContext, version: 'v2' | 'hybrid', hashesAfter: number): Promise<void> {
  const piece = 256 * 1024
  const work = tempDir('v2b-bad-block')
  t.after(work.cleanup)
  // Whole pieces: every piece has 16 blocks, so the bad block always has blocks of its piece after it.
  const data = pseudoRandomBytes(8 * piece, 11)
  mkdirSync(join(work.path, 'src'))
  writeFileSync(join(work.path, 'src', 'v2.bin'), data)
  const created = await createTorrentFile(join(work.path, 'src', 'v2.bin'), { trackers: [], private: false, version, pieceLength: piece })
  const meta = created.meta
  assert.equal(meta.hasV1, version === 'hybrid')
  const torrentPath = join(work.path, 'v2.torrent')
  writeFileSync(torrentPath, created.bytes)
  const payload = Buffer.concat([data, Buffer.alloc(meta.length - data.length)])
  const out = join(work.path, 'out')
  mkdirSync(out)
  // A hybrid's connection speaks the hash messages only under the v2 info hash (as libtorrent has it): there the
  // hostile peer dials us with the truncated v2 hash, through a listener; for a v2-only torrent we dial it.
  const v2Hash = meta.v2!.infoHash.subarray(0, 20)
  let listenPort = 0
  if (version === 'hybrid') {
    const listener = new Listener()
    listenPort = await listener.listen(0, '127.0.0.1')
    t.after(() => listener.close())
    for (const hash of [meta.infoHash, v2Hash]) listener.register(hash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
  }
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, out), peerId: newPeerId(), listenPort, useTrackers: false })
  const failedPieces: number[] = []
  const verified = new Set<number>()
  torrent.on('pieceFailed', (index) => failedPieces.push(index))
  torrent.on('pieceVerified', (index) => verified.add(index))
  await torrent.start()
  t.after(() => torrent.stop())
  let hostile: Awaited<ReturnType<typeof startWirePeer>> | undefined
  const banned = new Promise<{ host: string; reason: string; downloaded: number; wasted: number; served: number; verified: number }>((resolve) =>
    torrent.on('peerBanned', (host, reason) => {
      const s = torrent.snapshot()
      resolve({ host, reason, downloaded: s.downloadedBytes, wasted: s.wastedBytes, served: hostile?.stats.blocksServed ?? 0, verified: verified.size })
    }))
  // It answers block-hash requests truly (from the file's whole tree), then sends its first block corrupted.
  const tree = new MerkleTree(blockHashes(data))
  hostile = await startWirePeer({
    infoHash: version === 'hybrid' ? v2Hash : meta.infoHash, payload, pieceLength: piece, host: HOSTILE_HOST, corruptFirstBlocks: 1, v2HashesAfterBlocks: hashesAfter,
    v2Hashes: (r) => Buffer.concat(tree.hashes(r.baseLayer, r.index, r.length, r.proofLayers)),
    dial: version === 'hybrid' ? { host: '127.0.0.1', port: listenPort } : undefined,
  })
  t.after(() => hostile!.close())
  if (version !== 'hybrid') torrent.addPeers([{ host: HOSTILE_HOST, port: hostile.port, source: 'manual' }])
  const ban = await banned
  assert.equal(ban.host, HOSTILE_HOST)
  const where = /piece (\d+), offset (\d+)/.exec(ban.reason)
  assert.ok(where, `the reason names the block: ${ban.reason}`)
  const badPiece = Number(where[1])
  assert.ok(hostile.stats.hashRequests >= 1, 'the block hashes were asked of it')
  assert.equal(ban.verified, 0, 'no piece was whole yet')
  assert.ok(!verified.has(badPiece), 'the bad block\'s piece was not whole')
  assert.ok(ban.downloaded < piece, `struck after ${ban.downloaded} good bytes were taken (a piece is ${piece})`)
  assert.equal(ban.wasted, 16384, 'the bad block was refused, or taken back')
  // Blocks taken before their hashes are checked when the hashes come: 4 here, the bad one among them.
  assert.equal(ban.downloaded, hashesAfter * 16384)
  if (hashesAfter > 0) assert.equal(where[2], '0', 'the first block it sent was the bad one')
  t.diagnostic(`banned after ${ban.downloaded} bytes of its blocks were taken and ${ban.wasted} refused or taken back (a piece is ${piece} bytes); it had written ${ban.served} blocks to the socket`)

  const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'src'), useTrackers: false })
  t.after(() => seeder.stop())
  const complete = new Promise<void>((resolve) => torrent.once('complete', () => resolve()))
  torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
  await complete
  assert.deepEqual(failedPieces, [], 'the bad block never reached a piece check')
  assert.ok(readFileSync(join(out, 'v2.bin')).equals(data), 'byte for byte')
}
