// BEP 51's pure parts: the store of announced hashes, the sample it gives,
// and reading a remote reply, hostile ones included (samples not a multiple
// of 20 bytes, a huge num or interval, broken node lists).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { AnnouncedHashes, decodeNodes, decodePeerValues, decodeSampleReply, MAX_INTERVAL_SECONDS, MAX_SAMPLES, sampleReplyFields } from '../../../src/discovery/bep51.ts'

test('a sample holds distinct announced hashes, all of them when they fit, at most MAX_SAMPLES otherwise', () => {
  const held = new AnnouncedHashes()
  const few = Array.from({ length: 5 }, () => randomBytes(20))
  for (const h of few) held.add(h, 0)
  held.add(few[0], 1) // a repeat is one hash
  const all = held.sample(2).map((b) => b.toString('hex')).sort()
  assert.deepEqual(all, few.map((b) => b.toString('hex')).sort())

  const many = Array.from({ length: 500 }, () => randomBytes(20))
  for (const h of many) held.add(h, 3)
  const sample = held.sample(4)
  assert.equal(sample.length, MAX_SAMPLES)
  assert.equal(new Set(sample.map((b) => b.toString('hex'))).size, MAX_SAMPLES)
  assert.equal(held.count(4), 505)
  // Two samples of 40 out of 505 are almost never equal: the choice is random.
  assert.notDeepEqual(held.sample(4), sample)
})

test('the store forgets the oldest past its size and every hash past its age; a wrong-length hash is ignored', () => {
  const held = new AnnouncedHashes({ maxHashes: 3, maxAgeMs: 1000 })
  const [a, b, c, d] = Array.from({ length: 4 }, () => randomBytes(20))
  held.add(a, 0)
  held.add(b, 10)
  held.add(c, 20)
  held.add(d, 30)
  held.add(randomBytes(19), 30)
  const hex = held.sample(40).map((x) => x.toString('hex')).sort()
  assert.deepEqual(hex, [b, c, d].map((x) => x.toString('hex')).sort())
  held.add(b, 600) // announced again: young again
  assert.equal(held.count(1015), 3)
  assert.equal(held.count(1025), 2) // c, announced at 20, is over 1000 ms old
  assert.equal(held.count(1031), 1)
  assert.deepEqual(held.sample(1031), [b])
})

test('our reply fields: interval clamped to 6 h, num is what we hold, samples a multiple of 20 bytes', () => {
  const held = new AnnouncedHashes()
  for (let i = 0; i < 60; i++) held.add(randomBytes(20), 0)
  const r = sampleReplyFields(held, 0, 99_999)
  assert.equal(r.interval, MAX_INTERVAL_SECONDS)
  assert.equal(r.num, 60)
  assert.equal(r.samples.length, MAX_SAMPLES * 20)
  assert.equal(sampleReplyFields(new AnnouncedHashes(), 0, 60).samples.length, 0)
})

test('a remote reply is read: samples split into hashes, nodes decoded, interval and num kept', () => {
  const hashes = [randomBytes(20), randomBytes(20)]
  const id = randomBytes(20)
  const node = Buffer.concat([id, Buffer.from([127, 0, 0, 9]), Buffer.from([0x1a, 0xe1])])
  const reply = decodeSampleReply({ id: randomBytes(20), interval: 21600, num: 1234, samples: Buffer.concat(hashes), nodes: node })
  assert.deepEqual(reply.samples, hashes)
  assert.equal(reply.intervalSeconds, 21600)
  assert.equal(reply.num, 1234)
  assert.deepEqual(reply.nodes, [{ id, host: '127.0.0.9', port: 6881 }])
})

test('samples not a multiple of 20 bytes refuse the whole reply, with the byte count', () => {
  assert.throws(() => decodeSampleReply({ samples: randomBytes(30), interval: 60, num: 2 }), /30 bytes of samples, not a multiple of 20/)
  assert.throws(() => decodeSampleReply({ samples: randomBytes(1), interval: 60 }), /1 bytes of samples/)
})

test('a reply without samples (a node without BEP 51) or without a dict is refused in one line', () => {
  assert.throws(() => decodeSampleReply({ id: randomBytes(20), nodes: Buffer.alloc(0) }), /does not support sample_infohashes/)
  assert.throws(() => decodeSampleReply(undefined), /no "r" dictionary/)
  assert.throws(() => decodeSampleReply({ samples: 'not bytes' }), /does not support/)
})

test('a huge num, a negative or huge interval and non-numbers are clamped, never trusted', () => {
  const one = randomBytes(20)
  const huge = decodeSampleReply({ samples: one, num: 1e300, interval: 1e12 })
  assert.equal(huge.num, 1_000_000_000)
  assert.equal(huge.intervalSeconds, MAX_INTERVAL_SECONDS)
  const negative = decodeSampleReply({ samples: one, num: -5, interval: -10 })
  assert.equal(negative.num, 0)
  assert.equal(negative.intervalSeconds, 0)
  const junk = decodeSampleReply({ samples: one, num: 'lots', interval: Buffer.from('soon') })
  assert.equal(junk.num, 1)
  assert.equal(junk.intervalSeconds, 0)
  assert.equal(decodeSampleReply({ samples: one, num: Number.NaN }).num, 1)
})

test('compact nodes: a partial trailing entry, port 0 and 0.0.0.0 are skipped; non-bytes give none', () => {
  const good = Buffer.concat([randomBytes(20), Buffer.from([10, 0, 0, 1, 0, 80])])
  const zeroPort = Buffer.concat([randomBytes(20), Buffer.from([10, 0, 0, 2, 0, 0])])
  const zeroHost = Buffer.concat([randomBytes(20), Buffer.from([0, 0, 0, 0, 0, 80])])
  const nodes = decodeNodes(Buffer.concat([good, zeroPort, zeroHost, randomBytes(10)]))
  assert.deepEqual(nodes.map((n) => `${n.host}:${n.port}`), ['10.0.0.1:80'])
  assert.deepEqual(decodeNodes('x'), [])
  assert.deepEqual(decodeNodes([good]), [])
})

test('get_peers values: 6-byte compact peers; other sizes, non-bytes and port 0 are skipped', () => {
  const values = [Buffer.from([10, 0, 0, 1, 0x1a, 0xe1]), Buffer.from([10, 0, 0, 2, 0, 0]), Buffer.from([1, 2, 3]), 'x', Buffer.from([127, 0, 0, 1, 0, 80])]
  assert.deepEqual(decodePeerValues(values), [{ host: '10.0.0.1', port: 6881 }, { host: '127.0.0.1', port: 80 }])
  assert.deepEqual(decodePeerValues(Buffer.alloc(6)), [])
})
