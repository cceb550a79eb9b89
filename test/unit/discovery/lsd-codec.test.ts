// BEP 14 announces: made as the BEP lays them out (several info hashes to a
// message, none over 1400 bytes), and read safely from hostile input.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeAnnounce, encodeAnnounces, hostHeader, LSD_IPV4_GROUP, LSD_IPV6_GROUP, MAX_MESSAGE_BYTES } from '../../../src/discovery/lsd-codec.ts'

const H1 = 'c9e15763f722f23e98a29decdfae341b98d53056'
const H2 = '0123456789abcdef0123456789abcdef01234567'

test('an announce is the BEP 14 text, and reads back', () => {
  const [msg] = encodeAnnounces(LSD_IPV4_GROUP, 6881, [H1], 'abc')
  assert.equal(msg.toString(), `BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${H1}\r\ncookie: abc\r\n\r\n\r\n`)
  assert.deepEqual(decodeAnnounce(msg), { port: 6881, infoHashes: [H1], cookie: 'abc' })
  assert.equal(hostHeader(LSD_IPV6_GROUP), '[ff15::efc0:988f]:6771')
})

test('many info hashes: consecutive Infohash lines, split so no message passes 1400 bytes, none lost', () => {
  const hashes = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(40, '0'))
  const msgs = encodeAnnounces(LSD_IPV6_GROUP, 51413, hashes, 'cookie')
  assert.ok(msgs.length > 1)
  for (const m of msgs) assert.ok(m.length <= MAX_MESSAGE_BYTES, `${m.length} bytes`)
  assert.deepEqual(msgs.flatMap((m) => decodeAnnounce(m)!.infoHashes), hashes)
})

test('hostile input: garbage, huge, no port, bad port, bad hashes, odd case and spacing', () => {
  const base = (lines: string[]) => Buffer.from(['BT-SEARCH * HTTP/1.1', ...lines, '', ''].join('\r\n'))
  assert.equal(decodeAnnounce(Buffer.from('garbage')), undefined)
  assert.equal(decodeAnnounce(Buffer.alloc(0)), undefined)
  assert.equal(decodeAnnounce(Buffer.alloc(100_000, 'A')), undefined)
  assert.equal(decodeAnnounce(Buffer.concat([base([`Port: 1`, `Infohash: ${H1}`]), Buffer.alloc(10_000, 'x')])), undefined, 'too big')
  assert.equal(decodeAnnounce(Buffer.from(`M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${H1}\r\n\r\n`)), undefined)
  assert.equal(decodeAnnounce(base([`Infohash: ${H1}`])), undefined, 'no port')
  for (const port of ['0', '65536', '-1', '12ab', '1e3', '999999']) assert.equal(decodeAnnounce(base([`Port: ${port}`, `Infohash: ${H1}`])), undefined, `port ${port}`)
  assert.equal(decodeAnnounce(base(['Port: 6881', 'Infohash: xyz', `Infohash: ${H1}0`])), undefined, 'no valid hash')
  assert.deepEqual(decodeAnnounce(base(['port:6881', `INFOHASH:   ${H2.toUpperCase()}  `, 'Infohash: nothex', `Infohash: ${H2}`, 'junk line'])), { port: 6881, infoHashes: [H2] })
  const flood = base(['Port: 1', ...Array.from({ length: 30 }, (_, i) => `Infohash: ${i.toString(16).padStart(40, '0')}`)])
  assert.equal(decodeAnnounce(flood)?.infoHashes.length, 30)
  assert.equal(decodeAnnounce(base(['Port: 1', `Infohash: ${H1}`, `cookie: ${'c'.repeat(500)}`]))?.cookie?.length, 64)
  // Bare \n line endings are tolerated (some clients send them).
  assert.deepEqual(decodeAnnounce(Buffer.from(`BT-SEARCH * HTTP/1.1\nPort: 7\nInfohash: ${H1}\n\n`)), { port: 7, infoHashes: [H1] })
})

test('random bytes never throw', () => {
  let seed = 1
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(1 + (i % 300))
    for (let j = 0; j < b.length; j++) b[j] = seed = (seed * 1103515245 + 12345) & 0xff
    const withHead = Buffer.concat([Buffer.from('BT-SEARCH * HTTP/1.1\r\nPort: 5\r\n'), b])
    decodeAnnounce(b)
    decodeAnnounce(withHead)
  }
})
