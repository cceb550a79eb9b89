import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Bitfield } from '../../../src/core/bitfield.ts'

test('bit 0 is the high bit of byte 0 (BEP 3)', () => {
  const b = new Bitfield(10)
  b.set(0)
  b.set(9)
  assert.deepEqual([...b.toBuffer()], [0x80, 0x40])
  assert.equal(b.count(), 2)
  assert.equal(b.get(0), true)
  assert.equal(b.get(1), false)
})

test('count follows set and clear, and hasAll/hasNone agree', () => {
  const b = new Bitfield(9)
  assert.ok(b.hasNone())
  for (let i = 0; i < 9; i++) b.set(i)
  assert.ok(b.hasAll())
  b.set(4, false)
  b.set(4, false)
  assert.equal(b.count(), 8)
  assert.ok(!b.hasAll())
})

test('bytes of the wrong size are refused; spare bits are detected and cleared', () => {
  assert.throws(() => new Bitfield(9, new Uint8Array(1)), /needs 2 bytes/)
  const bytes = Uint8Array.from([0xff, 0xff])
  assert.ok(Bitfield.hasSpareBits(bytes, 9))
  assert.ok(!Bitfield.hasSpareBits(Uint8Array.from([0xff, 0x80]), 9))
  const b = new Bitfield(9, bytes)
  assert.equal(b.count(), 9)
  assert.deepEqual([...b.toBuffer()], [0xff, 0x80])
})

test('out-of-range get is false and set throws', () => {
  const b = new Bitfield(3)
  assert.equal(b.get(3), false)
  assert.throws(() => b.set(3), /out of range/)
})
