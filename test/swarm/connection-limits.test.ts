// Connection limits on loopback: per IP address per torrent, and a total
// shared by every torrent of a session (incoming and outgoing alike). A freed
// slot is used again. Last, the same limits read from config.json by a real
// `friendtorrent seed` process.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConnectionSlots } from '../../src/core/connection-slots.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import type { BuiltTorrent } from '../helpers/make-torrent.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'
import { connectWirePeer, startWirePeer } from '../helpers/wire-peer.ts'
import type { WireClient, WirePeer } from '../helpers/wire-peer.ts'

const PIECE_LENGTH = 16 * 1024
const WAIT_MS = 15_000

/** Writes the torrent's payload and .torrent under `dir`; returns the .torrent path. */
function writeSeedFiles(dir: string, name: string, b: BuiltTorrent): string {
  mkdirSync(join(dir, 'seed'), { recursive: true })
  writeFileSync(join(dir, 'seed', name), b.payload)
  writeFileSync(join(dir, `${name}.torrent`), b.torrent)
  return join(dir, `${name}.torrent`)
}

/** A raw peer that the seeder kept: it got the handshake and a bitfield, and is not closed. */
async function accepted(client: WireClient): Promise<boolean> {
  await client.until(() => client.received.includes('bitfield') || client.closed, 'the seeder to answer or close')
  return !client.closed
}

test('per IP: a 4th connection from one address is refused when the limit is 3; another address is not; a freed slot is reused', async () => {
  const work: TempDir = tempDir('limit-ip')
  const b = buildTorrent({ name: 'ip.bin', files: 4 * PIECE_LENGTH, pieceLength: PIECE_LENGTH, seed: 11 })
  const clients: WireClient[] = []
  let seeder: OurPeer | undefined
  try {
    seeder = await startOurSeeder({ torrentPath: writeSeedFiles(work.path, 'ip.bin', b), dataDir: join(work.path, 'seed'), useTrackers: false, limits: { maxConnectionsPerIp: 3 } })
    const refused: string[] = []
    seeder.torrent.on('peerFailed', (_key, reason) => refused.push(reason))
    const connect = async (localAddress: string) => {
      const c = await connectWirePeer({ port: seeder!.port, infoHash: b.infoHash, localAddress })
      clients.push(c)
      return c
    }
    for (let i = 0; i < 3; i++) assert.ok(await accepted(await connect('127.0.0.1')), `connection ${i + 1} from 127.0.0.1 is kept`)
    const fourth = await connect('127.0.0.1')
    assert.equal(await accepted(fourth), false, 'the 4th from 127.0.0.1 is closed')
    assert.deepEqual(refused, ['refused: already 3 connections with 127.0.0.1'])
    assert.ok(await accepted(await connect('127.0.0.2')), 'another address still gets in')
    assert.equal(seeder.torrent.snapshot().connectedPeers, 4)
    clients[0].close()
    await waitUntil(() => seeder!.torrent.snapshot().connectedPeers === 3, WAIT_MS, 'the seeder to see one close')
    assert.ok(await accepted(await connect('127.0.0.1')), 'a freed slot takes a new connection from 127.0.0.1')
  } finally {
    for (const c of clients) c.close()
    await seeder?.stop()
    await work.cleanup()
  }
})

test('session total: maxConnections 3 holds across two seeding torrents; closing one frees a slot for the other', { timeout: 60_000 }, async () => {
  const work = tempDir('limit-session')
  const builds = [
    buildTorrent({ name: 'one.bin', files: 3 * PIECE_LENGTH, pieceLength: PIECE_LENGTH, seed: 21 }),
    buildTorrent({ name: 'two.bin', files: 5 * PIECE_LENGTH + 9, pieceLength: PIECE_LENGTH, seed: 22 }),
  ]
  const session = await openTestSession(join(work.path, 'state'), { download: false, maxActiveDownloads: 1, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4, maxConnections: 3 })
  const clients: WireClient[] = []
  try {
    await session.start()
    for (const [i, b] of builds.entries()) {
      mkdirSync(join(work.path, 'seed'), { recursive: true })
      writeFileSync(join(work.path, 'seed', i === 0 ? 'one.bin' : 'two.bin'), b.payload)
      await session.add(b.torrent, join(work.path, 'seed'))
    }
    await waitUntil(() => session.list().every((t) => t.state === 'seeding'), WAIT_MS, 'both torrents to seed')
    // Distinct addresses, so only the session-wide total can refuse.
    const connect = async (b: BuiltTorrent, n: number) => {
      const c = await connectWirePeer({ port: session.port, infoHash: b.infoHash, localAddress: `127.0.0.${10 + n}` })
      clients.push(c)
      return c
    }
    assert.ok(await accepted(await connect(builds[0], 1)))
    assert.ok(await accepted(await connect(builds[0], 2)))
    assert.ok(await accepted(await connect(builds[1], 3)))
    assert.equal(await accepted(await connect(builds[1], 4)), false, 'a 4th connection in the session is refused')
    assert.equal(await accepted(await connect(builds[0], 5)), false, 'for either torrent')
    assert.deepEqual(session.list().map((t) => t.connectedPeers).sort(), [1, 2])
    clients[0].close()
    await waitUntil(() => session.list().reduce((n, t) => n + t.connectedPeers, 0) === 2, WAIT_MS, 'the session to see one close')
    // The seeder may redial the peer that left (uTP first, then TCP after a 500 ms head start):
    // that attempt holds the freed slot until it fails, so the newcomer may need a second try.
    let freed = false
    const until = Date.now() + WAIT_MS
    for (let n = 6; !freed && Date.now() < until; n++) {
      freed = await accepted(await connect(builds[1], n))
      if (!freed) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(freed, 'the freed slot goes to the other torrent')
  } finally {
    for (const c of clients) c.close()
    await session.close()
    await work.cleanup()
  }
})

test('shared total: outgoing dials count too; a leecher waits for the slot a seeder frees', { timeout: 60_000 }, async () => {
  const work = tempDir('limit-shared')
  const b = buildTorrent({ name: 'shared.bin', files: 6 * PIECE_LENGTH + 5, pieceLength: PIECE_LENGTH, seed: 31 })
  const slots = new ConnectionSlots(3)
  const clients: WireClient[] = []
  const peers: WirePeer[] = []
  let seeder: OurPeer | undefined
  let leecher: Torrent | undefined
  try {
    seeder = await startOurSeeder({ torrentPath: writeSeedFiles(work.path, 'shared.bin', b), dataDir: join(work.path, 'seed'), useTrackers: false, limits: { connectionSlots: slots } })
    for (const n of [1, 2]) {
      const c = await connectWirePeer({ port: seeder.port, infoHash: b.infoHash, localAddress: `127.0.0.${20 + n}` })
      clients.push(c)
      assert.ok(await accepted(c))
    }
    assert.equal(slots.used, 2)
    const meta = await parseTorrentFile(b.torrent)
    leecher = new Torrent({ meta, storage: await FileStorage.open(meta, join(work.path, 'leech')), peerId: newPeerId(), listenPort: 0, useTrackers: false, connectionSlots: slots })
    for (const n of [1, 2, 3]) peers.push(await startWirePeer({ infoHash: b.infoHash, payload: b.payload, pieceLength: PIECE_LENGTH, host: `127.0.0.${30 + n}`, silent: true }))
    await leecher.start()
    leecher.addPeers(peers.map((p) => ({ host: p.host, port: p.port, source: 'manual' as const })))
    // Slots are taken as dials start: one was free, so one dial, whatever the timing.
    assert.equal(slots.used, 3)
    await waitUntil(() => leecher!.snapshot().connectedPeers === 1, WAIT_MS, 'the leecher to connect to one peer')
    assert.equal(peers.reduce((n, p) => n + p.stats.connections, 0), 1, 'only one of three peers was dialled')
    clients[0].close()
    await waitUntil(() => leecher!.snapshot().connectedPeers === 2, WAIT_MS, 'the leecher to take the freed slot')
    assert.equal(slots.used, 3)
  } finally {
    for (const c of clients) c.close()
    await leecher?.stop()
    await seeder?.stop()
    await Promise.all(peers.map((p) => p.close()))
    await work.cleanup()
  }
  assert.equal(slots.used, 0, 'every slot is given back once all have stopped')
})

test('config.json limits reach a `seed` session: maxConnectionsPerIp 1, maxConnections 2, maxPendingRequestsPerPeer 32 (told as reqq)', { timeout: 90_000 }, async () => {
  const work = tempDir('limit-config')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const port = await freePort()
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port, maxConnectionsPerIp: 1, maxConnections: 2, maxPendingRequestsPerPeer: 32 }))
  const b = buildTorrent({ name: 'cfg.bin', files: 4 * PIECE_LENGTH + 3, pieceLength: PIECE_LENGTH, seed: 41 })
  const torrentPath = writeSeedFiles(work.path, 'cfg.bin', b)
  const seed = new ManagedProcess('seed', process.execPath, [CLI_PATH, 'seed'], { env, cwd: REPO_ROOT })
  const clients: WireClient[] = []
  try {
    await waitUntil(() => seed.logs().includes('control socket'), WAIT_MS, `the session to start:\n${seed.tail()}`)
    const added = await runCli(['add', torrentPath, '-o', join(work.path, 'seed')], { timeoutMs: 30_000, homeDir: home })
    assert.equal(added.code, 0, describeRun(added))
    const listed = async () => JSON.parse((await runCli(['list', '--json'], { timeoutMs: 30_000, homeDir: home })).stdout) as { state: string }[]
    await waitUntil(async () => (await listed())[0]?.state === 'seeding', 30_000, 'the torrent to seed')
    const connect = async (localAddress: string) => {
      const c = await connectWirePeer({ port, infoHash: b.infoHash, localAddress, extended: true })
      clients.push(c)
      return c
    }
    const first = await connect('127.0.0.1')
    assert.ok(await accepted(first), 'the first from 127.0.0.1 is kept')
    await first.until(() => first.extendedHandshake !== undefined, 'the extended handshake')
    assert.equal(first.extendedHandshake!.reqq, 32)
    assert.equal(await accepted(await connect('127.0.0.1')), false, 'a second from 127.0.0.1 is refused (per IP)')
    assert.ok(await accepted(await connect('127.0.0.2')), 'one from 127.0.0.2 is kept')
    assert.equal(await accepted(await connect('127.0.0.3')), false, 'a third in all is refused (total)')
  } finally {
    for (const c of clients) c.close()
    await seed.stop()
    await work.cleanup()
  }
})
