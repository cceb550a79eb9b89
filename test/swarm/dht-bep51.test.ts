// BEP 51 between our own DHT nodes on 127.0.0.1: one node samples another
// after a plain bittorrent-dht node announced to it; and the hostile side:
// malformed KRPC sent to our node, a flood of sample queries from one address,
// and a raw UDP "node" answering our queries with samples that are not whole
// hashes or with a huge num.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import bencode from 'bencode'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { plainDhtNode, LOOPBACK } from '../helpers/local-dht.ts'
import { waitUntil } from '../helpers/net.ts'

async function ourNode(bootstrap: string[], sampleIntervalSeconds?: number): Promise<DhtNode> {
  const node = new DhtNode({ port: 0, host: LOOPBACK, bootstrap, sampleIntervalSeconds })
  node.on('warning', () => {})
  await node.start()
  return node
}

async function udpSocket(host = LOOPBACK): Promise<Socket> {
  const socket = createSocket('udp4')
  socket.bind(0, host)
  await once(socket, 'listening')
  return socket
}

/** Sends one raw datagram and collects the decoded replies that arrive until `untilMs` passes with none. */
async function exchange(socket: Socket, port: number, packets: Buffer[], quietMs = 400): Promise<any[]> {
  const replies: any[] = []
  const onMessage = (msg: Buffer) => replies.push(bencode.decode(msg))
  socket.on('message', onMessage)
  for (const p of packets) socket.send(p, port, LOOPBACK)
  // Replies on loopback come within milliseconds; done once a poll sees no new one.
  let seen = -1
  await waitUntil(() => {
    if (replies.length === seen) return true
    seen = replies.length
    return false
  }, 10_000, 'the replies to stop coming', quietMs)
  socket.off('message', onMessage)
  return replies
}

function query(q: string, a: Record<string, unknown>, t = 'aa'): Buffer {
  return Buffer.from(bencode.encode({ t, y: 'q', q, a: { id: randomBytes(20), ...a } }))
}

test('one of our nodes samples another: the hash a plain node announced to it, its interval and num', async () => {
  const a = await ourNode([], 42)
  const b = await ourNode([`${LOOPBACK}:${a.port}`])
  const plain = await plainDhtNode([`${LOOPBACK}:${a.port}`])
  try {
    const infoHash = randomBytes(20)
    await new Promise<void>((resolve, reject) => plain.announce(infoHash, 7777, (err) => (err ? reject(err) : resolve())))
    await waitUntil(() => a.announcedCount === 1, 5000, 'the announce to reach node A')
    const reply = await b.sampleInfohashes({ host: LOOPBACK, port: a.port }, randomBytes(20))
    assert.deepEqual(reply.samples.map((h) => h.toString('hex')), [infoHash.toString('hex')])
    assert.equal(reply.intervalSeconds, 42)
    assert.equal(reply.num, 1)
    // Nodes as find_node gives them: A knows B and the plain node.
    const ports = reply.nodes.map((n) => n.port).sort()
    assert.ok(ports.includes(b.port), `A's reply names B (${b.port}) among ${ports.join(', ')}`)
    // The plain bittorrent-dht node has no BEP 51: the query goes unanswered.
    await assert.rejects(b.sampleInfohashes({ host: LOOPBACK, port: plain.address().port }, randomBytes(20)), /timed out/)
  } finally {
    await new Promise<void>((resolve) => plain.destroy(() => resolve()))
    await b.stop()
    await a.stop()
  }
})

test('malformed KRPC never stops our node: garbage is dropped, a bad target gets error 203, a good query is answered after', async () => {
  const node = await ourNode([])
  const socket = await udpSocket()
  try {
    const replies = await exchange(socket, node.port, [
      Buffer.from('this is not bencode'),
      Buffer.from('d1:y1:qe'), // no transaction, no method
      Buffer.from(bencode.encode({ t: 'ab', y: 'q', q: 'sample_infohashes' })), // no arguments
      query('sample_infohashes', { target: randomBytes(5) }, 'bt'),
      query('sample_infohashes', { target: 'not bytes either, but long enough' }, 'ct'),
      Buffer.from(bencode.encode({ t: 'dt', y: 'q', q: 12345, a: { id: randomBytes(20) } })),
      Buffer.alloc(3000, 0x64), // a deep nest of dicts that never ends
    ])
    const errors = replies.filter((r) => Buffer.from(r.y).toString() === 'e')
    assert.deepEqual(errors.map((r) => Buffer.from(r.t).toString()).sort(), ['ab', 'bt', 'ct'])
    assert.equal(errors[0].e[0], 203)
    const [good] = await exchange(socket, node.port, [query('sample_infohashes', { target: randomBytes(20) }, 'ok')])
    assert.equal(Buffer.from(good.t).toString(), 'ok')
    assert.equal(good.r.samples.length, 0)
    assert.equal(good.r.num, 0)
    assert.equal(good.r.interval, 300)
  } finally {
    socket.close()
    await node.stop()
  }
})

test('a node that floods us with sample_infohashes gets at most 20 answers per 10 s; others are still answered', async () => {
  const node = await ourNode([])
  const flooder = await udpSocket()
  const other = await udpSocket('127.0.0.2') // the limit is per IP address
  try {
    const packets = Array.from({ length: 200 }, (_, i) => query('sample_infohashes', { target: randomBytes(20) }, `f${i}`))
    const replies = await exchange(flooder, node.port, packets)
    assert.equal(replies.length, 20)
    const [answer] = await exchange(other, node.port, [query('sample_infohashes', { target: randomBytes(20) })])
    assert.ok(answer?.r, 'another address is still answered')
  } finally {
    flooder.close()
    other.close()
    await node.stop()
  }
})

/** A raw UDP node that answers every query with `r` (plus the query's transaction id). */
async function lyingNode(r: Record<string, unknown>): Promise<Socket> {
  const socket = await udpSocket()
  socket.on('message', (msg, rinfo) => {
    const q = bencode.decode(msg)
    socket.send(Buffer.from(bencode.encode({ t: q.t, y: 'r', r: { id: randomBytes(20), ...r } })), rinfo.port, rinfo.address)
  })
  return socket
}

test('a reply whose samples are not whole hashes is refused; a huge num and interval are clamped', async () => {
  const node = await ourNode([])
  const broken = await lyingNode({ samples: randomBytes(50), interval: 60, num: 3 })
  const boastful = await lyingNode({ samples: randomBytes(40), interval: 10 ** 12, num: 10 ** 15 })
  try {
    await assert.rejects(node.sampleInfohashes({ host: LOOPBACK, port: broken.address().port }, randomBytes(20)), /50 bytes of samples, not a multiple of 20/)
    const reply = await node.sampleInfohashes({ host: LOOPBACK, port: boastful.address().port }, randomBytes(20))
    assert.equal(reply.samples.length, 2)
    assert.equal(reply.num, 1_000_000_000)
    assert.equal(reply.intervalSeconds, 21_600)
  } finally {
    broken.close()
    boastful.close()
    await node.stop()
  }
})
