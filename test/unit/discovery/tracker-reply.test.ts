import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { canonicalHost, formatIpv6 } from '../../../src/core/address.ts'
import { decodeCompactPeers } from '../../../src/discovery/compact-peers.ts'
import { announceUrlWithQuery, parseHttpAnnounceReply } from '../../../src/discovery/http-announce.ts'
import type { AnnounceRequest } from '../../../src/discovery/tracker-announce.ts'

function encode(value: unknown): Buffer {
  return Buffer.from(bencode.encode(value))
}

test('compact IPv4 peers: 6 bytes each, port 0 dropped, bad length refused', () => {
  const data = Buffer.from([10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80, 1, 2, 3, 4, 0, 0])
  assert.deepEqual(decodeCompactPeers(data, 4), [
    { host: '10.0.0.1', port: 6881 },
    { host: '192.168.1.2', port: 80 },
  ])
  assert.throws(() => decodeCompactPeers(data.subarray(0, 7), 4), /7 bytes, not a multiple of 6/)
})

test('compact IPv6 peers: 18 bytes each, canonical text, IPv4-mapped as IPv4', () => {
  const v6 = Buffer.alloc(18)
  v6.write('20010db8000000000000000000000001', 'hex')
  v6.writeUInt16BE(51413, 16)
  const mapped = Buffer.alloc(18)
  mapped.write('00000000000000000000ffff7f000001', 'hex')
  mapped.writeUInt16BE(1, 16)
  assert.deepEqual(decodeCompactPeers(Buffer.concat([v6, mapped]), 6), [
    { host: '2001:db8::1', port: 51413 },
    { host: '127.0.0.1', port: 1 },
  ])
  assert.throws(() => decodeCompactPeers(Buffer.alloc(17), 6), /not a multiple of 18/)
})

test('IPv6 text follows RFC 5952: longest zero run compressed, first on a tie, single zero kept', () => {
  const hex = (h: string): Buffer => Buffer.from(h, 'hex')
  assert.equal(formatIpv6(hex('00000000000000000000000000000001')), '::1')
  assert.equal(formatIpv6(hex('00000000000000000000000000000000')), '::')
  assert.equal(formatIpv6(hex('20010db8000000010000000000000001')), '2001:db8:0:1::1')
  assert.equal(formatIpv6(hex('20010db8000000000001000000000001')), '2001:db8::1:0:0:1')
  assert.equal(formatIpv6(hex('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1')
  assert.equal(formatIpv6(hex('20010db8000000010001000100010001')), '2001:db8:0:1:1:1:1:1')
  assert.equal(canonicalHost('[2001:DB8:0:0:0:0:0:1]'), '2001:db8::1')
  assert.equal(canonicalHost('::ffff:10.1.2.3'), '10.1.2.3')
  assert.equal(canonicalHost('peer.example.org'), 'peer.example.org')
})

test('an HTTP reply with compact peers, peers6, counts and intervals parses', () => {
  const v6 = Buffer.alloc(18)
  v6.write('fe800000000000000000000000000002', 'hex')
  v6.writeUInt16BE(7000, 16)
  const reply = parseHttpAnnounceReply(
    200,
    'OK',
    encode({
      interval: 1800,
      'min interval': 60,
      complete: 3,
      incomplete: 7,
      'tracker id': 'abc',
      'warning message': 'slow down\nplease',
      peers: Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]),
      peers6: v6,
    }),
  )
  assert.equal(reply.intervalSec, 1800)
  assert.equal(reply.minIntervalSec, 60)
  assert.equal(reply.seeders, 3)
  assert.equal(reply.leechers, 7)
  assert.equal(Buffer.from(reply.trackerId!).toString(), 'abc')
  assert.equal(reply.warning, 'slow down please')
  assert.deepEqual(reply.peers, [
    { host: '127.0.0.1', port: 6881 },
    { host: 'fe80::2', port: 7000 },
  ])
})

test('a non-compact HTTP reply never lists us: the entry with our peer id is left out', () => {
  const ours = Buffer.from('-FT0001-abcdefghijkl')
  const body = encode({
    interval: 900,
    peers: [
      { ip: '203.0.113.7', port: 6881, 'peer id': ours },
      { ip: '203.0.113.8', port: 6881, 'peer id': '-XX0001-abcdefghijkl' },
    ],
    peers6: [{ ip: '2001:db8::7', port: 6881, 'peer id': ours }],
  })
  assert.deepEqual(parseHttpAnnounceReply(200, 'OK', body, ours).peers, [{ host: '203.0.113.8', port: 6881 }])
  assert.equal(parseHttpAnnounceReply(200, 'OK', body).peers.length, 3, 'without our id nothing is taken for us')
})

test('a non-compact HTTP reply (list of dicts) parses, skipping malformed entries', () => {
  const reply = parseHttpAnnounceReply(
    200,
    'OK',
    encode({
      interval: 900,
      peers: [
        { ip: '10.0.0.5', port: 5000, 'peer id': 'x'.repeat(20) },
        { ip: '2001:db8::9', port: 5001 },
        { ip: 'seed.example.org', port: 5002 },
        { ip: '10.0.0.6', port: 0 },
        { ip: 'bad host!', port: 5003 },
        { port: 5004 },
        'junk',
      ],
    }),
  )
  assert.deepEqual(reply.peers, [
    { host: '10.0.0.5', port: 5000 },
    { host: '2001:db8::9', port: 5001 },
    { host: 'seed.example.org', port: 5002 },
  ])
})

test('failure reason, HTTP errors, garbage and empty replies give one-line messages', () => {
  assert.throws(
    () => parseHttpAnnounceReply(200, 'OK', Buffer.from('d14:failure reason12:not allowed!e')),
    { message: 'tracker refused the announce: not allowed!' },
  )
  // Some trackers send their failure reason with a 4xx status.
  assert.throws(
    () => parseHttpAnnounceReply(400, 'Bad Request', Buffer.from('d14:failure reason8:bad hashe')),
    { message: 'tracker refused the announce: bad hash' },
  )
  assert.throws(() => parseHttpAnnounceReply(404, 'Not Found', Buffer.from('<h1>nope</h1>')), {
    message: 'tracker answered HTTP 404 Not Found',
  })
  assert.throws(() => parseHttpAnnounceReply(200, 'OK', Buffer.from('<html>hello</html>')), (err: Error) => {
    assert.match(err.message, /^tracker sent a reply that is not bencoded \(starts with "<html>hello<\/html>"\)/)
    assert.doesNotMatch(err.message, /\n/)
    return true
  })
  assert.throws(() => parseHttpAnnounceReply(200, 'OK', Buffer.alloc(0)), { message: 'tracker sent an empty reply' })
  assert.throws(() => parseHttpAnnounceReply(200, 'OK', Buffer.from('i42e')), {
    message: 'tracker sent a bencoded integer instead of a dictionary',
  })
  assert.throws(() => parseHttpAnnounceReply(200, 'OK', encode({ hello: 1 })), {
    message: 'tracker reply has neither peers nor an interval',
  })
  assert.throws(() => parseHttpAnnounceReply(200, 'OK', encode({ interval: 10, peers: Buffer.alloc(5) })), /not a multiple of 6/)
})

test('the announce query escapes binary bytes, omits the event of a regular update and keeps a passkey', () => {
  const request: AnnounceRequest = {
    infoHash: Buffer.from('00ff41' + '61'.repeat(17), 'hex'),
    peerId: Buffer.from('-FT0100-' + 'abcdefghijkl'),
    port: 6881,
    uploaded: 10.7,
    downloaded: 0,
    left: 2 ** 40,
    event: 'update',
    numWant: 50,
    key: 0xdeadbeef,
  }
  const url = announceUrlWithQuery('http://t.example/announce?passkey=s3cret', request)
  const query = new URL(url).search
  assert.ok(url.startsWith('http://t.example/announce?passkey=s3cret&info_hash=%00%FFA' + 'a'.repeat(17) + '&'))
  assert.match(query, /&peer_id=-FT0100-abcdefghijkl&/)
  assert.match(query, /&uploaded=10&downloaded=0&left=1099511627776&compact=1&numwant=50&key=deadbeef$/)
  assert.doesNotMatch(query, /event=/)
  const started = announceUrlWithQuery('http://t.example/announce', { ...request, event: 'started', trackerId: Buffer.from('id 1') })
  assert.match(started, /\?info_hash=.*&event=started&trackerid=id%201$/)
})
