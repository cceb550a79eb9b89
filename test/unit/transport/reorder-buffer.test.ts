import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ReorderBuffer } from '../../../src/transport/utp/reorder-buffer.ts'
import { forEachSacked } from '../../../src/transport/utp/utp-packet.ts'

test('packets held out of order come back once each, counted in bytes and packets', () => {
  const r = new ReorderBuffer(16)
  r.store(5, Buffer.from('five'))
  r.store(5, Buffer.from('dupe'))
  r.store(7, Buffer.from('seven'))
  assert.equal(r.count, 2)
  assert.equal(r.bufferedBytes, 9)
  assert.equal(r.take(6), undefined)
  assert.equal(r.take(5)?.toString(), 'five', 'a duplicate does not replace the first copy')
  assert.equal(r.take(5), undefined)
  assert.equal(r.count, 1)
  r.clear()
  assert.equal(r.take(7), undefined)
  assert.equal(r.bufferedBytes, 0)
})

test('fuzz: the selective ACK it writes names exactly the packets it holds after ack_nr + 1, across wrap-around', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uniqueArray(fc.integer({ min: 2, max: 257 }), { maxLength: 40 }), (ackNr, ahead) => {
    const r = new ReorderBuffer(512)
    for (const a of ahead) r.store((ackNr + a) & 0xffff, Buffer.alloc(1))
    const bytes = r.sackBytes(ackNr, 32)
    assert.equal(bytes % 4, 0)
    const out = Buffer.alloc(bytes)
    r.writeSack(out, 0, bytes, ackNr)
    const named: number[] = []
    forEachSacked(out, 0, bytes, ackNr, (s) => named.push(s))
    const want = ahead.filter((a) => a - 2 < 256).map((a) => (ackNr + a) & 0xffff)
    assert.deepEqual(named.sort((x, y) => x - y), want.sort((x, y) => x - y))
  }))
})
