import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  HEADER_LENGTH, ST_DATA, ST_RESET, ST_STATE, ST_SYN, UtpCodecError, decodePacket, emptyView, encodePacket,
  forEachSacked, looksLikeUtp, parsePacket, seqDiff, seqLess, timestampDiff, writeSack,
} from '../../../src/transport/utp/utp-packet.ts'
import type { PacketType, UtpPacket } from '../../../src/transport/utp/utp-packet.ts'

test('a SYN header is laid out byte for byte as BEP 29 draws it', () => {
  const buf = encodePacket({ type: ST_SYN, connectionId: 0x1234, timestampUs: 0xdeadbeef, timestampDiffUs: 0, wndSize: 0x100000, seqNr: 1, ackNr: 0 })
  assert.equal(buf.toString('hex'), '41' + '00' + '1234' + 'deadbeef' + '00000000' + '00100000' + '0001' + '0000')
  assert.equal(buf.length, HEADER_LENGTH)
})

test('a selective ACK is chained as an extension after the header, before the payload', () => {
  const buf = encodePacket({ type: ST_STATE, connectionId: 7, timestampUs: 1, timestampDiffUs: 2, wndSize: 3, seqNr: 4, ackNr: 5, sack: Uint8Array.of(1, 0, 0, 0x80), payload: Buffer.from('x') })
  assert.equal(buf[1], 1, 'first extension is the selective ACK')
  assert.equal(buf[20], 0, 'no extension after it')
  assert.equal(buf[21], 4)
  assert.equal(buf.subarray(22, 26).toString('hex'), '01000080')
  assert.equal(buf.subarray(26).toString(), 'x')
})

test('unknown extensions are skipped and a later selective ACK is still found', () => {
  const header = encodePacket({ type: ST_DATA, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 9, ackNr: 3 })
  header[1] = 2 // libutp's extension bits first
  const chain = Buffer.from([1, 8, 0, 0, 0, 0, 0, 0, 0, 0, /* sack */ 0, 4, 0b101, 0, 0, 0])
  const buf = Buffer.concat([header, chain, Buffer.from('data')])
  const v = emptyView()
  assert.equal(parsePacket(buf, v), undefined)
  assert.equal(v.sackLength, 4)
  const acked: number[] = []
  forEachSacked(buf, v.sackOffset, v.sackLength, v.ackNr, (s) => acked.push(s))
  assert.deepEqual(acked, [5, 7])
  assert.equal(buf.subarray(v.payloadOffset).toString(), 'data')
})

test('malformed packets are reported, never thrown or read past the end', () => {
  const v = emptyView()
  assert.match(parsePacket(Buffer.alloc(19), v)!, /shorter than its 20-byte header/)
  const bad = encodePacket({ type: ST_DATA, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 0, ackNr: 0 })
  bad[0] = 0x02
  assert.match(parsePacket(bad, v)!, /version 2/)
  bad[0] = 0x51
  assert.match(parsePacket(bad, v)!, /type 5/)
  bad[0] = 0x01
  bad[1] = 1
  assert.match(parsePacket(bad, v)!, /runs past the end/)
  const empty = Buffer.concat([bad, Buffer.from([0, 0])])
  assert.match(parsePacket(empty, v)!, /selective ACK is empty/)
  assert.throws(() => decodePacket(empty), UtpCodecError)
})

test('a selective ACK of whole bytes not a multiple of 4 (as libtorrent sends) is read', () => {
  const header = encodePacket({ type: ST_STATE, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 0, ackNr: 100 })
  header[1] = 1
  const buf = Buffer.concat([header, Buffer.from([0, 3, 0b1, 0, 0b10000000])])
  const v = emptyView()
  assert.equal(parsePacket(buf, v), undefined)
  const acked: number[] = []
  forEachSacked(buf, v.sackOffset, v.sackLength, v.ackNr, (s) => acked.push(s))
  assert.deepEqual(acked, [102, 102 + 23])
})

test('uTP datagrams are told apart from bencoded KRPC by the first byte', () => {
  assert.equal(looksLikeUtp(Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe')), false)
  for (const type of [0, 1, 2, 3, 4] as PacketType[]) {
    assert.equal(looksLikeUtp(encodePacket({ type, connectionId: 0, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 0, ackNr: 0 })), true)
  }
})

test('16-bit sequence numbers compare across wrap-around', () => {
  assert.equal(seqDiff(1, 0xffff), 2)
  assert.equal(seqDiff(0xffff, 1), -2)
  assert.equal(seqLess(0xfffe, 3), true)
  assert.equal(seqLess(3, 0xfffe), false)
  assert.equal(seqLess(5, 5), false)
})

test('32-bit timestamp differences wrap to unsigned', () => {
  assert.equal(timestampDiff(10, 0xfffffff0), 26)
  assert.equal(timestampDiff(100, 40), 60)
  assert.equal(timestampDiff(40, 100), 0x100000000 - 60)
})

const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const packetArb: fc.Arbitrary<UtpPacket> = fc.record({
  type: fc.constantFrom<PacketType>(0, 1, 2, 3, 4),
  connectionId: u16,
  timestampUs: u32,
  timestampDiffUs: u32,
  wndSize: u32,
  seqNr: u16,
  ackNr: u16,
  sack: fc.option(fc.integer({ min: 1, max: 8 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 })), { nil: undefined }),
  payload: fc.option(fc.uint8Array({ minLength: 1, maxLength: 1500 }), { nil: undefined }),
}, { requiredKeys: ['type', 'connectionId', 'timestampUs', 'timestampDiffUs', 'wndSize', 'seqNr', 'ackNr'] })

test('fuzz: every packet survives encode → decode unchanged', () => {
  fc.assert(fc.property(packetArb, (p) => {
    const back = decodePacket(encodePacket(p))
    const want: UtpPacket = { ...p }
    if (!want.sack) delete want.sack
    if (!want.payload) delete want.payload
    else want.payload = Uint8Array.from(want.payload)
    if (want.sack) want.sack = Uint8Array.from(want.sack)
    assert.deepEqual(back, want)
  }), { numRuns: 500 })
})

test('fuzz: a selective ACK written from a received set reads back as exactly that set', () => {
  fc.assert(fc.property(u16, fc.uniqueArray(fc.integer({ min: 2, max: 2 + 63 }), { maxLength: 64 }), (ackNr, offsets) => {
    const received = new Set(offsets.map((o) => (ackNr + o) & 0xffff))
    const mask = new Uint8Array(8)
    writeSack(mask, 0, 8, ackNr, (s) => received.has(s))
    const buf = encodePacket({ type: ST_STATE, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 0, ackNr, sack: mask })
    const v = emptyView()
    assert.equal(parsePacket(buf, v), undefined)
    const back = new Set<number>()
    forEachSacked(buf, v.sackOffset, v.sackLength, v.ackNr, (s) => back.add(s))
    assert.deepEqual([...back].sort((a, b) => a - b), [...received].sort((a, b) => a - b))
  }), { numRuns: 300 })
})

test('fuzz: random bytes never throw from parsePacket', () => {
  const v = emptyView()
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    const result = parsePacket(Buffer.from(bytes), v)
    if (result === undefined) assert.ok(v.payloadOffset <= bytes.length)
  }), { numRuns: 2000 })
})

test('fuzz: seqLess agrees with the true order for any two numbers less than half the space apart', () => {
  fc.assert(fc.property(u16, fc.integer({ min: -0x7fff, max: 0x7fff }), (a, d) => {
    const b = (a + d) & 0xffff
    assert.equal(seqDiff(b, a), d)
    assert.equal(seqLess(a, b), d > 0)
  }))
  // RESET is a type like the others
  assert.equal(decodePacket(encodePacket({ type: ST_RESET, connectionId: 3, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 1, ackNr: 2 })).type, ST_RESET)
})

test('an MTU probe\'s padding, any size from 2 to 64 KiB, is skipped and the payload found after it', async () => {
  const { EXT_MAX_DATAGRAM, EXT_PADDING, writeMaxDatagram, writePadding, writeHeader } = await import('../../../src/transport/utp/utp-packet.ts')
  for (const pad of [2, 3, 200, 256, 257, 258, 259, 514, 515, 1000, 64_000]) {
    const payload = Buffer.from(`payload after ${pad}`)
    const buf = Buffer.alloc(HEADER_LENGTH + pad + payload.length)
    writeHeader(buf, { type: ST_DATA, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 2, ackNr: 3 }, EXT_PADDING)
    writePadding(buf, HEADER_LENGTH, pad, 0)
    payload.copy(buf, HEADER_LENGTH + pad)
    const v = emptyView()
    assert.equal(parsePacket(buf, v), undefined)
    assert.equal(v.payloadOffset, HEADER_LENGTH + pad, `padding of ${pad}`)
    assert.equal(v.maxDatagram, 0)
  }
  // A SYN's EXT_MAX_DATAGRAM, chained before a selective ACK.
  const buf = Buffer.alloc(HEADER_LENGTH + 4 + 6)
  writeHeader(buf, { type: ST_STATE, connectionId: 1, timestampUs: 0, timestampDiffUs: 0, wndSize: 0, seqNr: 2, ackNr: 3 }, EXT_MAX_DATAGRAM)
  writeMaxDatagram(buf, HEADER_LENGTH, 1, 65_535)
  buf[HEADER_LENGTH + 4] = 0
  buf[HEADER_LENGTH + 5] = 4
  buf[HEADER_LENGTH + 6] = 0b1
  const v = emptyView()
  assert.equal(parsePacket(buf, v), undefined)
  assert.equal(v.maxDatagram, 65_535)
  assert.equal(v.sackLength, 4)
  assert.equal(v.sackOffset, HEADER_LENGTH + 6)
})
