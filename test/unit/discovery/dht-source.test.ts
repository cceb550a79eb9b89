// DhtSource's schedule against a scripted node and a FakeClock: lookups at
// start and every interval, announce after each lookup, the one-a-minute
// limit on extra lookups, dedup within a lookup, and BEP 27 silence.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { FakeClock } from '../../helpers/fake-clock.ts'
import type { PeerAddress, PeerCandidate } from '../../../src/core/types.ts'
import { DhtSource, type DhtLookupNode } from '../../../src/discovery/dht-source.ts'

const INTERVAL_MS = 15 * 60_000

/** A node whose lookups end when the test says so. */
class ScriptedNode implements DhtLookupNode {
  calls: string[] = []
  #open: { onPeer: (p: PeerAddress) => void; end: (err?: Error) => void }[] = []

  lookup(infoHash: Buffer, onPeer: (peer: PeerAddress) => void): Promise<void> {
    this.calls.push(`lookup ${infoHash.toString('hex').slice(0, 4)}`)
    return new Promise<void>((resolve, reject) => {
      this.#open.push({ onPeer, end: (err) => (err ? reject(err) : resolve()) })
    })
  }

  announce(infoHash: Buffer, port: number): Promise<void> {
    this.calls.push(`announce ${infoHash.toString('hex').slice(0, 4)} ${port}`)
    return Promise.resolve()
  }

  get openLookups(): number {
    return this.#open.length
  }

  peers(...ports: number[]): void {
    for (const port of ports) this.#open[0].onPeer({ host: '10.0.0.1', port })
  }

  /** Ends the oldest lookup and lets its promise chain run. */
  async finish(err?: Error): Promise<void> {
    this.#open.shift()!.end(err)
    await flush()
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

function setup(extra: { private?: boolean; announce?: boolean } = {}) {
  const clock = new FakeClock(1_000_000)
  const node = new ScriptedNode()
  const infoHash = Buffer.from('abcd' + randomBytes(18).toString('hex'), 'hex')
  const source = new DhtSource({ node, infoHash, port: 6881, private: extra.private ?? false, announce: extra.announce ?? true, clock })
  const emitted: PeerCandidate[][] = []
  source.on('peers', (c) => emitted.push(c))
  return { clock, node, source, emitted }
}

test('looks up at start, announces after the lookup, and again every interval', async () => {
  const { clock, node, source } = setup()
  source.start()
  assert.deepEqual(node.calls, ['lookup abcd'])
  await node.finish()
  assert.deepEqual(node.calls, ['lookup abcd', 'announce abcd 6881'])
  clock.advance(INTERVAL_MS - 1)
  assert.equal(node.calls.length, 2)
  clock.advance(1)
  assert.deepEqual(node.calls.slice(2), ['lookup abcd'])
  await node.finish()
  await source.stop()
  assert.equal(clock.pending(), 0)
})

test('does not announce when neither downloading nor seeding', async () => {
  const { node, source } = setup({ announce: false })
  source.start()
  await node.finish()
  assert.deepEqual(node.calls, ['lookup abcd'])
  await source.stop()
})

test('each address is emitted once per lookup, as dht candidates, one event per burst', async () => {
  const { node, source, emitted } = setup()
  source.start()
  node.peers(1, 2, 1)
  await flush()
  node.peers(2, 3)
  await node.finish()
  assert.deepEqual(emitted, [
    [
      { host: '10.0.0.1', port: 1, source: 'dht' },
      { host: '10.0.0.1', port: 2, source: 'dht' },
    ],
    [{ host: '10.0.0.1', port: 3, source: 'dht' }],
  ])
  await source.stop()
})

test('a new lookup reports the same address again', async () => {
  const { clock, node, source, emitted } = setup({ announce: false })
  source.start()
  node.peers(1)
  await node.finish()
  clock.advance(INTERVAL_MS)
  node.peers(1)
  await node.finish()
  assert.equal(emitted.length, 2)
  await source.stop()
})

test('lookupNow runs at most one lookup a minute and never overlaps one in flight', async () => {
  const { clock, node, source } = setup({ announce: false })
  source.start()
  await node.finish()
  source.lookupNow()
  source.lookupNow()
  assert.equal(node.calls.length, 1, 'an extra lookup ran within the minute')
  clock.advance(59_999)
  assert.equal(node.calls.length, 1)
  clock.advance(1)
  assert.equal(node.calls.length, 2)
  // Still in flight a minute later: the extra lookup waits for it to end.
  clock.advance(60_000)
  source.lookupNow()
  assert.equal(node.openLookups, 1)
  await node.finish()
  assert.equal(node.calls.length, 3)
  assert.equal(node.openLookups, 1)
  await node.finish()
  await source.stop()
})

test('a failed lookup is not announced after, and the schedule goes on', async () => {
  const { clock, node, source } = setup()
  source.start()
  await node.finish(new Error('the DHT node is not running'))
  assert.deepEqual(node.calls, ['lookup abcd'])
  clock.advance(INTERVAL_MS)
  assert.equal(node.calls.length, 2)
  await node.finish()
  await source.stop()
})

test('a private torrent never asks the node for anything', async () => {
  const { clock, node, source, emitted } = setup({ private: true })
  source.start()
  source.lookupNow()
  clock.advance(10 * INTERVAL_MS)
  await flush()
  assert.deepEqual(node.calls, [])
  assert.deepEqual(emitted, [])
  assert.equal(clock.pending(), 0)
  await source.stop()
})

test('after stop: no timers, no peers from the lookup still in flight, no announce', async () => {
  const { clock, node, source, emitted } = setup()
  source.start()
  node.peers(1)
  await source.stop()
  node.peers(2)
  await node.finish()
  assert.deepEqual(emitted, [])
  assert.deepEqual(node.calls, ['lookup abcd'])
  assert.equal(clock.pending(), 0)
  source.lookupNow()
  assert.equal(node.calls.length, 1)
})

test('rejects a bad info hash, port or interval with a one-line message', () => {
  const node = new ScriptedNode()
  const base = { node, infoHash: randomBytes(20), port: 6881, private: false, announce: true }
  assert.throws(() => new DhtSource({ ...base, infoHash: randomBytes(19) }), /info hash must be 20 bytes, got 19/)
  assert.throws(() => new DhtSource({ ...base, port: 0 }), /listen port must be 1-65535, got 0/)
  assert.throws(() => new DhtSource({ ...base, intervalMs: 1000 }), /interval must be at least 60 s/)
})
