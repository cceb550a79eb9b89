// DhtNode and DhtSource in a small DHT of plain bittorrent-dht nodes on
// 127.0.0.1. Every node is given an explicit loopback bootstrap list, so
// nothing here ever reaches the public routers.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type DHT from 'bittorrent-dht'
import { LOOPBACK, startLocalDht, type LocalDht } from '../helpers/local-dht.ts'
import type { PeerCandidate } from '../../src/core/types.ts'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { DhtSource } from '../../src/discovery/dht-source.ts'
import { tempDir, waitFor, waitUntil, type TempDir } from '../helpers/net.ts'

const PLAIN_NODES = 6
const WAIT_MS = 10_000

let plain: DHT[] = []
let bootstrap: string[] = []
let dir: TempDir
let local: LocalDht
const ours: DhtNode[] = []

before(async () => {
  dir = tempDir('dht')
  local = await startLocalDht(PLAIN_NODES)
  plain = local.nodes
  bootstrap = local.bootstrap
})

after(async () => {
  await Promise.all(ours.map((n) => n.stop()))
  await local.close()
  await dir.cleanup()
})

/** A started DhtNode on loopback; `ready` resolves when its bootstrap walk ends. */
async function ourNode(opts: { bootstrap?: string[]; stateFile?: string; warnings?: string[] } = {}): Promise<DhtNode> {
  const node = new DhtNode({ port: 0, host: LOOPBACK, bootstrap: opts.bootstrap ?? bootstrap, stateFile: opts.stateFile })
  ours.push(node)
  node.on('warning', (m) => opts.warnings?.push(m))
  const ready = new Promise<void>((resolve) => node.once('ready', resolve))
  await node.start()
  await ready
  return node
}

/** Every candidate the source emits, in order. */
function collect(source: DhtSource): PeerCandidate[] {
  const all: PeerCandidate[] = []
  source.on('peers', (c) => all.push(...c))
  return all
}

/** Resolves once some plain node has stored a peer for `infoHash`. */
function storedOnNetwork(infoHash: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('no DHT node stored the announce within 10 s')), WAIT_MS)
    const handlers = plain.map((d) => {
      const handle = (_peer: unknown, hash: Buffer): void => {
        if (infoHash.equals(hash)) done()
      }
      d.on('announce', handle)
      return handle
    })
    function done(err?: Error): void {
      clearTimeout(timer)
      plain.forEach((d, i) => d.off('announce', handlers[i]))
      if (err) reject(err)
      else resolve()
    }
  })
}

const dhtPeer = (port: number): PeerCandidate => ({ host: LOOPBACK, port, source: 'dht' })

test('a peer announced by one DhtNode is found by another through a DhtSource, once per lookup', async () => {
  const a = await ourNode()
  const b = await ourNode()
  assert.ok(a.nodeCount >= PLAIN_NODES - 1, `A knows only ${a.nodeCount} nodes`)
  const infoHash = randomBytes(20)
  const peerPort = 40_001

  const seeder = new DhtSource({ node: a, infoHash, port: peerPort, private: false, announce: true })
  const stored = storedOnNetwork(infoHash)
  seeder.start()
  await stored

  // B's node as the source sees it, telling when a lookup has ended (every reply in).
  let lookupsEnded = 0
  const watched = {
    lookup: async (...args: Parameters<DhtNode['lookup']>) => {
      try {
        return await b.lookup(...args)
      } finally {
        lookupsEnded++
      }
    },
    announce: (...args: Parameters<DhtNode['announce']>) => b.announce(...args),
  }
  const leecher = new DhtSource({ node: watched, infoHash, port: 40_002, private: false, announce: false })
  const found = collect(leecher)
  leecher.start()
  await waitUntil(() => lookupsEnded >= 1, WAIT_MS, "B's lookup to end")
  await new Promise((resolve) => setImmediate(resolve)) // the source hands on what the last replies carried
  // Several nodes hold the same peer; the whole lookup still reports it once.
  assert.ok(found.some((c) => c.port === peerPort), 'B found the announced peer')
  assert.deepEqual(found.filter((c) => c.port === peerPort), [dhtPeer(peerPort)])
  assert.ok(found.every((c) => c.source === 'dht'))

  await Promise.all([seeder.stop(), leecher.stop()])
})

test('the routing table survives a restart: a new node with no bootstrap list finds peers from the saved table', async () => {
  const stateFile = join(dir.path, 'state', 'dht.json')
  const a = await ourNode()
  const infoHash = randomBytes(20)
  const peerPort = 40_011
  const stored = storedOnNetwork(infoHash)
  await a.announce(infoHash, peerPort)
  await stored

  const first = await ourNode({ stateFile })
  const known = first.nodeCount
  assert.ok(known > 0)
  await first.stop()
  const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { nodes: { id: string; host: string; port: number }[] }
  assert.equal(saved.nodes.length, known)
  assert.ok(saved.nodes.every((n) => n.host === LOOPBACK && /^[0-9a-f]{40}$/.test(n.id)))

  const warnings: string[] = []
  const second = await ourNode({ bootstrap: [], stateFile, warnings })
  assert.ok(second.nodeCount > 0, 'the restarted node has an empty routing table')
  assert.deepEqual(warnings, [])
  const source = new DhtSource({ node: second, infoHash, port: 40_012, private: false, announce: false })
  const found = collect(source)
  source.start()
  await waitUntil(() => found.some((c) => c.port === peerPort), WAIT_MS, 'the restarted node to find the peer')
  await source.stop()
})

test('a private torrent’s DhtSource never looks up, never announces, never emits', async () => {
  const a = await ourNode()
  const b = await ourNode()
  const privateHash = randomBytes(20)
  const controlHash = randomBytes(20)
  // Peers exist for the private hash, so a lookup would have found something.
  const storedPrivate = storedOnNetwork(privateHash)
  const storedControl = storedOnNetwork(controlHash)
  await Promise.all([a.announce(privateHash, 40_021), a.announce(controlHash, 40_022)])
  await Promise.all([storedPrivate, storedControl])

  const queries: string[] = []
  const watchers = plain.map((d) => {
    const onGetPeers = (hash: Buffer): void => void (privateHash.equals(hash) && queries.push('get_peers'))
    const onAnnounce = (hash: Buffer): void => void (privateHash.equals(hash) && queries.push('announce_peer'))
    d.on('get_peers', onGetPeers)
    d.on('announce_peer', onAnnounce)
    return () => {
      d.off('get_peers', onGetPeers)
      d.off('announce_peer', onAnnounce)
    }
  })

  const secret = new DhtSource({ node: b, infoHash: privateHash, port: 40_023, private: true, announce: true })
  const leaked = collect(secret)
  secret.start()
  secret.lookupNow()
  // A public source started after it, on the same node, gets its answer through the same network.
  const control = new DhtSource({ node: b, infoHash: controlHash, port: 40_024, private: false, announce: true })
  const controlPeers = waitFor<PeerCandidate[]>(control, 'peers', WAIT_MS)
  control.start()
  assert.deepEqual(await controlPeers, [dhtPeer(40_022)])
  await storedOnNetwork(controlHash) // the control's own announce has landed too

  assert.deepEqual(leaked, [])
  assert.deepEqual(queries, [])
  watchers.forEach((unwatch) => unwatch())
  await Promise.all([secret.stop(), control.stop()])
})

test('a corrupt state file gives a warning and a fresh start, and is replaced at stop', async () => {
  const stateFile = join(dir.path, 'corrupt.json')
  await writeFile(stateFile, '{"nodes": [oops')
  const warnings: string[] = []
  const node = await ourNode({ stateFile, warnings })
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /corrupt\.json is corrupt .*starting with an empty routing table/)
  assert.ok(node.nodeCount > 0, 'the node did not bootstrap after the corrupt file')
  await node.stop()
  const saved = JSON.parse(await readFile(stateFile, 'utf8')) as { nodes: unknown[] }
  assert.ok(saved.nodes.length > 0)
})
