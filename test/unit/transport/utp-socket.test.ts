import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { UtpManager } from '../../../src/transport/utp/utp-manager.ts'
import type { UtpSocket } from '../../../src/transport/utp/utp-socket.ts'
import { startUdpRelay } from '../../helpers/udp-relay.ts'

const sha = (b: Buffer) => createHash('sha1').update(b).digest('hex')

/** Resolves with the first `length` bytes the socket delivers (TCP semantics: a FIN ends both sides, so neither ends before both are done). */
function collect(socket: UtpSocket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let got = 0
    socket.on('data', (c: Buffer) => {
      chunks.push(c)
      got += c.length
      if (got >= length) resolve(Buffer.concat(chunks))
    })
    socket.once('end', () => reject(new Error(`ended after ${got} of ${length} bytes`)))
    socket.once('error', reject)
  })
}

function closed(socket: UtpSocket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())))
}

function connected(socket: UtpSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
}

/** Writes `data` in uneven pieces honouring backpressure. */
async function writeAll(socket: UtpSocket, data: Buffer): Promise<void> {
  let at = 0
  let size = 1
  while (at < data.length) {
    const n = Math.min(size, data.length - at)
    size = (size * 7 + 13) % 70_000 + 1
    if (!socket.write(data.subarray(at, at + n))) await new Promise((r) => socket.once('drain', r))
    at += n
  }
}

async function pair(relayOpts?: { dropRate: number; duplicateRate: number; reorderRate: number; seed: number; maxDatagramBytes?: number }) {
  const a = await UtpManager.open(0, '127.0.0.1')
  const b = await UtpManager.open(0, '127.0.0.1')
  const relay = relayOpts ? await startUdpRelay({ targetPort: b.port, ...relayOpts }) : undefined
  const accepted = new Promise<UtpSocket>((resolve) => b.once('connection', resolve))
  const client = a.connect('127.0.0.1', relay?.port ?? b.port)
  await connected(client)
  const server = await accepted
  return {
    a, b, relay, client, server,
    async close() {
      client.destroy()
      server.destroy()
      await relay?.close()
      await a.close()
      await b.close()
    },
  }
}

test('uTP connects, carries bytes both ways and closes with FIN on loopback', async () => {
  const p = await pair()
  try {
    assert.equal(p.client.connected, true)
    assert.equal(p.server.remotePort, p.a.port)
    assert.equal(p.server.sendId, p.client.recvId, 'BEP 29: the acceptor sends on the initiator\'s receive id')
    assert.equal(p.client.sendId, (p.client.recvId + 1) & 0xffff)
    const up = randomBytes(300_000)
    const down = randomBytes(123_457)
    const [gotUp, gotDown] = await Promise.all([collect(p.server, up.length), collect(p.client, down.length), writeAll(p.client, up), writeAll(p.server, down)])
    assert.equal(sha(gotUp), sha(up))
    assert.equal(sha(gotDown), sha(down))
    // end() on one side: a FIN after the data; the other side's 'end' ends it too, and both close.
    const ended = new Promise<void>((resolve) => p.server.once('end', resolve))
    p.client.end()
    await ended
    await Promise.all([closed(p.client), closed(p.server)])
  } finally {
    await p.close()
  }
  assert.equal(p.a.connectionCount, 0)
  assert.equal(p.b.connectionCount, 0)
})

test('through a relay that drops 5 %, duplicates, reorders and drops datagrams over 4000 bytes, 8 MiB arrive byte for byte in both directions at once', async () => {
  // Loopback's MTU lets packets grow towards 64 KiB; the relay is a path whose MTU is 4000 and that says nothing (a black hole).
  const p = await pair({ dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05, seed: 11, maxDatagramBytes: 4000 })
  try {
    const up = randomBytes(8 * 1024 * 1024)
    const down = randomBytes(8 * 1024 * 1024 + 999)
    const [gotUp, gotDown] = await Promise.all([collect(p.server, up.length), collect(p.client, down.length), writeAll(p.client, up), writeAll(p.server, down)])
    p.client.end()
    await Promise.all([closed(p.client), closed(p.server)])
    assert.equal(gotUp.length, up.length)
    assert.equal(sha(gotUp), sha(up))
    assert.equal(gotDown.length, down.length)
    assert.equal(sha(gotDown), sha(down))
    assert.ok(p.relay!.stats.dropped > 100, `relay dropped ${p.relay!.stats.dropped}`)
    assert.ok(p.relay!.stats.reordered > 100 && p.relay!.stats.duplicated > 50)
    // MTU discovery: probes over 4000 bytes were lost and resent without their padding; packets grew past the 1400-byte start.
    assert.ok(p.relay!.stats.tooBig > 0, 'probes above the path MTU were tried')
    for (const s of [p.client, p.server]) {
      const { floorBytes, ceilingBytes } = s.packetBytes
      assert.ok(floorBytes > 1400 && floorBytes <= 4000, `packets of ${floorBytes} bytes`)
      assert.ok(ceilingBytes < 65_507, 'the ceiling came down from loopback\'s')
    }
  } finally {
    await p.close()
  }
})

test('on loopback packets grow to the largest datagram (65,507 bytes) by MTU probes, and a burst arrives intact', async () => {
  const p = await pair()
  try {
    // One probe per round trip, a dozen steps from 1400 to 65,507: 16 MiB gives the search room to finish.
    const data = randomBytes(16 * 1024 * 1024)
    const [got] = await Promise.all([collect(p.server, data.length), writeAll(p.client, data)])
    assert.equal(sha(got), sha(data))
    const { floorBytes, ceilingBytes } = p.client.packetBytes
    assert.ok(floorBytes >= 65_507 - 16, `packets of ${floorBytes} bytes after the search`)
    assert.equal(ceilingBytes, floorBytes, 'the search is over')
    assert.ok(p.client.stats.packetsSent < 1000, `${p.client.stats.packetsSent} packets for 16 MiB (12,000 at 1400 bytes)`)
  } finally {
    await p.close()
  }
})

test('a SYN to a port that does not accept uTP is refused with a RESET', async () => {
  const a = await UtpManager.open(0, '127.0.0.1')
  const b = await UtpManager.open(0, '127.0.0.1', { acceptIncoming: false })
  try {
    const s = a.connect('127.0.0.1', b.port)
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve))
    assert.equal(err.code, 'ECONNREFUSED')
    assert.equal(a.connectionCount, 0)
  } finally {
    await a.close()
    await b.close()
  }
})

test('destroying one end resets the other', async () => {
  const p = await pair()
  try {
    const closed = new Promise<void>((resolve) => p.server.once('close', resolve))
    p.server.on('error', () => {})
    p.client.write(Buffer.alloc(100_000)) // unacknowledged data: the close is abortive
    p.client.destroy()
    await closed
    assert.equal(p.b.connectionCount, 0)
  } finally {
    await p.close()
  }
})

test('datagrams that are not uTP (KRPC) go to the datagram listeners; uTP to nobody gets a RESET', async () => {
  const m = await UtpManager.open(0, '127.0.0.1')
  const probe = createSocket('udp4')
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r))
  try {
    const got = new Promise<Buffer>((resolve) => m.once('datagram', resolve))
    const krpc = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe')
    probe.send(krpc, m.port, '127.0.0.1')
    assert.deepEqual(await got, krpc)
    const reply = new Promise<Buffer>((resolve) => probe.once('message', resolve))
    const data = Buffer.alloc(20)
    data[0] = 0x01 // ST_DATA, version 1
    data.writeUInt16BE(4242, 2)
    data.writeUInt16BE(77, 16)
    probe.send(data, m.port, '127.0.0.1')
    const rst = await reply
    assert.equal(rst[0], 0x31, 'ST_RESET')
    assert.equal(rst.readUInt16BE(2), 4242)
    assert.equal(rst.readUInt16BE(18), 77, 'acknowledges the sequence number it refuses')
  } finally {
    probe.close()
    await m.close()
  }
})

test("a Buffer's write callback runs once its bytes are acknowledged: reusing the buffer then changes nothing sent; destroy releases the rest with an error", async () => {
  const p = await pair()
  try {
    const blocks = Array.from({ length: 128 }, () => randomBytes(16 * 1024))
    const expected = sha(Buffer.concat(blocks))
    let released = 0
    const got = collect(p.server, 128 * 16 * 1024)
    for (const block of blocks) {
      const copy = Buffer.from(block)
      const ok = p.client.write(copy, (err?: Error | null) => {
        assert.ifError(err)
        released++
        copy.fill(0xff) // as a buffer pool would reuse it
      })
      if (!ok) await new Promise((r) => p.client.once('drain', r))
    }
    assert.equal(sha(await got), expected)
    // The last ACKs reach the sender after the data reached the receiver.
    for (let i = 0; i < 200 && released < 128; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(released, 128)

    // Unread data held back by a peer that is gone: every callback still runs, once, with an error.
    p.server.pause()
    const errors: (Error | null | undefined)[] = []
    for (let i = 0; i < 64; i++) p.client.write(Buffer.alloc(16 * 1024), (err?: Error | null) => errors.push(err))
    p.client.destroy()
    await closed(p.client)
    await new Promise((r) => setImmediate(r))
    assert.equal(errors.length, 64, 'every write callback ran')
    assert.ok(errors.some((e) => e instanceof Error), 'chunks dropped unsent are released with an error')
  } finally {
    await p.close()
  }
})

test('a peer that does not say how large a datagram it takes gets none over 1472 bytes, even on loopback; our SYN-ACK says 65,535', async () => {
  const { EXT_BITS, ST_DATA, ST_STATE, ST_SYN, emptyView, parsePacket, writeHeader } = await import('../../../src/transport/utp/utp-packet.ts')
  const m = await UtpManager.open(0, '127.0.0.1')
  const peer = createSocket('udp4')
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r))
  const header = (type: 0 | 2 | 4, connectionId: number, seqNr: number, ackNr: number) => {
    const b = Buffer.alloc(20)
    writeHeader(b, { type, connectionId, timestampUs: 1, timestampDiffUs: 0, wndSize: 1 << 20, seqNr, ackNr })
    return b
  }
  try {
    const accepted = new Promise<UtpSocket>((resolve) => m.once('connection', resolve))
    const sizes: number[] = []
    let payloadBytes = 0
    let synAck: (b: Buffer) => void
    const gotSynAck = new Promise<Buffer>((r) => (synAck = r))
    let allArrived: () => void
    const arrived = new Promise<void>((r) => (allArrived = r))
    // A peer as libtorrent is: no extensions in its SYN; it acknowledges each data packet as it comes.
    peer.on('message', (msg) => {
      const v = emptyView()
      if (parsePacket(msg, v) !== undefined) return
      if (v.type === ST_STATE && sizes.length === 0 && payloadBytes === 0) return synAck(msg)
      if (v.type !== ST_DATA) return
      assert.ok(msg[1] < 3, 'a first extension libutp reads as version 1')
      sizes.push(msg.length)
      payloadBytes += msg.length - v.payloadOffset
      peer.send(header(ST_STATE, 501, 2, v.seqNr), m.port, '127.0.0.1')
      if (payloadBytes >= 300_000) allArrived()
    })
    peer.send(header(ST_SYN, 500, 1, 0), m.port, '127.0.0.1')
    const reply = emptyView()
    const synAckBuf = await gotSynAck
    assert.equal(parsePacket(synAckBuf, reply), undefined)
    assert.equal(reply.maxDatagram, 65_535, 'the SYN-ACK carries EXT_MAX_DATAGRAM')
    assert.equal(synAckBuf[1], EXT_BITS, 'behind libutp\'s extension bits: libutp takes a first extension of 3 or more for its version 0')
    const server = await accepted
    assert.equal(server.packetBytes.ceilingBytes, 1472, 'an Ethernet frame\'s worth, not loopback\'s 65,507')
    server.write(Buffer.alloc(300_000, 1))
    await arrived
    const largest = Math.max(...sizes)
    assert.ok(largest <= 1472, `a datagram of ${largest} bytes`)
    assert.ok(largest > 1400, 'probes went above the 1400-byte start')
    server.destroy()
  } finally {
    peer.close()
    await m.close()
  }
})
