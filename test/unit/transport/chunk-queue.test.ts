// ChunkQueue's release callbacks: a chunk's is handed back once its last byte is cut into a packet,
// never before, and clear() runs the rest with the error. AckReleases then holds them until the
// cumulative ACK passes the packet that carried that last byte.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChunkQueue, type ChunkRelease } from '../../../src/transport/utp/chunk-queue.ts'
import { AckReleases } from '../../../src/transport/utp/ack-releases.ts'

test('a chunk is handed back when its last byte is taken, in order; clear releases the rest with its error', () => {
  const q = new ChunkQueue()
  const released: string[] = []
  q.push(Buffer.from('abcd'), (err) => released.push(`a${err ? ':' + err.message : ''}`))
  q.push(Buffer.from('ef'))
  q.push(Buffer.from('ghij'), (err) => released.push(`g${err ? ':' + err.message : ''}`))
  q.push(Buffer.alloc(0), () => released.push('empty'))
  assert.deepEqual(released, ['empty'], 'an empty chunk holds nothing: released at once')
  const views: Buffer[] = []
  const handed: ChunkRelease[] = []
  q.takeViews(views, 3, handed)
  assert.equal(handed.length, 0, 'a partly taken chunk is still held')
  q.takeViews(views, 4, handed)
  assert.equal(Buffer.concat(views).toString(), 'abcdefg')
  assert.equal(handed.length, 1)
  assert.deepEqual(released, ['empty'], 'handed back, not called: its packet is not acknowledged yet')
  handed[0]()
  assert.deepEqual(released, ['empty', 'a'])
  assert.equal(q.bytes, 3)
  q.clear(new Error('gone'))
  assert.deepEqual(released, ['empty', 'a', 'g:gone'])
  assert.equal(q.bytes, 0)
  q.clear()
  assert.equal(released.length, 3, 'nothing is released twice')
})

test('AckReleases calls a chunk back only once every packet up to its last one is acknowledged, across the 16-bit wrap', () => {
  const acks = new AckReleases()
  const called: string[] = []
  const cb = (name: string): ChunkRelease => (err) => called.push(err ? `${name}:${err.message}` : name)
  acks.add(65_534, [cb('x')])
  acks.add(65_535, [])
  acks.add(0, [cb('y'), cb('z')])
  acks.add(2, [cb('w')])
  acks.ackedBefore(65_534)
  assert.deepEqual(called, [], 'nothing acknowledged yet')
  acks.ackedBefore(65_535)
  assert.deepEqual(called, ['x'])
  acks.ackedBefore(0)
  assert.deepEqual(called, ['x'], 'packet 0 is still the oldest unacknowledged (a SACK of later ones does not count)')
  acks.ackedBefore(2)
  assert.deepEqual(called, ['x', 'y', 'z'])
  assert.equal(acks.size, 1)
  acks.clear(new Error('closed'))
  assert.deepEqual(called, ['x', 'y', 'z', 'w:closed'])
  acks.clear(new Error('again'))
  assert.equal(called.length, 4, 'nothing is called twice')
})
