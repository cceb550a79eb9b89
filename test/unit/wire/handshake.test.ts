import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WireError } from '../../../src/wire/decoder.ts'
import {
  decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, PROTOCOL,
  supportsExtensionProtocol, supportsV2,
} from '../../../src/wire/handshake.ts'
import { bytes } from './wire-fixtures.ts'

const infoHash = bytes(20, 11)
const peerId = Buffer.from('-FT0001-abcdefghijkl')

test('the handshake is pstrlen, pstr, reserved, info hash, peer id', () => {
  const buf = encodeHandshake(infoHash, peerId)
  assert.equal(buf.length, HANDSHAKE_LENGTH)
  assert.equal(buf[0], 19)
  assert.equal(buf.toString('latin1', 1, 20), PROTOCOL)
  assert.deepEqual(buf.subarray(20, 28), Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0]))
  assert.deepEqual(buf.subarray(28, 48), infoHash)
  assert.deepEqual(buf.subarray(48, 68), peerId)
})

test('reserved bits follow the options: BEP 10 on by default, DHT and fast off', () => {
  const defaults = decodeHandshake(encodeHandshake(infoHash, peerId)).reserved
  assert.equal(supportsExtensionProtocol(defaults), true)
  assert.equal(defaults[7], 0, 'BEP 5 (DHT) and BEP 6 (fast) bits clear')

  const all = decodeHandshake(encodeHandshake(infoHash, peerId, { dht: true, fast: true })).reserved
  assert.deepEqual(all, Buffer.from([0, 0, 0, 0, 0, 0x10, 0, 0x05]))

  const none = decodeHandshake(encodeHandshake(infoHash, peerId, { extended: false })).reserved
  assert.deepEqual(none, Buffer.alloc(8))
  assert.equal(supportsExtensionProtocol(none), false)
})

test('decodeHandshake returns copies, not views of the input', () => {
  const buf = encodeHandshake(infoHash, peerId)
  const hs = decodeHandshake(buf)
  buf.fill(0)
  assert.deepEqual(hs.infoHash, infoHash)
  assert.deepEqual(hs.peerId, peerId)
})

test('decodeHandshake throws WireError on a wrong length or protocol', () => {
  const good = encodeHandshake(infoHash, peerId)
  assert.throws(() => decodeHandshake(good.subarray(0, 67)), /handshake must be 68 bytes, got 67/)
  assert.throws(() => decodeHandshake(Buffer.concat([good, Buffer.alloc(1)])), WireError)
  const badLength = Buffer.from(good)
  badLength[0] = 18
  assert.throws(() => decodeHandshake(badLength), { name: 'WireError', message: 'not a BitTorrent handshake' })
  const badName = Buffer.from(good)
  badName[19] = 0x78
  assert.throws(() => decodeHandshake(badName), WireError)
})

test('encodeHandshake refuses ids that are not 20 bytes', () => {
  assert.throws(() => encodeHandshake(Buffer.alloc(19), peerId), /info hash must be 20 bytes, got 19/)
  assert.throws(() => encodeHandshake(infoHash, Buffer.alloc(32)), /peer id must be 20 bytes, got 32/)
})

test('BEP 52: the v2 bit is reserved[7] & 0x10, off unless asked for', () => {
  const plain = encodeHandshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2))
  assert.equal(supportsV2(decodeHandshake(plain).reserved), false)
  const v2 = encodeHandshake(Buffer.alloc(20, 1), Buffer.alloc(20, 2), { v2: true, fast: true })
  assert.equal(v2[20 + 7], 0x10 | 0x04)
  assert.equal(supportsV2(decodeHandshake(v2).reserved), true)
})
