import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Choker } from '../../../src/choker/choker.ts'
import type { ChokeDecision, ChokerPeer } from '../../../src/choker/choker.ts'
import { seededRandom as seeded } from '../../helpers/seeded-random.ts'


const OLD_MS = -1_000_000

function peer(id: string, downloadRate: number, extra: Partial<ChokerPeer> = {}): ChokerPeer {
  return { id, interested: true, downloadRate, uploadRate: 0, connectedAtMs: OLD_MS, ...extra }
}

function regular(d: ChokeDecision): string[] {
  return [...d.unchoked].filter((id) => id !== d.optimistic).sort()
}

test('the four peers that give us most get the regular slots, plus one optimistic from the rest', () => {
  const peers = [peer('a', 10), peer('b', 900), peer('c', 50), peer('d', 700), peer('e', 5), peer('f', 800), peer('g', 600), peer('h', 1)]
  for (let seed = 1; seed <= 50; seed++) {
    const d = new Choker({ rng: seeded(seed) }).rechoke(peers, 0, false)
    assert.deepEqual(regular(d), ['b', 'd', 'f', 'g'])
    assert.ok(d.optimistic !== undefined && ['a', 'c', 'e', 'h'].includes(d.optimistic), `optimistic ${d.optimistic}`)
    assert.equal(d.unchoked.size, 5)
  }
})

test('while seeding the ranking is by our upload rate to them', () => {
  const peers = [
    peer('a', 1000, { uploadRate: 1 }),
    peer('b', 900, { uploadRate: 2 }),
    peer('c', 800, { uploadRate: 3 }),
    peer('d', 700, { uploadRate: 4 }),
    peer('e', 0, { uploadRate: 500 }),
    peer('f', 0, { uploadRate: 400 }),
    peer('g', 0, { uploadRate: 300 }),
    peer('h', 0, { uploadRate: 200 }),
  ]
  const seedingChoice = new Choker({ rng: seeded(7) }).rechoke(peers, 0, true)
  assert.deepEqual(regular(seedingChoice), ['e', 'f', 'g', 'h'])
  const leechingChoice = new Choker({ rng: seeded(7) }).rechoke(peers, 0, false)
  assert.deepEqual(regular(leechingChoice), ['a', 'b', 'c', 'd'])
})

test('uninterested peers are never unchoked and snubbed peers never get a regular slot', () => {
  const peers = [
    peer('fast-uninterested', 1e9, { interested: false }),
    peer('fast-snubbed', 1e8, { snubbed: true }),
    peer('a', 40),
    peer('b', 30),
    peer('c', 20),
    peer('d', 10),
    peer('e', 5),
  ]
  let snubbedOptimistic = 0
  for (let seed = 1; seed <= 200; seed++) {
    const d = new Choker({ rng: seeded(seed) }).rechoke(peers, 0, false)
    assert.ok(!d.unchoked.has('fast-uninterested'))
    assert.deepEqual(regular(d), ['a', 'b', 'c', 'd'])
    if (d.optimistic === 'fast-snubbed') snubbedOptimistic++
  }
  // A snubbed peer may still be tried optimistically; only its regular slot is barred.
  assert.ok(snubbedOptimistic > 0 && snubbedOptimistic < 200, `snubbed optimistic ${snubbedOptimistic}/200`)
})

test('fewer interested peers than slots: all of them unchoked, no optimistic', () => {
  const peers = [peer('a', 0), peer('b', 5), peer('c', 1), peer('x', 99, { interested: false })]
  const d = new Choker({ rng: seeded(3) }).rechoke(peers, 0, false)
  assert.deepEqual([...d.unchoked].sort(), ['a', 'b', 'c'])
  assert.equal(d.optimistic, undefined)
})

test('the optimistic unchoke is kept for 30 s, then rotated to another peer', () => {
  const peers = [peer('a', 40), peer('b', 30), peer('c', 20), peer('d', 10), peer('x', 0), peer('y', 0), peer('z', 0)]
  for (let seed = 1; seed <= 20; seed++) {
    const choker = new Choker({ rng: seeded(seed) })
    const first = choker.rechoke(peers, 0, false).optimistic
    assert.ok(first !== undefined)
    for (const t of [10_000, 20_000, 29_999]) assert.equal(choker.rechoke(peers, t, false).optimistic, first)
    const second = choker.rechoke(peers, 30_000, false).optimistic
    assert.ok(second !== undefined && second !== first, `seed ${seed}: ${first} was not rotated`)
    assert.equal(choker.rechoke(peers, 59_999, false).optimistic, second)
    assert.notEqual(choker.rechoke(peers, 60_000, false).optimistic, second)
  }
})

test('an optimistic peer that leaves or loses interest is replaced at once', () => {
  const peers = [peer('a', 40), peer('b', 30), peer('c', 20), peer('d', 10), peer('x', 0), peer('y', 0), peer('z', 0)]
  const choker = new Choker({ rng: seeded(11) })
  const first = choker.rechoke(peers, 0, false).optimistic
  const gone = peers.filter((p) => p.id !== first)
  const second = choker.rechoke(gone, 1_000, false).optimistic
  assert.ok(second !== undefined && second !== first)
  const bored = gone.map((p) => (p.id === second ? { ...p, interested: false } : p))
  const third = choker.rechoke(bored, 2_000, false)
  assert.ok(third.optimistic !== undefined && third.optimistic !== second)
  assert.ok(!third.unchoked.has(second))
})

test('an optimistic peer that earns a regular slot frees the optimistic turn for another', () => {
  const peers = [peer('a', 40), peer('b', 30), peer('c', 20), peer('d', 10), peer('x', 0), peer('y', 0)]
  const choker = new Choker({ rng: seeded(5) })
  const first = choker.rechoke(peers, 0, false).optimistic
  const promoted = peers.map((p) => (p.id === first ? { ...p, downloadRate: 1000 } : p))
  const d = choker.rechoke(promoted, 10_000, false)
  assert.ok(regular(d).includes(first!))
  assert.ok(d.optimistic !== undefined && d.optimistic !== first)
})

test('newly connected peers are about three times as likely to be the optimistic unchoke', () => {
  const nowMs = 100_000
  const peers = [
    peer('a', 40),
    peer('b', 30),
    peer('c', 20),
    peer('d', 10),
    peer('new1', 0, { connectedAtMs: nowMs - 5_000 }),
    peer('new2', 0, { connectedAtMs: nowMs - 59_000 }),
    peer('old1', 0, { connectedAtMs: nowMs - 60_000 }),
    peer('old2', 0),
    peer('old3', 0),
  ]
  let newPicks = 0
  let oldPicks = 0
  const runs = 6000
  for (let seed = 1; seed <= runs; seed++) {
    const o = new Choker({ rng: seeded(seed) }).rechoke(peers, nowMs, false).optimistic
    if (o?.startsWith('new')) newPicks++
    else if (o?.startsWith('old')) oldPicks++
  }
  assert.equal(newPicks + oldPicks, runs)
  const perPeerRatio = newPicks / 2 / (oldPicks / 3)
  assert.ok(perPeerRatio > 2.6 && perPeerRatio < 3.4, `new/old per-peer ratio ${perPeerRatio.toFixed(2)}`)
})

test('ties in rate are broken at random, and the same seed gives the same decision', () => {
  const peers = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map((id) => peer(id, 100))
  const regularCount = new Map<string, number>()
  for (let seed = 1; seed <= 400; seed++) {
    const d = new Choker({ rng: seeded(seed) }).rechoke(peers, 0, false)
    const again = new Choker({ rng: seeded(seed) }).rechoke(peers, 0, false)
    assert.deepEqual(again, d)
    for (const id of regular(d)) regularCount.set(id, (regularCount.get(id) ?? 0) + 1)
  }
  for (const p of peers) {
    const n = regularCount.get(p.id) ?? 0
    assert.ok(n > 120 && n < 280, `${p.id} got a regular slot ${n}/400 times, expected about 200`)
  }
})

test('options are checked', () => {
  assert.throws(() => new Choker({ regularSlots: -1 }), /regularSlots/)
  assert.throws(() => new Choker({ optimisticIntervalMs: 0 }), /optimisticIntervalMs/)
  assert.equal(new Choker().rechokeIntervalMs, 10_000)
  const zeroSlots = new Choker({ regularSlots: 0, rng: seeded(1) }).rechoke([peer('a', 5), peer('b', 9)], 0, false)
  assert.equal(zeroSlots.unchoked.size, 1)
  assert.ok(zeroSlots.optimistic !== undefined && zeroSlots.unchoked.has(zeroSlots.optimistic))
})
