// BEP 52 block-level checks over a fake v2 torrent built here from a payload
// with the merkle helpers (a 5.5-piece file, a pad, a 3-block file of less
// than a piece): the block-hash request asked of a peer, answers that prove
// out or not against the piece layer, re-asking on reject, silence and close,
// and the verdict on good, changed, short and padded blocks. The serving side
// (HashExchange answering base layer 0 from piece data) is checked against
// the whole file's tree with every proof depth.

import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { BLOCK_SIZE, MerkleTree, blockHashes, nextPow2, pieceRoot, splitHashes } from '../../../src/metainfo/merkle.ts'
import type { Metainfo } from '../../../src/metainfo/metainfo.ts'
import type { PeerConnection } from '../../../src/peer/peer-connection.ts'
import { BlockVerifier, HASH_TIMEOUT_MS, type HashPeer } from '../../../src/torrent/block-verifier.ts'
import { HashExchange } from '../../../src/torrent/hash-exchange.ts'
import type { HashRange } from '../../../src/wire/messages.ts'
import { pseudoRandomBytes } from '../../helpers/make-torrent.ts'

const PIECE = 4 * BLOCK_SIZE
const BIG = Math.floor(5.5 * PIECE) + 100
const SMALL = 2 * BLOCK_SIZE + 500

/** Two files: BIG (pieces 0..5, then a pad to piece 6) and SMALL (piece 6). */
function fakeTorrent(): { meta: Metainfo; payload: Buffer; big: Buffer; small: Buffer; trees: MerkleTree[] } {
  const big = pseudoRandomBytes(BIG, 3)
  const small = pseudoRandomBytes(SMALL, 4)
  const bigPieces = Math.ceil(BIG / PIECE)
  const pad = bigPieces * PIECE - BIG
  const payload = Buffer.concat([big, Buffer.alloc(pad), small, Buffer.alloc(PIECE - SMALL)])
  const trees = [new MerkleTree(blockHashes(big)), new MerkleTree(blockHashes(small))]
  const layer = Buffer.concat(Array.from({ length: bigPieces }, (_, i) => pieceRoot(big.subarray(i * PIECE, (i + 1) * PIECE), PIECE, BIG)))
  const meta = {
    pieceLength: PIECE,
    pieceCount: bigPieces + 1,
    lastPieceLength: SMALL,
    length: bigPieces * PIECE + SMALL,
    hasV1: false,
    files: [
      { offset: 0, length: BIG },
      { offset: BIG, length: pad, padding: true },
      { offset: bigPieces * PIECE, length: SMALL },
    ],
    v2: {
      infoHash: Buffer.alloc(32, 9),
      files: [
        { fileIndex: 0, firstPiece: 0, pieceCount: bigPieces, length: BIG, root: trees[0].root, layer },
        { fileIndex: 2, firstPiece: bigPieces, pieceCount: 1, length: SMALL, root: trees[1].root },
      ],
    },
  } as unknown as Metainfo
  return { meta, payload, big, small, trees }
}

class FakePeer extends EventEmitter implements HashPeer {
  readonly key: string
  ready = true
  peerV2 = true
  outgoing = true
  readonly have: Bitfield
  readonly asked: HashRange[] = []
  readonly answers: { range: HashRange; hashes?: Buffer }[] = []
  constructor(key: string, pieceCount: number) {
    super()
    this.key = key
    this.have = new Bitfield(pieceCount)
    for (let i = 0; i < pieceCount; i++) this.have.set(i)
  }

  sendHashRequest(range: HashRange): void {
    this.asked.push(range)
  }

  sendHashes(range: HashRange, hashes: Buffer): void {
    this.answers.push({ range, hashes })
  }

  sendHashReject(range: HashRange): void {
    this.answers.push({ range })
  }
}

function setup(keys = ['a:1', 'b:1', 'c:1']) {
  const t = fakeTorrent()
  const peers = new Map(keys.map((k) => [k, new FakePeer(k, t.meta.pieceCount)]))
  let now = 0
  const verifier = new BlockVerifier({ meta: t.meta, connections: peers, speaksHashes: () => true, now: () => now })
  const leaves: number[] = []
  verifier.on('leaves', (i) => leaves.push(i))
  /** What an honest peer sends back for `range`: the file tree's hashes (libtorrent's get_hashes). */
  const honest = (range: HashRange): Buffer => {
    const tree = range.piecesRoot.equals(t.trees[0].root) ? t.trees[0] : t.trees[1]
    return Buffer.concat(tree.hashes(range.baseLayer, range.index, range.length, range.proofLayers))
  }
  return { ...t, peers, verifier, leaves, honest, tick: (ms: number) => verifier.handleTick((now += ms)) }
}

const block = (data: Buffer, piece: number, b: number): Buffer => data.subarray(piece * PIECE + b * BLOCK_SIZE, Math.min(data.length, piece * PIECE + (b + 1) * BLOCK_SIZE))

test('block hashes are asked of the picking peer, proven against the piece layer, and then judge each block', () => {
  const { verifier, peers, payload, honest, leaves } = setup()
  assert.equal(verifier.check(2, 0, block(payload, 2, 0)), 'unknown', 'unknown before the hashes')
  verifier.want(2, 'b:1')
  verifier.want(2, 'a:1')
  const b = peers.get('b:1')!
  assert.equal(b.asked.length, 1, 'asked once, of the peer that picked the piece')
  assert.equal(peers.get('a:1')!.asked.length, 0)
  const range = b.asked[0]
  assert.deepEqual({ base: range.baseLayer, index: range.index, length: range.length, proofLayers: range.proofLayers }, { base: 0, index: 8, length: 4, proofLayers: 1 })
  verifier.handleHashes(b, range, honest(range))
  assert.deepEqual(leaves, [2])
  for (let i = 0; i < 4; i++) assert.equal(verifier.check(2, i * BLOCK_SIZE, block(payload, 2, i)), 'good', `block ${i}`)
  const bad = Buffer.from(block(payload, 2, 1))
  bad[1000] ^= 1
  assert.equal(verifier.check(2, BLOCK_SIZE, bad), 'bad', 'one changed byte')
  assert.equal(verifier.check(2, 2 * BLOCK_SIZE, block(payload, 2, 1)), 'bad', 'another block\'s bytes')
  verifier.forget(2)
  assert.equal(verifier.check(2, 0, block(payload, 2, 0)), 'unknown', 'forgotten once verified')
})

test('the last piece of a file: a short block against its leaf, bytes past the file\'s end must be zeros', () => {
  const { verifier, peers, payload, honest } = setup()
  verifier.want(5, 'a:1')
  const a = peers.get('a:1')!
  verifier.handleHashes(a, a.asked[0], honest(a.asked[0]))
  // BIG ends 100 bytes into block 2 of piece 5: that block is 100 bytes of file and zeros after.
  const tail = Buffer.from(payload.subarray(5 * PIECE + 2 * BLOCK_SIZE, 5 * PIECE + 3 * BLOCK_SIZE))
  assert.equal(verifier.check(5, 2 * BLOCK_SIZE, tail), 'good')
  assert.equal(verifier.check(5, 3 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE)), 'good', 'a block of padding only')
  tail[200] = 1
  assert.equal(verifier.check(5, 2 * BLOCK_SIZE, tail), 'bad', 'a non-zero pad byte')
})

test('a file of less than a piece: its whole tree is asked for and proven against its root', () => {
  const { verifier, peers, payload, honest } = setup()
  verifier.want(6, 'c:1')
  const c = peers.get('c:1')!
  const range = c.asked[0]
  assert.deepEqual({ index: range.index, length: range.length }, { index: 0, length: nextPow2(3) })
  verifier.handleHashes(c, range, honest(range))
  for (let i = 0; i < 3; i++) assert.equal(verifier.check(6, i * BLOCK_SIZE, block(payload, 6, i)), 'good', `block ${i}`)
  assert.equal(verifier.check(6, 0, block(payload, 6, 1)), 'bad')
})

test('forged hashes, a reject, silence and a closed peer each send the request to another peer', () => {
  const { verifier, peers, honest, leaves, tick } = setup(['a:1', 'b:1', 'c:1', 'd:1'])
  const [a, b, c, d] = ['a:1', 'b:1', 'c:1', 'd:1'].map((k) => peers.get(k)!)
  verifier.want(1, 'a:1')
  const range = a.asked[0]
  const forged = splitHashes(honest(range))
  forged[0] = Buffer.alloc(32, 7)
  verifier.handleHashes(a, range, Buffer.concat(forged))
  assert.deepEqual(leaves, [], 'hashes that do not prove out are not believed')
  const next = [b, c, d].find((p) => p.asked.length === 1)!
  assert.ok(next, 'asked of another peer')
  verifier.handleHashes(a, range, honest(range))
  assert.deepEqual(leaves, [], 'an answer from a peer no longer asked is ignored')
  verifier.handleReject(next, range)
  const third = [b, c, d].find((p) => p !== next && p.asked.length === 1)!
  assert.ok(third, 'a reject: asked of a third peer')
  tick(HASH_TIMEOUT_MS + 1)
  const fourth = [b, c, d].find((p) => p !== next && p !== third && p.asked.length === 1)!
  assert.ok(fourth, 'silence: asked of the fourth peer')
  verifier.handlePeerClosed(fourth.key)
  assert.deepEqual(verifier.held, { known: 0, asked: 0 }, 'no one left who was not tried: nothing asked')
  verifier.want(1, 'a:1')
  assert.equal(verifier.held.asked, 0, 'each peer is asked once per piece')
  const e = new FakePeer('e:1', 7)
  peers.set('e:1', e)
  verifier.want(1, 'a:1')
  assert.equal(e.asked.length, 1, 'a peer that came since is asked')
  verifier.handleHashes(e, e.asked[0], honest(e.asked[0]))
  assert.deepEqual(leaves, [1])
})

test('a peer without the piece, or not speaking hash messages, is not asked', () => {
  const t = fakeTorrent()
  const a = new FakePeer('a:1', t.meta.pieceCount)
  const b = new FakePeer('b:1', t.meta.pieceCount)
  const noThree = new Bitfield(t.meta.pieceCount)
  for (let i = 0; i < t.meta.pieceCount; i++) if (i !== 3) noThree.set(i)
  Object.assign(a, { have: noThree })
  const verifier = new BlockVerifier({ meta: t.meta, connections: new Map([['a:1', a], ['b:1', b]]), speaksHashes: (p) => p.key !== 'b:1', now: () => 0 })
  verifier.want(3, 'a:1')
  assert.equal(a.asked.length + b.asked.length, 0)
  verifier.want(2, 'b:1')
  assert.equal(a.asked.length, 1, 'the peer that speaks them instead')
})

test('HashExchange serves block hashes from the data of pieces it has, as the whole tree would, for every proof depth', async () => {
  const t = fakeTorrent()
  const have = new Bitfield(t.meta.pieceCount)
  for (let i = 0; i < t.meta.pieceCount; i++) if (i !== 4) have.set(i)
  const withPiece = async <T,>(index: number, use: (data: Buffer) => T) => use(Buffer.from(t.payload.subarray(index * PIECE, (index + 1) * PIECE)))
  const exchange = new HashExchange(t.meta, new Map(), { now: () => 0, withPiece, have: () => have })
  const pc = new FakePeer('x:1', t.meta.pieceCount)
  exchange.handlePeer(pc as unknown as PeerConnection)
  const ask = async (range: HashRange) => {
    const before = pc.answers.length
    pc.emit('hashRequest', range)
    for (let i = 0; i < 100 && pc.answers.length === before; i++) await new Promise((r) => setImmediate(r))
    return pc.answers[before]
  }
  const big = t.trees[0]
  for (const [index, length] of [[8, 4], [20, 4], [9, 1], [10, 2]] as const) {
    for (let proofLayers = 0; proofLayers < big.topLayer; proofLayers++) {
      const range = { piecesRoot: big.root, baseLayer: 0, index, length, proofLayers }
      const answer = await ask(range)
      assert.ok(answer.hashes, `answered ${index}+${length} with ${proofLayers} proof layers`)
      assert.ok(answer.hashes.equals(Buffer.concat(big.hashes(0, index, length, proofLayers))), `as the whole tree: ${index}+${length}, proofs ${proofLayers}`)
    }
  }
  const small = t.trees[1]
  const range = { piecesRoot: small.root, baseLayer: 0, index: 0, length: 4, proofLayers: 1 }
  assert.ok((await ask(range)).hashes?.equals(Buffer.concat(small.hashes(0, 0, 4, 1))), 'a file of one piece')
  assert.equal((await ask({ ...range, piecesRoot: big.root, index: 16 })).hashes, undefined, 'a piece we lack is refused')
  assert.equal((await ask({ ...range, piecesRoot: big.root, index: 8, length: 8 })).hashes, undefined, 'more than a piece is refused')
  assert.equal((await ask({ ...range, piecesRoot: big.root, index: 8, proofLayers: big.topLayer })).hashes, undefined, 'proofs past the root are refused')
})
