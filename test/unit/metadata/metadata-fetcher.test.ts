import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { MAX_METADATA_SIZE, MetadataFetcher } from '../../../src/metadata/metadata-fetcher.ts'
import { metainfoFromInfo } from '../../../src/metainfo/metainfo.ts'
import { bigInfo, served } from './metadata-fixtures.ts'

const fixture = bigInfo()
const { info, infoHash, pieceCount } = fixture
const SIZE = info.length

function addAll(fetcher: MetadataFetcher, ids: string[], metadataSize = SIZE): void {
  for (const id of ids) assert.deepEqual(fetcher.addPeer({ id, metadataSize }), { ok: true })
}

function answer(fetcher: MetadataFetcher, peer: string, piece: number, source = info) {
  const { totalSize, data } = served(source, piece)
  return fetcher.handleData(peer, piece, totalSize, data)
}

function assertOneLine(result: { ok: boolean; reason?: string }, pattern: RegExp): void {
  assert.equal(result.ok, false)
  assert.match(result.reason!, pattern)
  assert.ok(!result.reason!.includes('\n'))
}

test('the fixture spans many metadata pieces, the last one short', () => {
  assert.ok(pieceCount >= 10, `only ${pieceCount} pieces`)
  assert.notEqual(SIZE % 16384, 0)
})

test('assembles the info dict from three peers answering out of order', async () => {
  const fetcher = new MetadataFetcher(infoHash)
  addAll(fetcher, ['a', 'b', 'c'])
  assert.equal(fetcher.size, SIZE)
  const servedBy = new Map<string, number>()
  let done: Buffer | undefined
  let nowMs = 0
  for (let round = 0; done === undefined; round++) {
    assert.ok(round < 50, 'the fetch makes progress')
    const requests = fetcher.nextRequests(nowMs)
    const first = round === 0
    if (first) {
      // Two slots each: all three peers are asked at once, no piece twice.
      assert.equal(requests.length, 6)
      assert.deepEqual(new Set(requests.map((r) => r.peer)), new Set(['a', 'b', 'c']))
    }
    assert.equal(new Set(requests.map((r) => r.piece)).size, requests.length)
    for (const { peer, piece } of requests.reverse()) {
      const result = answer(fetcher, peer, piece)
      assert.equal(result.ok, true)
      servedBy.set(peer, (servedBy.get(peer) ?? 0) + 1)
      if (result.ok && result.done) done = result.done
    }
    nowMs += 100
  }
  assert.ok(fetcher.complete)
  assert.deepEqual(done, info)
  for (const peer of ['a', 'b', 'c']) assert.ok((servedBy.get(peer) ?? 0) >= 5, `${peer} served ${servedBy.get(peer)}`)
  assert.deepEqual(fetcher.nextRequests(nowMs), [])
  assert.deepEqual(answer(fetcher, 'a', 0), { ok: true })
  const meta = await metainfoFromInfo(done, [['udp://tracker.example:1337/announce']])
  assert.deepEqual(meta.infoHash, infoHash)
  assert.equal(meta.files.length, 1500)
})

test('a peer sending a wrong piece: hash mismatch, its pieces refetched from an honest peer', () => {
  const fetcher = new MetadataFetcher(infoHash)
  addAll(fetcher, ['liar', 'honest'])
  const forged = Buffer.from(info)
  let liarPieces: number[] = []
  let last: ReturnType<MetadataFetcher['handleData']> | undefined
  for (let nowMs = 0; !fetcher.lastFailedPeers.length; nowMs += 100) {
    for (const { peer, piece } of fetcher.nextRequests(nowMs)) {
      if (peer === 'liar') {
        liarPieces.push(piece)
        forged[piece * 16384 + 5] ^= 0xff
      }
      last = answer(fetcher, peer, piece, peer === 'liar' ? forged : info)
    }
  }
  assert.ok(liarPieces.length > 0)
  assert.ok(last)
  assertOneLine(last, /does not match the info hash; dropped/)
  assert.ok(fetcher.lastFailedPeers.includes('liar'))
  assert.equal(fetcher.complete, false)
  assert.deepEqual(fetcher.nextRequests(10_000), [], 'every sender was dropped')
  assertOneLine(answer(fetcher, 'liar', 0), /without being part of the metadata fetch/)

  addAll(fetcher, ['newcomer'])
  const refetched: number[] = []
  let done: Buffer | undefined
  for (let nowMs = 20_000; done === undefined; nowMs += 100) {
    for (const { peer, piece } of fetcher.nextRequests(nowMs)) {
      assert.equal(peer, 'newcomer')
      refetched.push(piece)
      const result = answer(fetcher, peer, piece)
      assert.equal(result.ok, true)
      if (result.ok && result.done) done = result.done
    }
  }
  for (const piece of liarPieces) assert.ok(refetched.includes(piece), `piece ${piece} refetched`)
  assert.deepEqual(done, info)
  assert.ok(fetcher.complete)
})

test('metadata_size is bounded; a peer announcing another size waits aside', () => {
  const fetcher = new MetadataFetcher(infoHash)
  assertOneLine(fetcher.addPeer({ id: 'zero', metadataSize: 0 }), /impossible metadata_size 0/)
  assertOneLine(fetcher.addPeer({ id: 'huge', metadataSize: MAX_METADATA_SIZE + 1 }), /over the 31457280-byte limit/)
  assertOneLine(fetcher.addPeer({ id: 'none', metadataSize: undefined }), /no metadata_size/)
  assert.equal(fetcher.size, undefined)
  assert.deepEqual(fetcher.nextRequests(0), [])

  assert.deepEqual(fetcher.addPeer({ id: 'max', metadataSize: MAX_METADATA_SIZE }), { ok: true })
  assert.deepEqual(fetcher.addPeer({ id: 'other', metadataSize: SIZE }), { ok: true })
  assert.equal(fetcher.parkedPeers, 1)
  assert.equal(fetcher.size, MAX_METADATA_SIZE)
  assert.ok(fetcher.nextRequests(0).every((r) => r.peer === 'max'), 'only the size being fetched is asked')
  assertOneLine(answer(fetcher, 'other', 0), /without being part of the metadata fetch/)

  // Once the peer that set the size is gone, no one vouches for it: the waiting peer's size is tried.
  assert.deepEqual(fetcher.addPeer({ id: 'other', metadataSize: SIZE }), { ok: true })
  fetcher.removePeer('max')
  assert.equal(fetcher.size, SIZE)
  assert.equal(fetcher.parkedPeers, 0)
  assert.ok(fetcher.nextRequests(1).length > 0)
  assert.ok(fetcher.nextRequests(1).every((r) => r.peer === 'other'))
})

test('a silent peer lying about the size does not lock out the honest ones: once it stalls, their size is fetched', () => {
  const fetcher = new MetadataFetcher(infoHash, { requestTimeoutMs: 1_000, maxRequestsPerPeer: 4 })
  assert.deepEqual(fetcher.addPeer({ id: 'liar', metadataSize: SIZE * 3 }), { ok: true })
  addAll(fetcher, ['honest-1', 'honest-2'])
  assert.equal(fetcher.parkedPeers, 2)
  assert.ok(fetcher.nextRequests(0).every((r) => r.peer === 'liar'))
  // The liar answers nothing; at the timeout the fetch moves to the size the honest peers announced.
  const requests = fetcher.nextRequests(1_000)
  assert.equal(fetcher.size, SIZE)
  assert.ok(requests.length > 0 && requests.every((r) => r.peer.startsWith('honest')))
  let done: Buffer | undefined
  for (let round = 0, batch = requests; !done && round < 100; round++, batch = fetcher.nextRequests(1_000 + round)) {
    for (const r of batch) {
      const result = answer(fetcher, r.peer, r.piece)
      assert.equal(result.ok, true)
      if (result.ok && result.done) done = result.done
    }
  }
  assert.deepEqual(done, info)
})

test('bad data drops the peer from the fetch', () => {
  const fetcher = new MetadataFetcher(infoHash)
  addAll(fetcher, ['wrong-total', 'out-of-range', 'short', 'good'])
  const { data } = served(info, 0)
  assertOneLine(fetcher.handleData('wrong-total', 0, SIZE + 1, data), /total_size \d+ but the metadata is \d+ bytes/)
  assertOneLine(fetcher.handleData('out-of-range', pieceCount, SIZE, data), new RegExp(`piece ${pieceCount} but there are only ${pieceCount} pieces`))
  assertOneLine(fetcher.handleData('short', 0, SIZE, data.subarray(1)), /piece 0 of 16383 bytes; it should be 16384/)
  const last = served(info, pieceCount - 1)
  assertOneLine(fetcher.handleData('short', pieceCount - 1, SIZE, Buffer.concat([last.data, Buffer.alloc(1)])), /without being part of the metadata fetch/)
  const peers = new Set(fetcher.nextRequests(0).map((r) => r.peer))
  assert.deepEqual(peers, new Set(['good']))
})

test('a timed-out request is asked of another peer; a late answer still counts', () => {
  const fetcher = new MetadataFetcher(infoHash, { requestTimeoutMs: 10_000, maxRequestsPerPeer: 2 })
  addAll(fetcher, ['a', 'b'])
  const first = fetcher.nextRequests(0)
  assert.equal(first.length, 4)
  assert.deepEqual(fetcher.nextRequests(9_999), [], 'slots are full until the timeout')
  const second = fetcher.nextRequests(10_000)
  assert.equal(second.length, 4)
  for (const { peer, piece } of first) {
    const again = second.find((r) => r.piece === piece)
    assert.ok(again, `piece ${piece} asked again`)
    assert.notEqual(again.peer, peer, `piece ${piece} goes to another peer`)
  }
  // The first peer answers late: taken, and the second peer's request for it is let go.
  const late = first[0]
  assert.deepEqual(answer(fetcher, late.peer, late.piece), { ok: true })
  const other = second.find((r) => r.piece === late.piece)!.peer
  const third = fetcher.nextRequests(10_001)
  assert.equal(third.length, 1)
  assert.equal(third[0].peer, other)
  assert.ok(!third.some((r) => r.piece === late.piece))
  assert.deepEqual(answer(fetcher, other, late.piece), { ok: true }, 'a duplicate is ignored, not punished')
})

test('a peer that timed out is retried when no one else can serve the piece', () => {
  const fetcher = new MetadataFetcher(infoHash, { requestTimeoutMs: 1_000, maxRequestsPerPeer: 1 })
  addAll(fetcher, ['slow'])
  assert.deepEqual(fetcher.nextRequests(0), [{ peer: 'slow', piece: 0 }])
  assert.deepEqual(fetcher.nextRequests(1_000), [{ peer: 'slow', piece: 0 }])
})

test('a reject moves the piece to another peer and never back', () => {
  const fetcher = new MetadataFetcher(infoHash, { maxRequestsPerPeer: 1 })
  addAll(fetcher, ['a', 'b'])
  assert.deepEqual(fetcher.nextRequests(0), [{ peer: 'a', piece: 0 }, { peer: 'b', piece: 1 }])
  fetcher.handleReject('a', 0)
  assert.deepEqual(fetcher.nextRequests(1), [{ peer: 'a', piece: 2 }], 'piece 0 waits for b rather than going back to a')
  assert.deepEqual(answer(fetcher, 'b', 1), { ok: true })
  assert.deepEqual(fetcher.nextRequests(2), [{ peer: 'b', piece: 0 }])
  fetcher.handleReject('b', 0)
  fetcher.handleReject('nobody', 0)
  fetcher.handleReject('a', 9999)
  const after = fetcher.nextRequests(3)
  assert.deepEqual(after, [{ peer: 'b', piece: 3 }], 'everyone rejected piece 0')
  addAll(fetcher, ['c'])
  assert.deepEqual(fetcher.nextRequests(4), [{ peer: 'c', piece: 0 }])
})

test('removing a peer frees its pieces for the others', () => {
  const fetcher = new MetadataFetcher(infoHash, { maxRequestsPerPeer: 1 })
  addAll(fetcher, ['a', 'b'])
  assert.deepEqual(fetcher.nextRequests(0), [{ peer: 'a', piece: 0 }, { peer: 'b', piece: 1 }])
  fetcher.removePeer('a')
  assert.deepEqual(answer(fetcher, 'b', 1), { ok: true })
  assert.deepEqual(fetcher.nextRequests(1), [{ peer: 'b', piece: 0 }])
})

test('constructor checks its arguments', () => {
  assert.throws(() => new MetadataFetcher(Buffer.alloc(19)), /20 bytes/)
  assert.throws(() => new MetadataFetcher(infoHash, { maxRequestsPerPeer: 0 }), /maxRequestsPerPeer/)
  assert.throws(() => new MetadataFetcher(infoHash, { requestTimeoutMs: 0 }), /requestTimeoutMs/)
})

/** Every piece from one peer until the fetch ends; the last result. */
function fetchAll(fetcher: MetadataFetcher, peer: string) {
  let last: ReturnType<MetadataFetcher['handleData']> = { ok: true }
  for (let round = 0; round < 100 && !fetcher.complete; round++) {
    const requests = fetcher.nextRequests(round * 100)
    if (requests.length === 0) break
    for (const { piece } of requests) last = answer(fetcher, peer, piece)
  }
  return last
}

test('BEP 52: with a v2 hash (btmh), the metadata must hash to it with SHA-256', () => {
  const v2 = createHash('sha256').update(info).digest()
  const good = new MetadataFetcher(v2.subarray(0, 20), { infoHashV2: v2 })
  addAll(good, ['a'])
  const done = fetchAll(good, 'a')
  assert.ok(good.complete)
  assert.ok(done.ok && done.done?.equals(info))
  // The same 20 bytes but another SHA-256: what a forged info dict colliding on the prefix would give.
  const forged = Buffer.from(v2)
  forged[31] ^= 1
  const bad = new MetadataFetcher(v2.subarray(0, 20), { infoHashV2: forged })
  addAll(bad, ['a'])
  fetchAll(bad, 'a')
  assert.equal(bad.complete, false)
})

test('BEP 52: a hybrid magnet (btih and btmh) needs both hashes to match', () => {
  const v2 = createHash('sha256').update(info).digest()
  const both = new MetadataFetcher(infoHash, { infoHashV2: v2 })
  addAll(both, ['a'])
  fetchAll(both, 'a')
  assert.ok(both.complete)
  const wrongV1 = new MetadataFetcher(Buffer.alloc(20, 7), { infoHashV2: v2 })
  addAll(wrongV1, ['a'])
  fetchAll(wrongV1, 'a')
  assert.equal(wrongV1.complete, false)
})
