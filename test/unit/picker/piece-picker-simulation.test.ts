import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { BLOCK_SIZE, type BlockRef } from '../../../src/core/types.ts'
import { PiecePicker } from '../../../src/picker/piece-picker.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const B = BLOCK_SIZE

interface FakePeer {
  id: string
  has: Bitfield
  /** Requests the peer will answer, in no particular order. */
  queue: BlockRef[]
  /** Cancelled requests whose data was already on the wire: delivered late, must be refused. */
  inFlight: BlockRef[]
  choked: boolean
}

const key = (r: BlockRef): string => `${r.index}:${r.begin}`

function removeBlock(list: BlockRef[], block: BlockRef): boolean {
  const i = list.findIndex(x => x.index === block.index && x.begin === block.begin)
  if (i < 0) return false
  list.splice(i, 1)
  return true
}

/**
 * Several fake peers with random pieces, random delivery order, chokes,
 * timeouts, late haves, departures, priority changes and failed hashes, until the picker says
 * the download is complete. Checks the picker's books against our own at every step.
 */
function simulate(seed: number): { steps: number; duplicates: number; failures: number } {
  const rand = seededRandom(seed)
  const int = (n: number): number => Math.floor(rand() * n)
  const blocksPerPiece = 1 + int(5)
  const pieceLength = blocksPerPiece * B
  const pieceCount = 10 + int(50)
  const totalLength = (pieceCount - 1) * pieceLength + 1 + int(pieceLength)
  const picker = new PiecePicker({
    pieceCount,
    pieceLength,
    totalLength,
    rng: seededRandom(seed + 7919),
    randomFirstPieces: int(6),
    maxDuplicateRequests: 1 + int(3),
  })
  const pieceSize = (i: number): number => (i === pieceCount - 1 ? totalLength - i * pieceLength : pieceLength)
  const blocksOf = (i: number): number => Math.ceil(pieceSize(i) / B)

  const wanted = new Set<number>()
  for (let i = 0; i < pieceCount; i++) {
    const r = rand()
    const priority = r < 0.1 ? 0 : r < 0.3 ? 2 : 1
    picker.setPriority(i, priority)
    if (priority > 0) wanted.add(i)
  }
  assert.equal(picker.missingCount(), wanted.size)

  const peers: FakePeer[] = []
  let nextPeer = 0
  const addPeer = (density: number, announce: 'bitfield' | 'none' | 'have-all'): FakePeer => {
    const has = new Bitfield(pieceCount)
    if (announce === 'have-all') for (let i = 0; i < pieceCount; i++) has.set(i)
    else for (let i = 0; i < pieceCount; i++) if (rand() < density) has.set(i)
    const peer: FakePeer = { id: `peer${nextPeer++}`, has, queue: [], inFlight: [], choked: false }
    peers.push(peer)
    if (announce === 'bitfield') picker.addPeer(peer.id, has)
    else if (announce === 'none') {
      picker.addPeer(peer.id)
      for (let i = 0; i < pieceCount; i++) if (has.get(i)) picker.handleHave(peer.id, i)
    } else {
      picker.addPeer(peer.id)
      picker.handleHaveAll(peer.id)
    }
    return peer
  }
  for (let n = 0; n < 5; n++) addPeer(0.2 + rand() * 0.6, n === 4 ? 'none' : 'bitfield')
  // Every piece somewhere, so the download can finish.
  for (let i = 0; i < pieceCount; i++) {
    if (peers.some(p => p.has.get(i))) continue
    const p = peers[int(peers.length)]
    p.has.set(i)
    picker.handleHave(p.id, i)
  }
  for (let i = 0; i < pieceCount; i++) assert.equal(picker.availability(i), peers.filter(p => p.has.get(i)).length)

  /** Per block: accepted deliveries since the piece last failed. */
  const accepted = new Map<string, number>()
  const contributors = new Map<number, Set<string>>()
  const covered = (i: number, without: FakePeer): boolean => peers.some(p => p !== without && p.has.get(i))
  const pipeline = 1 + int(8)
  let duplicates = 0
  let failures = 0
  let steps = 0

  const refill = (peer: FakePeer): void => {
    if (peer.choked) return
    const got = picker.pickBlocks(peer.id, pipeline - peer.queue.length)
    for (const block of got) {
      assert.ok(peer.has.get(block.index), `${peer.id} asked for piece ${block.index} it lacks`)
      assert.ok(wanted.has(block.index), `unwanted piece ${block.index} picked`)
      assert.ok(!picker.have.get(block.index))
      assert.equal(accepted.get(key(block)) ?? 0, 0, `block ${key(block)} already received`)
      assert.ok(!peer.queue.some(x => key(x) === key(block)), `${peer.id} got ${key(block)} twice`)
      assert.equal(block.length, Math.min(B, pieceSize(block.index) - block.begin))
      if (peers.some(p => p !== peer && p.queue.some(x => key(x) === key(block)))) {
        assert.equal(picker.inEndgame(), true, `block ${key(block)} duplicated outside endgame`)
        duplicates++
      }
      peer.queue.push(block)
    }
  }

  while (!picker.isComplete()) {
    assert.ok(++steps < 200_000, `seed ${seed}: no progress after ${steps} steps`)
    for (const peer of peers) refill(peer)
    for (const peer of peers) assert.equal(picker.outstanding(peer.id), peer.queue.length)

    const r = rand()
    const busy = peers.filter(p => p.queue.length > 0 || p.inFlight.length > 0)
    if (r < 0.7 && busy.length > 0) {
      const peer = busy[int(busy.length)]
      if (peer.inFlight.length > 0 && (peer.queue.length === 0 || rand() < 0.3)) {
        const late = peer.inFlight.splice(int(peer.inFlight.length), 1)[0]
        assert.equal(picker.handleBlock(peer.id, late).accepted, false, `late duplicate ${key(late)} accepted`)
        continue
      }
      const block = peer.queue.splice(int(peer.queue.length), 1)[0]
      const result = picker.handleBlock(peer.id, block)
      assert.equal(result.accepted, true, `requested block ${key(block)} refused`)
      accepted.set(key(block), (accepted.get(key(block)) ?? 0) + 1)
      let who = contributors.get(block.index)
      if (!who) contributors.set(block.index, (who = new Set()))
      who.add(peer.id)
      for (const other of result.alsoRequestedBy) {
        const q = peers.find(p => p.id === other)!
        assert.ok(removeBlock(q.queue, block), `${other} named in alsoRequestedBy without the request`)
        if (rand() < 0.5) q.inFlight.push(block)
      }
      for (const q of peers) assert.ok(!q.queue.some(x => key(x) === key(block)), `${q.id} still waits for received ${key(block)}`)
      const complete = Array.from({ length: blocksOf(block.index) }, (_, b) => accepted.get(`${block.index}:${b * B}`) === 1).every(Boolean)
      assert.equal(result.pieceComplete, complete)
      if (!result.pieceComplete) continue
      if (rand() < 0.08) {
        failures++
        assert.deepEqual(picker.markFailed(block.index).sort(), [...who].sort())
        for (let b = 0; b < blocksOf(block.index); b++) accepted.delete(`${block.index}:${b * B}`)
        contributors.delete(block.index)
        // Late copies from the failed attempt would be accepted as data for the retry: drop them.
        for (const q of peers) q.inFlight = q.inFlight.filter(x => x.index !== block.index)
      } else {
        picker.markVerified(block.index)
      }
    } else if (r < 0.78) {
      const peer = peers[int(peers.length)]
      if (peer.choked) {
        peer.choked = false
      } else {
        const released = picker.releasePeerRequests(peer.id)
        assert.deepEqual(released.map(key).sort(), peer.queue.map(key).sort())
        peer.queue = []
        peer.choked = true
      }
    } else if (r < 0.85) {
      const peer = peers[int(peers.length)]
      if (peer.queue.length === 0) continue
      const block = peer.queue.splice(int(peer.queue.length), 1)[0]
      picker.releaseRequest(peer.id, block)
    } else if (r < 0.95) {
      const peer = peers[int(peers.length)]
      const i = int(pieceCount)
      if (peer.has.get(i)) continue
      const before = picker.availability(i)
      peer.has.set(i)
      picker.handleHave(peer.id, i)
      assert.equal(picker.availability(i), before + 1)
      const lacks = (p: FakePeer): boolean => Array.from(wanted).some(w => p.has.get(w) && !picker.have.get(w))
      assert.equal(picker.isInteresting(peer.id), lacks(peer))
    } else if (r < 0.965) {
      const i = int(pieceCount)
      const priority = int(4)
      if (priority > 0 && !peers.some(p => p.has.get(i))) continue
      picker.setPriority(i, priority)
      if (priority > 0) wanted.add(i)
      else wanted.delete(i)
      assert.equal(picker.missingCount(), Array.from(wanted).filter(w => !picker.have.get(w)).length)
    } else if (r < 0.98) {
      const peer = peers[int(peers.length)]
      const strands = Array.from(wanted).some(i => !picker.have.get(i) && !covered(i, peer))
      if (strands) continue
      picker.removePeer(peer.id)
      peers.splice(peers.indexOf(peer), 1)
      assert.equal(picker.outstanding(peer.id), 0)
      assert.equal(picker.isInteresting(peer.id), false)
      addPeer(0.3 + rand() * 0.6, rand() < 0.3 ? 'have-all' : 'bitfield')
    }
  }

  for (const i of wanted) {
    assert.equal(picker.have.get(i), true)
    for (let b = 0; b < blocksOf(i); b++) assert.equal(accepted.get(`${i}:${b * B}`), 1, `block ${i}:${b * B} accepted ${accepted.get(`${i}:${b * B}`)} times`)
  }
  // Requests made before a piece was set to priority 0 may still be out; nothing else.
  for (const peer of peers) {
    assert.equal(picker.outstanding(peer.id), peer.queue.length)
    for (const block of peer.queue) assert.ok(!wanted.has(block.index), `${peer.id} still waits for wanted ${key(block)}`)
  }
  assert.equal(picker.missingCount(), 0)
  assert.equal(picker.inEndgame(), false)
  return { steps, duplicates, failures }
}

test('simulated downloads finish with every block accepted exactly once', () => {
  let duplicates = 0
  let failures = 0
  for (let seed = 1; seed <= 60; seed++) {
    const run = simulate(seed)
    duplicates += run.duplicates
    failures += run.failures
  }
  // The scenarios must actually reach endgame and failed hashes, or the run proves little.
  assert.ok(duplicates > 0, 'no run reached endgame duplicates')
  assert.ok(failures > 0, 'no run failed a piece')
})

test('100k pieces: a whole download through pickBlocks stays correct', () => {
  const pieceCount = 100_000
  const rand = seededRandom(42)
  const picker = new PiecePicker({ pieceCount, pieceLength: 2 * B, totalLength: pieceCount * 2 * B - 1000, rng: seededRandom(43) })
  const ids = ['seed1', 'seed2', 'part1', 'part2', 'part3', 'part4']
  const has = new Map<string, Bitfield>()
  for (const id of ids) {
    const bf = id.startsWith('seed') ? Bitfield.full(pieceCount) : new Bitfield(pieceCount)
    if (!id.startsWith('seed')) for (let i = 0; i < pieceCount; i++) if (rand() < 0.5) bf.set(i)
    has.set(id, bf)
    picker.addPeer(id, bf)
  }
  const queues = new Map<string, BlockRef[]>(ids.map(id => [id, []]))
  const received = new Uint8Array(pieceCount * 2)
  let deliveries = 0
  for (const id of ids) queues.get(id)!.push(...picker.pickBlocks(id, 16))
  while (!picker.isComplete()) {
    const id = ids[Math.floor(rand() * ids.length)]
    const queue = queues.get(id)!
    if (queue.length === 0) {
      queue.push(...picker.pickBlocks(id, 16))
      continue
    }
    const block = queue.splice(Math.floor(rand() * queue.length), 1)[0]
    assert.ok(has.get(id)!.get(block.index))
    const result = picker.handleBlock(id, block)
    assert.equal(result.accepted, true)
    const slot = block.index * 2 + block.begin / B
    assert.equal(received[slot], 0)
    received[slot] = 1
    deliveries++
    for (const other of result.alsoRequestedBy) removeBlock(queues.get(other)!, block)
    if (result.pieceComplete) picker.markVerified(block.index)
    // A partial peer finishes a piece now and then, which moves it between rarity buckets.
    if ((deliveries & 63) === 0) {
      const partial = ids[2 + Math.floor(rand() * 4)]
      const i = Math.floor(rand() * pieceCount)
      if (!has.get(partial)!.get(i)) {
        has.get(partial)!.set(i)
        picker.handleHave(partial, i)
      }
    }
    queue.push(...picker.pickBlocks(id, 16 - queue.length))
  }
  assert.equal(deliveries, pieceCount * 2)
  assert.equal(picker.have.count(), pieceCount)
  assert.ok(received.every(x => x === 1))
})
