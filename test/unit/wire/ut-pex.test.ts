import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WireError } from '../../../src/wire/decoder.ts'
import { formatIpv6, ipv6ToBytes } from '../../../src/core/address.ts'
import { decodePex, encodePex, type PexMessage } from '../../../src/wire/ut-pex.ts'

test('added, flags, dropped, added6 and dropped6 round-trip', () => {
  const m: PexMessage = {
    added: [{ host: '10.0.0.1', port: 6881 }, { host: '255.255.255.255', port: 65535 }],
    addedFlags: [0x02, 0x11],
    dropped: [{ host: '192.168.1.20', port: 1 }],
    added6: [{ host: '2001:db8::1', port: 51413 }, { host: '::ffff:127.0.0.1', port: 80 }],
    dropped6: [{ host: 'fe80::1:0:0:2', port: 443 }],
  }
  // An IPv4-mapped IPv6 peer comes back as plain IPv4: one peer, one address key.
  const expected = { ...m, added6: [m.added6[0], { host: '127.0.0.1', port: 80 }] }
  assert.deepEqual(decodePex(encodePex(m)), expected)
})

test('a partial message encodes the missing lists as empty', () => {
  const payload = encodePex({ added: [{ host: '1.2.3.4', port: 0x1ae1 }] })
  assert.equal(
    payload.toString('latin1'),
    'd5:added6:\x01\x02\x03\x04\x1a\xe17:added.f1:\x006:added60:7:dropped0:8:dropped60:e',
  )
  assert.deepEqual(decodePex(payload), {
    added: [{ host: '1.2.3.4', port: 6881 }], addedFlags: [0], dropped: [], added6: [], dropped6: [],
  })
})

test('a trailing partial entry is ignored and missing flags read as 0', () => {
  const payload = Buffer.from('d5:added9:\x01\x02\x03\x04\x00\x50\x09\x09\x097:added.f0:6:added619:' + '\x00'.repeat(15) + '\x01\x00\x16\x07e', 'latin1')
  assert.deepEqual(decodePex(payload), {
    added: [{ host: '1.2.3.4', port: 80 }], addedFlags: [0], dropped: [], added6: [{ host: '::1', port: 22 }], dropped6: [],
  })
})

test('fields of the wrong type read as empty', () => {
  assert.deepEqual(decodePex(Buffer.from('d5:addedi5e7:droppedle6:added6de7:added.fi1ee')), {
    added: [], addedFlags: [], dropped: [], added6: [], dropped6: [],
  })
})

test('broken bencode or a non-dictionary throws WireError', () => {
  for (const text of ['', 'le', 'd5:added', 'd5:added7:abce', 'd0:-4:']) {
    assert.throws(() => decodePex(Buffer.from(text, 'latin1')), WireError, JSON.stringify(text))
  }
})

test('encodePex refuses an address of the wrong family', () => {
  assert.throws(() => encodePex({ added: [{ host: '::1', port: 1 }] }), /"added" takes IPv4 addresses only, got "::1"/)
  assert.throws(() => encodePex({ dropped6: [{ host: '1.2.3.4', port: 1 }] }), /"dropped6" takes IPv6/)
  assert.throws(() => encodePex({ added: [{ host: '1.2.3.4', port: 70000 }] }), /port must be 0-65535/)
})

test('IPv6 text and bytes convert both ways in the form Node reports sockets', () => {
  const cases: [string, string][] = [
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'],
    ['2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['::ffff:10.1.2.3', '00000000000000000000ffff0a010203'],
  ]
  for (const [text, hex] of cases) {
    assert.equal(ipv6ToBytes(text).toString('hex'), hex, text)
    assert.equal(formatIpv6(Buffer.from(hex, 'hex')), text.startsWith('::ffff:') ? text.slice(7) : text, hex)
  }
  assert.equal(ipv6ToBytes('2001:DB8:0:0:0:0:0:1').toString('hex'), '20010db8000000000000000000000001')
  assert.equal(ipv6ToBytes('1:2:3:4:5:6:7.8.9.10').toString('hex'), '0001000200030004000500060708090a')
})
