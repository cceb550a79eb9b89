// The uTP send side's pure parts: the ring of packets awaiting an ACK (bytes in
// flight, resends pending, Karn's rule for RTT samples) and the queue of
// written bytes that packets are cut from.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ChunkQueue } from '../../../src/transport/utp/chunk-queue.ts'
import { SendRing, type OutPacket } from '../../../src/transport/utp/send-ring.ts'

const packet = (payloadBytes: number): OutPacket => ({ header: Buffer.alloc(20), parts: [Buffer.alloc(20), Buffer.alloc(payloadBytes)], payloadBytes, sentAtMs: 0, transmissions: 0, inFlight: false, needResend: false, fastResent: false, padded: false })

test('a packet sent once gives an RTT sample when acknowledged; bytes in flight follow', () => {
  const ring = new SendRing(8)
  const a = packet(100)
  ring.put(65535, a)
  ring.markSent(a, 1000)
  assert.equal(ring.inFlightBytes, 100)
  const samples: number[] = []
  assert.equal(ring.ack(65535, 1040, (ms) => samples.push(ms)), 100)
  assert.deepEqual(samples, [40])
  assert.equal(ring.inFlightBytes, 0)
  assert.equal(ring.get(65535), undefined)
  assert.equal(ring.ack(65535, 1050, (ms) => samples.push(ms)), 0, 'a second ACK of the same packet counts nothing')
})

test('a resent packet gives no RTT sample (Karn), and a timeout takes it out of flight', () => {
  const ring = new SendRing(8)
  const a = packet(50)
  ring.put(3, a)
  ring.markSent(a, 0)
  ring.markTimedOut(a)
  assert.equal(ring.inFlightBytes, 0)
  assert.equal(ring.resendPending, 1)
  ring.markTimedOut(a)
  assert.equal(ring.resendPending, 1, 'marked once, counted once')
  ring.markSent(a, 500)
  assert.equal(ring.resendPending, 0)
  assert.equal(ring.inFlightBytes, 50)
  const samples: number[] = []
  ring.ack(3, 600, (ms) => samples.push(ms))
  assert.deepEqual(samples, [])
})

test('a fast-retransmit loss stays in flight until it is acknowledged or resent', () => {
  const ring = new SendRing(8)
  const a = packet(10)
  ring.put(1, a)
  ring.markSent(a, 0)
  ring.markLost(a)
  assert.equal(ring.inFlightBytes, 10)
  assert.equal(ring.resendPending, 1)
  assert.ok(a.fastResent && a.needResend)
  ring.ack(1, 5, () => assert.fail('a packet marked lost gives no RTT sample'))
  assert.equal(ring.resendPending, 0)
  assert.equal(ring.inFlightBytes, 0)
})

test('the chunk queue cuts packets across written chunks without losing or reordering a byte', () => {
  const q = new ChunkQueue()
  const written = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))
  q.push(written.subarray(0, 1))
  q.push(Buffer.alloc(0))
  q.push(written.subarray(1, 700))
  q.push(written.subarray(700))
  assert.equal(q.bytes, 1000)
  const packets: Buffer[][] = []
  for (let at = 0; at < 1000; at += 333) {
    const views: Buffer[] = []
    q.takeViews(views, Math.min(333, 1000 - at), [])
    packets.push(views)
  }
  assert.equal(q.bytes, 0)
  assert.deepEqual(packets.map((p) => p.reduce((n, v) => n + v.length, 0)), [333, 333, 333, 1])
  assert.deepEqual(packets[2].map((v) => v.length), [34, 299], 'a packet across two chunks is two views')
  assert.deepEqual(Buffer.concat(packets.flat()), written)
  assert.equal(packets[0][0].buffer, written.buffer, 'views, not copies')
})
