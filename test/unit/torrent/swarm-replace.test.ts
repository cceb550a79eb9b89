// A peer that dials again while we hold its old connection (it was killed and
// restarted, its box vanished): the old one is replaced once it has been
// silent for SILENT_REPLACE_MS (a fake clock moves the time), released as any
// peer leaving is; a live one is never replaced (the new one is refused as a
// duplicate), nor is one from another address with a copied peer id.
// Real loopback TCP sockets into a Swarm, through the session's Listener.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pLimit from 'p-limit'
import { ConnectionSlots } from '../../../src/core/connection-slots.ts'
import { newPeerId } from '../../../src/core/peer-id.ts'
import { Listener } from '../../../src/session/listener.ts'
import { DUPLICATE_CONNECTION, SILENT_REPLACE_MS } from '../../../src/torrent/duplicate-connection.ts'
import { Swarm } from '../../../src/torrent/swarm.ts'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { waitUntil } from '../../helpers/net.ts'
import { connectWirePeer, type WireClient } from '../../helpers/wire-peer.ts'

test('a new connection from a peer replaces its old one only once that one is silent, and only from the same address', async () => {
  const clock = new FakeClock(1_000_000)
  const infoHash = Buffer.alloc(20, 7)
  const listener = new Listener(clock, { utp: false })
  const port = await listener.listen(0, '127.0.0.1')
  const swarm = new Swarm({
    infoHash, peerId: newPeerId(), listenPort: port, pieceCount: 4, extendedHandshake: { m: {} }, clock,
    maxConnections: 10, maxConnectionsPerIp: 10, slots: new ConnectionSlots(10), dialLimit: pLimit(1), connectTimeoutMs: 5_000, maxStrikes: 3,
  })
  listener.register(infoHash, (socket, decoder, handshake, rest) => swarm.handleIncoming(socket, decoder, handshake, rest))
  const closed: { key: string; reason: string; wasReady: boolean }[] = []
  swarm.on('peerClosed', (pc, reason, wasReady) => closed.push({ key: pc.key, reason, wasReady }))
  const clients: WireClient[] = []
  const dial = async (localAddress = '127.0.0.1'): Promise<WireClient> => {
    const c = await connectWirePeer({ port, infoHash, peerId, localAddress })
    clients.push(c)
    return c
  }
  const peerId = newPeerId()
  const connectedKeys = () => [...swarm.connections.keys()]
  try {
    const first = await dial()
    await waitUntil(() => swarm.connections.has(first.key), 5_000, 'the first connection ready')

    // Live (something arrived under SILENT_REPLACE_MS ago): the new one is the duplicate.
    clock.advance(SILENT_REPLACE_MS - 1_000)
    const early = await dial()
    await early.until(() => early.closed, 'the early second connection refused')
    assert.deepEqual(connectedKeys(), [first.key])
    assert.equal(closed.at(-1)?.reason, DUPLICATE_CONNECTION)
    assert.equal(closed.at(-1)?.key, early.key)

    // A copied peer id from another address never replaces it, silent or not.
    clock.advance(2_000)
    const stranger = await dial('127.0.0.2')
    await stranger.until(() => stranger.closed, 'the stranger with a copied peer id refused')
    assert.deepEqual(connectedKeys(), [first.key])
    assert.equal(closed.at(-1)?.key, stranger.key)
    assert.equal(closed.at(-1)?.reason, DUPLICATE_CONNECTION)

    // Silent for SILENT_REPLACE_MS: the peer's new connection replaces it, which closes as a peer that left.
    const fresh = await dial()
    await waitUntil(() => swarm.connections.has(fresh.key), 5_000, 'the new connection ready')
    await first.until(() => first.closed, 'the old connection closed')
    assert.deepEqual(connectedKeys(), [fresh.key])
    const replaced = closed.find((c) => c.key === first.key)
    assert.ok(replaced?.wasReady, 'the old connection closed as a peer (its requests released)')
    assert.equal(replaced.reason, `replaced: the peer connected again, this connection received nothing for ${((SILENT_REPLACE_MS + 1_000) / 1000).toFixed(1)} s`)
    assert.equal(fresh.closed, false)

    // The new one just spoke: another dial at once cannot churn it.
    const churn = await dial()
    await churn.until(() => churn.closed, 'an immediate redial refused')
    assert.deepEqual(connectedKeys(), [fresh.key])
    assert.equal(closed.at(-1)?.reason, DUPLICATE_CONNECTION)
  } finally {
    for (const c of clients) c.close()
    swarm.close()
    await listener.close()
  }
})
