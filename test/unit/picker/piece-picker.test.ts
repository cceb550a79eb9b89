import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { BLOCK_SIZE, type BlockRef } from '../../../src/core/types.ts'
import { PiecePicker, type PiecePickerOptions } from '../../../src/picker/piece-picker.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const B = BLOCK_SIZE

/** `pieceCount` pieces of `blocksPerPiece` full blocks each. */
function makePicker(pieceCount: number, blocksPerPiece: number, extra: Partial<PiecePickerOptions> = {}): PiecePicker {
  return new PiecePicker({
    pieceCount,
    pieceLength: blocksPerPiece * B,
    totalLength: pieceCount * blocksPerPiece * B,
    rng: seededRandom(1),
    ...extra,
  })
}

function bits(length: number, indices: number[]): Bitfield {
  const b = new Bitfield(length)
  for (const i of indices) b.set(i)
  return b
}

const key = (r: BlockRef): string => `${r.index}:${r.begin}`

function deliver(picker: PiecePicker, peer: string, blocks: BlockRef[]): void {
  for (const block of blocks) {
    const result = picker.handleBlock(peer, block)
    assert.equal(result.accepted, true, `block ${key(block)} from ${peer} refused`)
    if (result.pieceComplete) picker.markVerified(block.index)
  }
}

test('two peers with the same pieces never get the same block outside endgame', () => {
  const picker = makePicker(8, 4)
  picker.addPeer('a', Bitfield.full(8))
  picker.addPeer('b', Bitfield.full(8))
  const seen = new Set<string>()
  let duplicates = 0
  for (let round = 0; round < 6; round++) {
    for (const peer of ['a', 'b']) {
      for (const block of picker.pickBlocks(peer, 3)) {
        if (seen.has(key(block))) {
          assert.equal(picker.inEndgame(), true, `block ${key(block)} handed out twice outside endgame`)
          duplicates++
        }
        seen.add(key(block))
      }
    }
  }
  assert.equal(seen.size, 32)
  assert.equal(picker.inEndgame(), true)
  // 36 requests for 32 blocks: 4 endgame duplicates, none before.
  assert.equal(duplicates, 4)
  assert.equal(picker.outstanding('a') + picker.outstanding('b'), 36)
})

test('the first pieces are chosen at random, not in order', () => {
  const firsts = new Set<number>()
  for (let seed = 1; seed <= 10; seed++) {
    const picker = makePicker(100, 1, { rng: seededRandom(seed) })
    picker.addPeer('seed', Bitfield.full(100))
    const picked = picker.pickBlocks('seed', 4).map(b => b.index)
    assert.equal(picked.length, 4)
    assert.notDeepEqual(picked, [0, 1, 2, 3])
    firsts.add(picked[0])
  }
  assert.ok(firsts.size >= 5, `first pieces over 10 seeds: ${[...firsts].join(',')}`)
})

test('random phase also applies to a partial peer', () => {
  const firsts = new Set<number>()
  const owned = [3, 10, 20, 30, 40, 50, 60, 70]
  for (let seed = 1; seed <= 12; seed++) {
    const picker = makePicker(80, 1, { rng: seededRandom(seed) })
    picker.addPeer('p', bits(80, owned))
    const [block] = picker.pickBlocks('p', 1)
    assert.ok(owned.includes(block.index))
    firsts.add(block.index)
  }
  assert.ok(firsts.size >= 4)
})

test('past the random phase, the rarest piece goes first', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const picker = makePicker(20, 2, { rng: seededRandom(seed), randomFirstPieces: 2 })
    const allButSeven = Array.from({ length: 20 }, (_, i) => i).filter(i => i !== 7)
    picker.addPeer('seed', Bitfield.full(20))
    picker.addPeer('common', bits(20, allButSeven))
    picker.addPeer('common2', bits(20, allButSeven))
    assert.equal(picker.availability(7), 1)
    assert.equal(picker.availability(3), 3)
    picker.markVerified(0)
    picker.markVerified(1)
    assert.deepEqual(picker.pickBlocks('seed', 2).map(b => b.index), [7, 7])
  }
})

test('rarest first for a partial peer, with ties broken at random', () => {
  const firsts = new Set<number>()
  for (let seed = 1; seed <= 10; seed++) {
    const picker = makePicker(30, 1, { rng: seededRandom(seed), randomFirstPieces: 0 })
    picker.addPeer('seed', Bitfield.full(30))
    picker.addPeer('x', bits(30, [1, 2, 3, 4, 5, 6, 20, 21, 22, 23, 24]))
    picker.addPeer('y', bits(30, [1, 2, 3, 4, 5, 6]))
    // 20..24: x and the seed; 1..6: x, y and the seed.
    const picked = picker.pickBlocks('x', 5).map(b => b.index).sort((a, b) => a - b)
    assert.deepEqual(picked, [20, 21, 22, 23, 24])
    firsts.add(picker.pickBlocks('x', 1)[0].index)
  }
  assert.ok(firsts.size >= 3, 'tie-break among pieces 1..6 looks fixed')
})

test('availability follows bitfield, have, have-all and removal', () => {
  const picker = makePicker(10, 1)
  picker.addPeer('a')
  picker.addPeer('b', bits(10, [1, 2]))
  picker.handleHave('a', 2)
  picker.handleHave('a', 2)
  picker.handleHave('a', 99)
  picker.handleHave('a', -1)
  assert.equal(picker.availability(2), 2)
  assert.equal(picker.availability(1), 1)
  picker.handleHaveAll('a')
  assert.equal(picker.availability(0), 1)
  assert.equal(picker.availability(2), 2)
  picker.addPeer('c', bits(10, [0, 1, 2, 3, 4, 5, 6, 7, 8]))
  picker.handleHave('c', 9) // now a seed
  assert.equal(picker.availability(9), 2)
  assert.equal(picker.availability(1), 3)
  picker.setPeerBitfield('b', bits(10, [5]))
  assert.equal(picker.availability(1), 2)
  assert.equal(picker.availability(5), 3)
  picker.removePeer('a')
  picker.removePeer('c')
  assert.equal(picker.availability(5), 1)
  assert.equal(picker.availability(1), 0)
  assert.equal(picker.availability(10), 0)
  assert.throws(() => picker.setPeerBitfield('b', new Bitfield(11)), /11 pieces, the torrent has 10/)
})

test('blocks inside a piece go in order; last block and last piece are short', () => {
  const pieceLength = 3 * B + 100
  const totalLength = 4 * pieceLength + B + 5
  const picker = new PiecePicker({ pieceCount: 5, pieceLength, totalLength, rng: seededRandom(3), randomFirstPieces: 0 })
  for (let i = 0; i < 4; i++) picker.setPriority(i, i === 2 ? 1 : 0)
  picker.addPeer('seed', Bitfield.full(5))
  assert.equal(picker.pieceSize(4), B + 5)
  const first = picker.pickBlocks('seed', 10)
  const second = first[0].index === 2 ? first.slice(0, 4) : first.slice(2)
  const last = first[0].index === 4 ? first.slice(0, 2) : first.slice(4)
  assert.deepEqual(second, [
    { index: 2, begin: 0, length: B },
    { index: 2, begin: B, length: B },
    { index: 2, begin: 2 * B, length: B },
    { index: 2, begin: 3 * B, length: 100 },
  ])
  assert.deepEqual(last, [
    { index: 4, begin: 0, length: B },
    { index: 4, begin: B, length: 5 },
  ])
  assert.equal(first.length, 6)
})

test('a peer continues its own partial piece, then others continue it too', () => {
  const picker = makePicker(10, 8, { randomFirstPieces: 0 })
  picker.addPeer('a', Bitfield.full(10))
  picker.addPeer('b', Bitfield.full(10))
  const a1 = picker.pickBlocks('a', 2)
  const piece = a1[0].index
  assert.deepEqual(a1.map(b => b.begin), [0, B])
  const a2 = picker.pickBlocks('a', 2)
  assert.deepEqual(a2.map(b => [b.index, b.begin]), [[piece, 2 * B], [piece, 3 * B]])
  const b1 = picker.pickBlocks('b', 5)
  assert.deepEqual(b1.slice(0, 4).map(b => [b.index, b.begin]), [[piece, 4 * B], [piece, 5 * B], [piece, 6 * B], [piece, 7 * B]])
  assert.notEqual(b1[4].index, piece)
  assert.equal(b1[4].begin, 0)
})

test('a partial piece whose starter left is finished by another peer before a new one opens', () => {
  const picker = makePicker(10, 4, { randomFirstPieces: 0 })
  picker.addPeer('a', Bitfield.full(10))
  picker.addPeer('b', Bitfield.full(10))
  const got = picker.pickBlocks('a', 3)
  deliver(picker, 'a', got.slice(0, 1))
  picker.removePeer('a')
  assert.equal(picker.outstanding('a'), 0)
  assert.equal(picker.availability(got[0].index), 1)
  const next = picker.pickBlocks('b', 3)
  assert.deepEqual(next.map(b => [b.index, b.begin]), [[got[0].index, B], [got[0].index, 2 * B], [got[0].index, 3 * B]])
})

test('choked or timed-out requests return to the pool', () => {
  const picker = makePicker(10, 4)
  picker.addPeer('a', Bitfield.full(10))
  picker.addPeer('b', Bitfield.full(10))
  const got = picker.pickBlocks('a', 4)
  deliver(picker, 'a', got.slice(0, 1))
  assert.equal(picker.outstanding('a'), 3)
  const released = picker.releasePeerRequests('a')
  assert.deepEqual(released.map(key).sort(), got.slice(1).map(key).sort())
  assert.equal(picker.outstanding('a'), 0)
  assert.deepEqual(picker.releasePeerRequests('a'), [])
  const again = picker.pickBlocks('b', 3)
  assert.deepEqual(again.map(key), got.slice(1).map(key))

  picker.releaseRequest('b', again[1])
  assert.equal(picker.outstanding('b'), 2)
  picker.releaseRequest('b', again[1]) // twice: no effect
  assert.equal(picker.outstanding('b'), 2)
  assert.deepEqual(picker.pickBlocks('a', 1).map(key), [key(again[1])])
})

test('a piece released before any data arrived is a candidate like any other again', () => {
  const picker = makePicker(1, 2)
  picker.addPeer('a', Bitfield.full(1))
  const got = picker.pickBlocks('a', 2)
  assert.equal(picker.inEndgame(), true)
  picker.releasePeerRequests('a')
  assert.equal(picker.inEndgame(), false)
  assert.deepEqual(picker.pickBlocks('a', 2), got)
})

test('endgame hands out duplicates, fewest requesters first, capped, and reports whom to cancel', () => {
  const picker = makePicker(2, 2, { maxDuplicateRequests: 3 })
  for (const p of ['a', 'b', 'c', 'd']) picker.addPeer(p, Bitfield.full(2))
  const a = picker.pickBlocks('a', 3)
  assert.equal(a.length, 3)
  assert.equal(picker.inEndgame(), false)
  const b = picker.pickBlocks('b', 3)
  assert.equal(picker.inEndgame(), true)
  // One free block, then two duplicates of a's.
  assert.equal(b.length, 3)
  const lone = b[0]
  assert.ok(!a.some(x => key(x) === key(lone)))
  assert.ok(b.slice(1).every(x => a.some(y => key(y) === key(x))))
  // c: fewest requesters first -> the block only b has, then a's third block (one requester).
  const c = picker.pickBlocks('c', 2)
  const aOnly = a.find(x => !b.some(y => key(y) === key(x)))!
  assert.deepEqual(c.map(key).sort(), [key(lone), key(aOnly)].sort())
  assert.equal(picker.pickBlocks('a', 5).length, 1) // only `lone` is not outstanding at a
  assert.deepEqual(picker.pickBlocks('a', 5), [])

  // Every block now has at least 2 requesters; those with 3 are capped.
  const d = picker.pickBlocks('d', 10)
  assert.equal(d.length, 3)
  for (const x of d) assert.ok(key(x) !== key(lone))

  const first = b[1]
  const result = picker.handleBlock('b', first)
  assert.equal(result.accepted, true)
  assert.deepEqual([...result.alsoRequestedBy].sort(), ['a', 'd'])
  assert.equal(picker.outstanding('a'), 3)
  assert.equal(picker.handleBlock('a', first).accepted, false)
  assert.equal(picker.handleBlock('b', first).accepted, false)
})

test('a block never requested, misaligned or of the wrong length is refused', () => {
  const picker = makePicker(4, 4)
  picker.addPeer('a', Bitfield.full(4))
  const [block] = picker.pickBlocks('a', 1)
  const other = (block.index + 1) % 4
  assert.equal(picker.handleBlock('a', { index: other, begin: 0, length: B }).accepted, false)
  assert.equal(picker.handleBlock('a', { index: block.index, begin: B, length: B }).accepted, false)
  assert.equal(picker.handleBlock('a', { ...block, begin: 1 }).accepted, false)
  assert.equal(picker.handleBlock('a', { ...block, length: B - 1 }).accepted, false)
  assert.equal(picker.handleBlock('a', { ...block, index: 9 }).accepted, false)
  assert.equal(picker.outstanding('a'), 1)
  const ok = picker.handleBlock('a', block)
  assert.deepEqual(ok, { accepted: true, alsoRequestedBy: [], pieceComplete: false })
  assert.equal(picker.outstanding('a'), 0)
})

test('a block that arrives after its request timed out is still taken', () => {
  const picker = makePicker(2, 2)
  picker.addPeer('a', Bitfield.full(2))
  picker.addPeer('b', Bitfield.full(2))
  const [block] = picker.pickBlocks('a', 1)
  picker.releaseRequest('a', block)
  const [again] = picker.pickBlocks('b', 1)
  assert.deepEqual(again, block)
  const late = picker.handleBlock('a', block)
  assert.deepEqual(late, { accepted: true, alsoRequestedBy: ['b'], pieceComplete: false })
  assert.equal(picker.outstanding('b'), 0)
})

test('pieceComplete is exact when blocks of a piece arrive out of order from several peers', () => {
  const picker = makePicker(1, 4)
  picker.addPeer('a', Bitfield.full(1))
  picker.addPeer('b', Bitfield.full(1))
  const a = picker.pickBlocks('a', 2)
  const b = picker.pickBlocks('b', 2)
  assert.equal(picker.handleBlock('b', b[1]).pieceComplete, false)
  assert.equal(picker.handleBlock('a', a[1]).pieceComplete, false)
  assert.equal(picker.handleBlock('b', b[0]).pieceComplete, false)
  assert.equal(picker.handleBlock('a', a[0]).pieceComplete, true)
})

test('a failed piece names its contributors and can be picked again', () => {
  const picker = makePicker(3, 2, { randomFirstPieces: 0 })
  picker.setPriority(0, 0)
  picker.setPriority(2, 0)
  picker.addPeer('a', Bitfield.full(3))
  picker.addPeer('b', Bitfield.full(3))
  picker.addPeer('c', Bitfield.full(3))
  const [a] = picker.pickBlocks('a', 1)
  const [b] = picker.pickBlocks('b', 1)
  assert.equal(a.index, 1)
  assert.equal(picker.handleBlock('a', a).pieceComplete, false)
  assert.equal(picker.handleBlock('b', b).pieceComplete, true)
  assert.deepEqual(picker.markFailed(1).sort(), ['a', 'b'])
  assert.equal(picker.missingCount(), 1)
  assert.equal(picker.have.get(1), false)
  assert.equal(picker.handleBlock('a', a).accepted, false)
  assert.deepEqual(picker.pickBlocks('c', 5), [a, b])
  deliver(picker, 'c', [a, b])
  assert.equal(picker.isComplete(), true)
  assert.deepEqual(picker.markFailed(1), [])
})

test('priority 0 is never picked and higher priorities go first', () => {
  const picker = makePicker(10, 1, { randomFirstPieces: 0 })
  picker.addPeer('seed', Bitfield.full(10))
  picker.setPriority(3, 0)
  picker.setPriority(8, 0)
  picker.setPriority(5, 3)
  picker.setPriority(2, 2)
  picker.setPriority(9, 2)
  assert.equal(picker.missingCount(), 8)
  const order = picker.pickBlocks('seed', 20).map(b => b.index)
  assert.equal(order.length, 8)
  assert.equal(order[0], 5)
  assert.deepEqual(order.slice(1, 3).sort(), [2, 9])
  assert.ok(!order.includes(3) && !order.includes(8))
  assert.equal(picker.priority(5), 3)
  assert.throws(() => picker.setPriority(1, -1), /priority must be a whole number/)
  assert.throws(() => picker.setPriority(10, 1), /piece 10 out of range/)
})

test('priority outranks a started piece, and a started piece outranks a new one of equal priority', () => {
  const picker = makePicker(6, 4, { randomFirstPieces: 0 })
  picker.addPeer('a', Bitfield.full(6))
  const [first] = picker.pickBlocks('a', 1)
  const urgent = (first.index + 3) % 6
  picker.setPriority(urgent, 7)
  assert.deepEqual(picker.pickBlocks('a', 4).map(b => b.index), [urgent, urgent, urgent, urgent])
  assert.deepEqual(picker.pickBlocks('a', 3).map(b => [b.index, b.begin]), [[first.index, B], [first.index, 2 * B], [first.index, 3 * B]])
})

test('a started piece set to priority 0 is not continued, and comes back when wanted again', () => {
  const picker = makePicker(3, 4, { randomFirstPieces: 0 })
  picker.addPeer('a', Bitfield.full(3))
  const [first] = picker.pickBlocks('a', 1)
  deliver(picker, 'a', [first])
  picker.setPriority(first.index, 0)
  const next = picker.pickBlocks('a', 8)
  assert.ok(next.every(b => b.index !== first.index))
  picker.setPriority(first.index, 1)
  picker.releasePeerRequests('a')
  assert.deepEqual(picker.pickBlocks('a', 1), [{ index: first.index, begin: B, length: B }])
})

test('isInteresting follows have, verification and priority', () => {
  const picker = makePicker(6, 1)
  picker.addPeer('p')
  assert.equal(picker.isInteresting('p'), false)
  assert.deepEqual(picker.pickBlocks('p', 4), [])
  picker.handleHave('p', 3)
  assert.equal(picker.isInteresting('p'), true)
  picker.markVerified(3)
  assert.equal(picker.isInteresting('p'), false)
  picker.handleHave('p', 4)
  assert.equal(picker.isInteresting('p'), true)
  picker.setPriority(4, 0)
  assert.equal(picker.isInteresting('p'), false)
  picker.setPriority(4, 2)
  assert.equal(picker.isInteresting('p'), true)
  picker.setPeerBitfield('p', bits(6, [3]))
  assert.equal(picker.isInteresting('p'), false)

  picker.addPeer('seed', Bitfield.full(6))
  assert.equal(picker.isInteresting('seed'), true)
  for (const i of [0, 1, 2, 4, 5]) picker.markVerified(i)
  assert.equal(picker.isComplete(), true)
  assert.equal(picker.isInteresting('seed'), false)
  assert.equal(picker.isInteresting('nobody'), false)
})

test('resume: pieces already verified are neither wanted nor picked', () => {
  const picker = makePicker(5, 1, { have: bits(5, [0, 1, 3]) })
  picker.addPeer('seed', Bitfield.full(5))
  assert.equal(picker.missingCount(), 2)
  assert.deepEqual(picker.pickBlocks('seed', 5).map(b => b.index).sort(), [2, 4])
  assert.equal(picker.have.count(), 3)
})

test('removePeer mid-flight frees its blocks and keeps endgame duplicates consistent', () => {
  const picker = makePicker(1, 3)
  picker.addPeer('a', Bitfield.full(1))
  picker.addPeer('b', Bitfield.full(1))
  const a = picker.pickBlocks('a', 3)
  const b = picker.pickBlocks('b', 3)
  assert.deepEqual(b, a)
  picker.removePeer('a')
  assert.equal(picker.outstanding('a'), 0)
  assert.equal(picker.inEndgame(), true) // b still has every block outstanding
  const result = picker.handleBlock('b', a[0])
  assert.deepEqual(result.alsoRequestedBy, [])
  picker.removePeer('b')
  assert.equal(picker.inEndgame(), false)
  picker.addPeer('c', Bitfield.full(1))
  assert.deepEqual(picker.pickBlocks('c', 3), a.slice(1))
  assert.deepEqual(picker.pickBlocks('a', 3), [])
})

test('constructor rejects sizes that do not add up', () => {
  assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: B, totalLength: 3 * B }), /does not fit 2 pieces/)
  assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: B, totalLength: B }), /does not fit/)
  assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: B, totalLength: 2 * B, have: new Bitfield(3) }), /3 pieces, the torrent has 2/)
  assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: B, totalLength: 2 * B, maxDuplicateRequests: 0 }), /maxDuplicateRequests/)
  const empty = new PiecePicker({ pieceCount: 0, pieceLength: B, totalLength: 0 })
  assert.equal(empty.isComplete(), true)
})

test('without allowNewPieces only started pieces are continued, and openPieceCount tracks them', () => {
  const picker = makePicker(10, 4)
  picker.addPeer('a', Bitfield.full(10))
  assert.equal(picker.openPieceCount(), 0)
  const first = picker.pickBlocks('a', 2)
  assert.equal(picker.openPieceCount(), 1)
  const started = first[0].index
  const more = picker.pickBlocks('a', 10, false)
  assert.deepEqual(more.map((b) => b.index), [started, started], 'only the rest of the started piece')
  assert.deepEqual(picker.pickBlocks('a', 10, false), [], 'nothing new while new pieces are held back')
  deliver(picker, 'a', [...first, ...more])
  assert.equal(picker.openPieceCount(), 0, 'a verified piece is no longer open')
  assert.equal(picker.pickBlocks('a', 4).length, 4, 'new pieces again when allowed')
})

test('a received block discarded (bad on its own) is free again for another peer; the piece completes only once it comes again', () => {
  const picker = makePicker(1, 4)
  picker.addPeer('bad', Bitfield.full(1))
  picker.addPeer('good', Bitfield.full(1))
  const first = picker.pickBlocks('bad', 2)
  assert.deepEqual(first.map(key), ['0:0', `0:${B}`])
  for (const block of first) assert.equal(picker.handleBlock('bad', block).accepted, true)
  picker.discardBlock(first[0])
  const rest = picker.pickBlocks('good', 4)
  assert.deepEqual(rest.map(key).sort(), ['0:0', `0:${2 * B}`, `0:${3 * B}`].sort(), 'the discarded block is asked again')
  const results = rest.map((block) => picker.handleBlock('good', block))
  assert.equal(results.at(-1)!.pieceComplete, true)
  assert.equal(results.filter((r) => r.pieceComplete).length, 1)
})
