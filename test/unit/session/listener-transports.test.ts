// The listener's two transports on one port number: TCP and UDP (uTP and the
// DHT) bound together, each refusable by config (`tcp`, `utp`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { createSocket } from 'node:dgram'
import { Listener } from '../../../src/session/listener.ts'
import { UtpManager } from '../../../src/transport/utp/utp-manager.ts'

test('TCP and UDP are bound on the same port number', async () => {
  const listener = new Listener()
  try {
    const port = await listener.listen(0, '127.0.0.1')
    const udp = createSocket('udp4')
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      udp.once('error', resolve)
      udp.bind(port, '127.0.0.1', () => resolve(undefined))
    })
    udp.close()
    assert.equal(err?.code, 'EADDRINUSE', 'the UDP port of the same number belongs to the listener')
    assert.ok(listener.dhtSocket(), 'a DHT socket face exists once listening')
  } finally {
    await listener.close()
  }
})

test('tcp: false closes incoming TCP connections with a reason, and outgoing dials never use TCP', async () => {
  const listener = new Listener(undefined, { tcp: false })
  try {
    const port = await listener.listen(0, '127.0.0.1')
    const rejected = new Promise<string>((resolve) => listener.once('rejected', (_remote, reason) => resolve(reason)))
    const socket = connect({ port, host: '127.0.0.1' })
    socket.on('error', () => {})
    assert.match(await rejected, /TCP is turned off/)
    await new Promise((r) => (socket.destroyed ? r(undefined) : socket.once('close', r)))
    assert.deepEqual(listener.transports.order('127.0.0.1', 6881), ['utp'])
    assert.deepEqual(listener.transports.order('::1', 6881), [], 'uTP runs on IPv4 only: no transport for an IPv6 peer')
  } finally {
    await listener.close()
  }
})

test('utp: false answers a uTP SYN with a RESET and dials TCP only', async () => {
  const listener = new Listener(undefined, { utp: false })
  const probe = await UtpManager.open(0, '127.0.0.1')
  try {
    const port = await listener.listen(0, '127.0.0.1')
    const s = probe.connect('127.0.0.1', port)
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => s.once('error', resolve))
    assert.equal(err.code, 'ECONNREFUSED')
    assert.deepEqual(listener.transports.order('127.0.0.1', 6881), ['tcp'])
  } finally {
    await probe.close()
    await listener.close()
  }
})
