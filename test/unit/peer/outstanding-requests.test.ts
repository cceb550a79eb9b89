// OutstandingRequests: the ring of requests sent to one peer, in and out of order,
// through growth and repacking, against a plain list doing the same.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { BlockRef } from '../../../src/core/types.ts'
import { OutstandingRequests } from '../../../src/peer/outstanding-requests.ts'

const block = (index: number, b: number, length = 16384): BlockRef => ({ index, begin: b * 16384, length })

test('frames are BEP 3 requests; blocks come back in order, a wrong length leaves the request', () => {
  const o = new OutstandingRequests()
  const frames = o.add([block(3, 0), block(3, 1, 100)], 1000)
  assert.equal(frames.length, 34)
  assert.deepEqual([frames.readUInt32BE(0), frames[4], frames.readUInt32BE(5), frames.readUInt32BE(9), frames.readUInt32BE(13)], [13, 6, 3, 0, 16384])
  assert.deepEqual([frames.readUInt32BE(22), frames.readUInt32BE(26), frames.readUInt32BE(30)], [3, 16384, 100])
  assert.equal(o.size, 2)
  assert.equal(o.oldestAgeMs(1500), 500)
  assert.equal(o.take(3, 16384, 16384), undefined, 'a block of another length is not the request')
  assert.equal(o.size, 2)
  assert.deepEqual(o.take(3, 0, 16384), block(3, 0))
  assert.deepEqual(o.take(3, 16384), block(3, 1, 100))
  assert.equal(o.take(3, 16384), undefined, 'taken once')
  assert.equal(o.size, 0)
  assert.equal(o.oldestAgeMs(9999), 0)
})

test('out of order, deletes and clear match a plain list through growth and repacking (large piece indexes too)', () => {
  const o = new OutstandingRequests()
  let model: { b: BlockRef; at: number }[] = []
  let seed = 7
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n)
  let next = 0
  let most = 0
  for (let step = 0; step < 4000; step++) {
    const r = rand(10)
    if (r < 5) {
      // up to 40 new requests (the index grows past 2^26 and 2^30)
      const n = 1 + rand(40)
      const blocks: BlockRef[] = []
      for (let i = 0; i < n; i++, next++) blocks.push(block(next * 50_021, i % 4))
      o.add(blocks, step)
      for (const b of blocks) model.push({ b, at: step })
    } else {
      // up to 45 answered: mostly the oldest, sometimes any one; a third of them by delete
      for (let n = 1 + rand(45); n > 0 && model.length > 0; n--) {
        const i = rand(3) === 0 ? rand(model.length) : 0
        const { b } = model[i]
        if (rand(3) === 0) assert.equal(o.delete(b), true)
        else assert.deepEqual(o.take(b.index, b.begin), b)
        model.splice(i, 1)
        assert.equal(o.delete(b), false, 'gone after')
      }
    }
    assert.equal(o.size, model.length)
    most = Math.max(most, model.length)
    assert.equal(o.oldestAgeMs(step + 10), model.length === 0 ? 0 : step + 10 - model[0].at)
    if (step % 1000 === 999) {
      assert.deepEqual(o.clear(), model.map((m) => m.b), 'clear gives every request, oldest first')
      model = []
      assert.equal(o.size, 0)
    }
  }
  assert.ok(most > 128, `the ring grew past its first 64 slots twice (at most ${most} outstanding)`)
  assert.ok(next * 50_021 > 2 ** 30, 'piece indexes past 2^30 were used')
})
