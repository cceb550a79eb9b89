// DhtNode on its own, on 127.0.0.1 with no bootstrap nodes: lifecycle, bind
// failures, argument checks and state-file handling that need no network.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DhtNode } from '../../../src/discovery/dht-node.ts'
import { tempDir } from '../../helpers/net.ts'

const LOOPBACK = '127.0.0.1'

function lonelyNode(extra: { stateFile?: string; port?: number } = {}): { node: DhtNode; warnings: string[] } {
  const node = new DhtNode({ port: extra.port ?? 0, host: LOOPBACK, bootstrap: [], stateFile: extra.stateFile })
  const warnings: string[] = []
  node.on('warning', (m) => warnings.push(m))
  return { node, warnings }
}

test('binds a UDP port, reports it, and warns when it has no node to bootstrap from', async () => {
  const { node, warnings } = lonelyNode()
  const ready = new Promise<void>((resolve) => node.once('ready', resolve))
  await node.start()
  await ready
  assert.ok(node.port > 0)
  assert.equal(node.nodeCount, 0)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /bootstrap reached no nodes/)
  await node.stop()
  await node.stop()
})

test('a lookup with an empty routing table ends with no peers; an announce fails with a reason', async () => {
  const { node } = lonelyNode()
  await node.start()
  const peers: unknown[] = []
  await node.lookup(randomBytes(20), (p) => peers.push(p))
  assert.deepEqual(peers, [])
  await assert.rejects(node.announce(randomBytes(20), 6881), /found no nodes near the torrent/)
  await node.stop()
})

test('a port already in use rejects start() with the port and what to do', async () => {
  const taken = createSocket('udp4')
  taken.bind(0, LOOPBACK)
  await once(taken, 'listening')
  const port = taken.address().port
  const { node } = lonelyNode({ port })
  await assert.rejects(node.start(), new RegExp(`could not listen on UDP 127\\.0\\.0\\.1:${port} .*EADDRINUSE.*choose another port`))
  await node.stop()
  taken.close()
})

test('lookup and announce before start() or after stop() reject; stop() before start() resolves', async () => {
  const { node } = lonelyNode()
  await assert.rejects(node.lookup(randomBytes(20), () => {}), /not running/)
  await node.stop()
  await assert.rejects(node.start(), /was stopped; create a new one/)
  const other = lonelyNode().node
  await other.start()
  await other.stop()
  await assert.rejects(other.announce(randomBytes(20), 6881), /not running/)
})

test('rejects bad arguments with one-line messages', async () => {
  assert.throws(() => new DhtNode({ port: 70000, bootstrap: [] }), /DHT port must be 0-65535, got 70000/)
  assert.throws(() => new DhtNode({ port: 0, bootstrap: ['router.example'] }), /DHT bootstrap node "router.example" is not HOST:PORT/)
  const { node } = lonelyNode()
  await node.start()
  await assert.rejects(node.lookup(randomBytes(10), () => {}), /info hash must be 20 bytes, got 10/)
  await assert.rejects(node.announce(randomBytes(20), 0), /announce port must be 1-65535, got 0/)
  await node.stop()
})

test('a state file with some bad entries loads the good ones and warns once', async () => {
  const dir = tempDir('dht-node')
  const stateFile = join(dir.path, 'dht.json')
  const id = randomBytes(20).toString('hex')
  await writeFile(
    stateFile,
    JSON.stringify({
      nodeId: randomBytes(20).toString('hex'),
      nodes: [
        { id, host: '127.0.0.1', port: 9 },
        { id: 'nothex', host: '127.0.0.1', port: 9 },
        { id, host: '::1', port: 9 },
        { host: '127.0.0.1', port: 0 },
      ],
    }),
  )
  const { node, warnings } = lonelyNode({ stateFile })
  await node.start()
  assert.equal(node.nodeCount, 1)
  assert.deepEqual(warnings, [`DHT state ${stateFile}: 3 unreadable node entries were skipped`])
  await node.stop()
  await dir.cleanup()
})

test('an empty routing table is not saved over an earlier one, and no temp file is left', async () => {
  const dir = tempDir('dht-node')
  const stateFile = join(dir.path, 'dht.json')
  const before = JSON.stringify({ nodes: [] })
  await writeFile(stateFile, before)
  const { node } = lonelyNode({ stateFile })
  await node.start()
  await node.save()
  await node.stop()
  assert.equal(await readFile(stateFile, 'utf8'), before)
  assert.deepEqual(await readdir(dir.path), ['dht.json'])
  await dir.cleanup()
})

test('stop() ends a lookup and an announce still waiting on a silent node', async () => {
  const dir = tempDir('dht-node')
  const stateFile = join(dir.path, 'dht.json')
  // Port 9 (discard) on loopback never answers, so both stay in flight until stop().
  await writeFile(stateFile, JSON.stringify({ nodes: [{ id: randomBytes(20).toString('hex'), host: LOOPBACK, port: 9 }] }))
  const { node } = lonelyNode({ stateFile })
  await node.start()
  let lookupDone = false
  const lookup = node.lookup(randomBytes(20), () => {}).then(() => (lookupDone = true))
  const announce = node.announce(randomBytes(20), 6881)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(lookupDone, false)
  await node.stop()
  await lookup
  await assert.rejects(announce, /stopped before the announce finished/)
  await dir.cleanup()
})
