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

async function pair(relayOpts?: { dropRate: number; duplicateRate: number; reorderRate: number; seed: number }) {
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

test('through a relay that drops 5 %, duplicates and reorders, 8 MiB arrive byte for byte in both directions at once', async () => {
  const p = await pair({ dropRate: 0.05, duplicateRate: 0.02, reorderRate: 0.05, seed: 11 })
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

test("a Buffer's write callback runs once its bytes are in packets: reusing the buffer then changes nothing sent; destroy releases the rest with an error", async () => {
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
