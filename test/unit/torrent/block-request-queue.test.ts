// A peer's request queue (a BlockRing): first in first out across
// the ring's wrap and its growth, bounded, and a cancel removes only the first
// equal request, keeping the others' order. Checked against a plain array.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BlockRequestQueue } from '../../../src/torrent/block-request-queue.ts'

type Req = [index: number, begin: number, length: number]

function drain(q: BlockRequestQueue): Req[] {
  const out: Req[] = []
  while (q.length > 0) {
    out.push([q.firstIndex, q.firstBegin, q.firstLength])
    q.shift()
  }
  return out
}

test('requests come out in order, across wraps and growth, and past the capacity none are kept', () => {
  const q = new BlockRequestQueue(100)
  const model: Req[] = []
  let n = 0
  // Push 3, take 2, over and over: the head walks round the ring while it grows.
  for (let round = 0; round < 120; round++) {
    for (let k = 0; k < 3; k++, n++) {
      const req: Req = [n, (n % 16) * 16384, 16384]
      const kept = q.push(...req)
      assert.equal(kept, model.length < 100)
      if (kept) model.push(req)
    }
    for (let k = 0; k < 2 && model.length > 0; k++) {
      assert.deepEqual([q.firstIndex, q.firstBegin, q.firstLength], model.shift())
      q.shift()
    }
    assert.equal(q.length, model.length)
  }
  assert.equal(model.length, 98)
  for (const req of [[1, 2, 3], [4, 5, 6]] as Req[]) {
    assert.equal(q.push(...req), true)
    model.push(req)
  }
  assert.equal(q.full, true)
  assert.equal(q.push(7, 8, 9), false)
  assert.deepEqual(drain(q), model)
})

test('remove takes the first equal request only and keeps the order of the rest', () => {
  const q = new BlockRequestQueue(8)
  // Wrap the head first, so the removal shifts entries across the ring's end.
  for (let k = 0; k < 6; k++) q.push(99, k, 1)
  for (let k = 0; k < 6; k++) q.shift()
  const reqs: Req[] = [[1, 0, 16384], [2, 0, 16384], [1, 0, 16384], [3, 16384, 100], [4, 0, 5]]
  for (const r of reqs) q.push(...r)
  assert.equal(q.remove(1, 0, 16384), true)
  assert.equal(q.remove(3, 16384, 99), false, 'a different length is another request')
  assert.equal(q.remove(7, 0, 16384), false)
  assert.equal(q.remove(4, 0, 5), true)
  assert.deepEqual(drain(q), [[2, 0, 16384], [1, 0, 16384], [3, 16384, 100]])
  q.push(5, 0, 1)
  q.clear()
  assert.equal(q.length, 0)
  assert.deepEqual(drain(q), [])
})
