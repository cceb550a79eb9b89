import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Decoder, WireError } from '../../../src/wire/decoder.ts'
import {
  decodeExtendedHandshake, encodeExtended, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, type ExtendedHandshake,
} from '../../../src/wire/extension.ts'

test('an extended handshake with every field round-trips', () => {
  const h: ExtendedHandshake = {
    m: { ut_metadata: 3, ut_pex: 1, lt_donthave: 0 },
    v: 'friendtorrent 0.1.0 ✓',
    p: 6881,
    reqq: 250,
    metadataSize: 31337,
    yourip: Buffer.from([127, 0, 0, 1]),
    completeAgo: 42,
  }
  assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake(h)), h)
})

test('a minimal extended handshake encodes as BEP 10 shows and round-trips', () => {
  const payload = encodeExtendedHandshake({ m: { ut_metadata: 2 } })
  assert.equal(payload.toString('latin1'), 'd1:md11:ut_metadatai2eee')
  assert.deepEqual(decodeExtendedHandshake(payload), { m: { ut_metadata: 2 } })
})

test('decoding tolerates unknown keys and drops m entries that are not usable ids', () => {
  const payload = Buffer.from(
    'd1:md5:emptyi0e4:hugei256e3:negi-1e3:str3:abc6:ut_pexi1e11:ut_metadatai3ee' +
      '4:ipv616:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01' +
      '1:pi0e4:reqqi-5e7:somekeyli1ei2ee1:vi7e6:youripi5eee',
    'latin1',
  )
  const h = decodeExtendedHandshake(payload)
  assert.deepEqual(h, { m: { empty: 0, ut_pex: 1, ut_metadata: 3 } })
})

test('an m that is not a dictionary reads as no extensions', () => {
  assert.deepEqual(decodeExtendedHandshake(Buffer.from('d1:mli1eee')), { m: {} })
  assert.deepEqual(decodeExtendedHandshake(Buffer.from('de')), { m: {} })
})

test('a "__proto__" key cannot smuggle in other keys', () => {
  const h = decodeExtendedHandshake(Buffer.from('d9:__proto__d1:pi6881eee'))
  assert.equal(h.p, undefined)
})

test('broken bencode or a non-dictionary throws WireError', () => {
  const bad = [
    '', 'i5e', 'l1:ae', '4:spam', 'd1:md', 'd1:m', 'd1:md11:ut_metadatai3e', 'di5ei1ee', 'd1:mi1ee1', 'd3:abc',
    'd1:a99999999:xe', 'd1:ai5xee', 'd1:aie', 'd1:a-1:xe', 'dxe', 'd1:ae',
  ]
  for (const text of bad) {
    const payload = Buffer.from(text, 'latin1')
    if (text === 'd1:mi1ee1') {
      // Trailing bytes after the dictionary are allowed; the handshake ends at the dict.
      assert.deepEqual(decodeExtendedHandshake(payload), { m: {} })
      continue
    }
    assert.throws(() => decodeExtendedHandshake(payload), WireError, JSON.stringify(text))
  }
})

test('bencode that would hang or overflow the bencode package throws WireError at once', () => {
  // A negative string length sends bencode.decode back and forth forever.
  assert.throws(() => decodeExtendedHandshake(Buffer.from('d0:-4:')), WireError)
  assert.throws(() => decodeExtendedHandshake(Buffer.from('d1:a' + 'l'.repeat(100000) + 'e'.repeat(100000) + 'e')), /nests deeper/)
})

test('encodeExtended frames <len><id=20><ext-id><payload> and the decoder reads it back', () => {
  const payload = encodeExtendedHandshake({ m: { ut_pex: 1 } })
  const frame = encodeExtended(EXTENDED_HANDSHAKE_ID, payload)
  assert.equal(frame.readUInt32BE(0), payload.length + 2)
  assert.equal(frame[4], 20)
  assert.equal(frame[5], 0)
  const [msg] = new Decoder().push(frame)
  assert.ok(msg.type === 'extended')
  assert.equal(msg.extId, EXTENDED_HANDSHAKE_ID)
  assert.deepEqual(decodeExtendedHandshake(msg.payload), { m: { ut_pex: 1 } })
  assert.throws(() => encodeExtended(256, payload), RangeError)
})
