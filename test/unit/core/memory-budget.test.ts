// A memory budget shared by consumers (a session's torrents): the total is
// the shares' sum; a share is blocked at its own limit or while the total is
// at the budget's and others hold part of it (alone, its own limit only); a waiter is woken once a release makes room for it (not
// before), and a share that releases gives back all it held.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryBudget } from '../../../src/core/memory-budget.ts'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

test('two shares count against one total; each is blocked at the budget, or at its own limit', () => {
  const budget = new MemoryBudget(100)
  const a = budget.share()
  const b = budget.share()
  a.set(60)
  assert.equal(a.blocked(100), false)
  b.add(40)
  assert.equal(budget.usedBytes, 100)
  assert.equal(a.blocked(100), true, 'the total is at the budget')
  assert.equal(b.blocked(100), true, 'the other share too, though it holds less')
  b.set(10)
  assert.equal(budget.usedBytes, 70)
  assert.equal(a.blocked(100), false)
  assert.equal(a.blocked(60), true, 'its own limit still holds')
})

test('one share alone behaves as with its own limit only', () => {
  const budget = new MemoryBudget(100)
  const only = budget.share()
  only.set(99)
  assert.equal(only.blocked(100), false)
  only.set(100)
  assert.equal(only.blocked(100), true)
  only.set(150)
  assert.equal(only.blocked(200), false, 'a larger own limit (big pieces) is not cut to the budget')
  const other = budget.share()
  other.set(1)
  assert.equal(only.blocked(200), true, 'with another holding part of the spent budget, it is')
  assert.equal(other.blocked(200), true)
})

test('a waiter is woken after a release makes room, not before, and only once', async () => {
  const budget = new MemoryBudget(100)
  const a = budget.share()
  const b = budget.share()
  a.set(80)
  b.set(20)
  let woken = 0
  b.wait(100, () => woken++)
  assert.equal(budget.waiting, 1)
  a.add(10) // more held: no wake
  a.set(95) // 115 → 115: still over
  await tick()
  assert.equal(woken, 0)
  a.set(85) // 105: a release, but still at the budget
  await tick()
  assert.equal(woken, 0, 'no room yet')
  a.set(50) // 70
  assert.equal(woken, 0, 'woken in a microtask, not inside the release')
  await tick()
  assert.equal(woken, 1)
  assert.equal(budget.waiting, 0)
  a.set(0)
  await tick()
  assert.equal(woken, 1, 'a waiter is woken once')
})

test('a waiter left holding nothing is woken though the others keep the budget spent (its floor)', async () => {
  const budget = new MemoryBudget(100)
  const a = budget.share()
  const b = budget.share()
  a.set(30)
  b.set(100)
  let woken = 0
  a.wait(100, () => woken++)
  a.set(10)
  await tick()
  assert.equal(woken, 0, 'still holding some, and no room')
  a.set(0)
  await tick()
  assert.equal(woken, 1)
})

test('release gives back everything a share held and wakes its own waiters; the others wait for room', async () => {
  const budget = new MemoryBudget(100)
  const a = budget.share()
  const b = budget.share()
  const c = budget.share()
  a.set(70)
  b.set(60)
  c.set(50)
  const woken: string[] = []
  a.wait(100, () => woken.push('a'))
  c.wait(100, () => woken.push('c'))
  a.release()
  assert.equal(a.heldBytes, 0)
  assert.equal(budget.usedBytes, 110)
  await tick()
  assert.deepEqual(woken, ['a'], 'the stopped share is woken to see it stopped; c still has no room')
  b.release()
  await tick()
  assert.deepEqual(woken, ['a', 'c'])
  c.release()
  assert.equal(budget.usedBytes, 0, 'nothing leaks')
  assert.equal(budget.waiting, 0)
})
