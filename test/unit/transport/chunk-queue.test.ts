// ChunkQueue's release callbacks: a chunk's runs once its last byte is cut into a packet, never
// before, and clear() runs the rest with the error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChunkQueue } from '../../../src/transport/utp/chunk-queue.ts'

test('a chunk is released when its last byte is taken, in order; clear releases the rest with its error', () => {
  const q = new ChunkQueue()
  const released: string[] = []
  q.push(Buffer.from('abcd'), (err) => released.push(`a${err ? ':' + err.message : ''}`))
  q.push(Buffer.from('ef'))
  q.push(Buffer.from('ghij'), (err) => released.push(`g${err ? ':' + err.message : ''}`))
  q.push(Buffer.alloc(0), () => released.push('empty'))
  assert.deepEqual(released, ['empty'], 'an empty chunk holds nothing: released at once')
  const out = Buffer.alloc(10)
  q.takeInto(out, 0, 3)
  assert.deepEqual(released, ['empty'], 'a partly taken chunk is still held')
  q.takeInto(out, 3, 4)
  assert.equal(out.subarray(0, 7).toString(), 'abcdefg')
  assert.deepEqual(released, ['empty', 'a'])
  assert.equal(q.bytes, 3)
  q.clear(new Error('gone'))
  assert.deepEqual(released, ['empty', 'a', 'g:gone'])
  assert.equal(q.bytes, 0)
  q.clear()
  assert.equal(released.length, 3, 'nothing is released twice')
})
