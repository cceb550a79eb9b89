import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BufferPool, BufferPools } from '../../../src/core/buffer-pool.ts'

test('released buffers are handed out again, up to maxFree kept', () => {
  const pool = new BufferPool(1024, 2)
  const a = pool.acquire()
  const b = pool.acquire()
  const c = pool.acquire()
  assert.equal(a.length, 1024)
  pool.release(a)
  pool.release(b)
  pool.release(c)
  assert.equal(pool.freeCount, 2, 'the third is dropped for the GC')
  const again = [pool.acquire(), pool.acquire()]
  assert.ok(again.includes(a) && again.includes(b))
  pool.release(Buffer.alloc(10))
  assert.equal(pool.freeCount, 0, 'a buffer of another size is never pooled')
})

test('drain hands every free buffer to the GC; the pool still works after', () => {
  const pool = new BufferPool(64, 4)
  pool.release(pool.acquire())
  pool.release(Buffer.allocUnsafeSlow(64))
  assert.equal(pool.freeCount, 2)
  pool.drain()
  assert.equal(pool.freeCount, 0)
  assert.equal(pool.acquire().length, 64)
})

test('BufferPools hands users of one size the same pool, keeping as many free as the most any asks', () => {
  const pools = new BufferPools()
  const a = pools.get(1024, 2)
  const b = pools.get(1024, 3)
  assert.equal(a, b)
  assert.notEqual(pools.get(2048, 2), a, 'another size, another pool')
  const buffers = [a.acquire(), a.acquire(), b.acquire(), b.acquire()]
  for (const buffer of buffers) a.release(buffer)
  assert.equal(a.freeCount, 3, 'three kept for both users, not two each')
  pools.get(1024, 1)
  a.release(Buffer.allocUnsafeSlow(1024))
  assert.equal(a.freeCount, 3, 'a user asking for fewer does not shrink it')
})
