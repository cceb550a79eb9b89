// MSE/PE between our own leecher and seeder on loopback, through a relay that
// records what crosses the wire: every pairing of `prefer`, `require` and
// `off` that should work downloads byte for byte (encrypted where both allow
// it, the payload never visible in the clear), and the two that cannot meet
// (require ↔ off) are refused with one reported line. A plaintext-only peer
// still serves `prefer` and is refused by `require`.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { EncryptionPolicy } from '../../src/transport/encryption-policy.ts'
import type { EncryptionMode } from '../../src/transport/encryption-policy.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import type { BuiltTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'
import type { WirePeer, WirePeerOptions } from '../helpers/wire-peer.ts'

const PIECE_LENGTH = 32 * 1024
const WAIT_MS = 20_000
const PLAIN_START = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')])

/** A TCP relay to `port` that keeps the first bytes each connection sent each way. */
interface Relay {
  port: number
  connections: { up: Buffer; down: Buffer }[]
  close(): Promise<void>
}

const KEEP_BYTES = 256 * 1024

async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>()
  const connections: Relay['connections'] = []
  const server: Server = createServer((client) => {
    const record = { up: Buffer.alloc(0), down: Buffer.alloc(0) }
    connections.push(record)
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d: Buffer) => {
      if (record.up.length < KEEP_BYTES) record.up = Buffer.concat([record.up, d])
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      if (record.down.length < KEEP_BYTES) record.down = Buffer.concat([record.down, d])
      client.write(d)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    connections,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function writeSeedFiles(dir: string, b: BuiltTorrent): string {
  mkdirSync(join(dir, 'seed'), { recursive: true })
  writeFileSync(join(dir, 'seed', 'enc.bin'), b.payload)
  writeFileSync(join(dir, 'enc.torrent'), b.torrent)
  return join(dir, 'enc.torrent')
}

interface Refusal {
  side: 'leecher' | 'seeder'
  peer: string
  reason: string
}

function policy(mode: EncryptionMode, side: Refusal['side'], refusals: Refusal[]): EncryptionPolicy {
  const p = new EncryptionPolicy(mode)
  p.on('refused', (peer, reason) => refusals.push({ side, peer, reason }))
  return p
}

/** Our seeder in `seederMode`, our leecher in `leecherMode` dialling it through a relay. */
async function pair(
  seederMode: EncryptionMode,
  leecherMode: EncryptionMode,
  fn: (ctx: { seeder: OurPeer; leecher: OurPeer; relay: Relay; b: BuiltTorrent; refusals: Refusal[]; leechDir: string }) => Promise<void>,
): Promise<void> {
  const work = tempDir(`mse-${seederMode}-${leecherMode}`)
  const b = buildTorrent({ name: 'enc.bin', files: 8 * PIECE_LENGTH + 123, pieceLength: PIECE_LENGTH, seed: 5 })
  const refusals: Refusal[] = []
  let seeder: OurPeer | undefined
  let leecher: OurPeer | undefined
  let relay: Relay | undefined
  try {
    const torrentPath = writeSeedFiles(work.path, b)
    seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false, encryption: policy(seederMode, 'seeder', refusals) })
    relay = await startRelay(seeder.port)
    leecher = await startOurPeer({
      torrentPath,
      dataDir: join(work.path, 'leech'),
      useTrackers: false,
      peers: [{ host: '127.0.0.1', port: relay.port, source: 'manual' }],
      encryption: policy(leecherMode, 'leecher', refusals),
    })
    await fn({ seeder, leecher, relay, b, refusals, leechDir: join(work.path, 'leech') })
  } finally {
    await leecher?.stop()
    await seeder?.stop()
    await relay?.close()
    await work.cleanup()
  }
}

async function assertDownloaded(leecher: OurPeer, b: BuiltTorrent, dir: string): Promise<void> {
  await waitUntil(() => leecher.torrent.state === 'seeding', WAIT_MS, 'the leecher to complete')
  const got = await readFile(join(dir, 'enc.bin'))
  assert.ok(got.equals(b.payload), 'downloaded bytes equal the payload')
}

/** True when the recorded bytes are RC4: no plain handshake, and the first piece's bytes never appear. */
function encrypted(conn: { up: Buffer; down: Buffer }, b: BuiltTorrent): boolean {
  const sample = b.payload.subarray(0, 64)
  return !conn.up.subarray(0, 20).equals(PLAIN_START) && !conn.down.includes(sample) && !conn.up.includes(PLAIN_START) && !conn.down.includes(PLAIN_START)
}

const ENCRYPTED_PAIRS: [seeder: EncryptionMode, leecher: EncryptionMode][] = [
  ['prefer', 'prefer'],
  ['prefer', 'require'],
  ['require', 'prefer'],
  ['require', 'require'],
]

for (const [seederMode, leecherMode] of ENCRYPTED_PAIRS) {
  test(`seeder ${seederMode}, leecher ${leecherMode}: one RC4 connection, downloaded byte for byte`, async () => {
    await pair(seederMode, leecherMode, async ({ leecher, relay, b, refusals, leechDir }) => {
      await assertDownloaded(leecher, b, leechDir)
      assert.equal(relay.connections.length, 1)
      assert.ok(relay.connections[0].down.length > b.payload.length, 'the payload crossed this connection')
      assert.ok(encrypted(relay.connections[0], b), 'neither the handshake nor the payload is visible on the wire')
      assert.deepEqual(refusals, [])
    })
  })
}

test('seeder prefer, leecher off: plaintext, downloaded byte for byte', async () => {
  await pair('prefer', 'off', async ({ leecher, relay, b, refusals, leechDir }) => {
    await assertDownloaded(leecher, b, leechDir)
    assert.equal(relay.connections.length, 1)
    assert.ok(relay.connections[0].up.subarray(0, 20).equals(PLAIN_START))
    assert.ok(relay.connections[0].down.includes(b.payload.subarray(0, 64)), 'the payload is in the clear')
    assert.deepEqual(refusals, [])
  })
})

test('seeder off, leecher prefer: the MSE attempt is dropped, the leecher redials in plaintext and downloads', async () => {
  await pair('off', 'prefer', async ({ leecher, relay, b, refusals, leechDir }) => {
    await assertDownloaded(leecher, b, leechDir)
    assert.equal(relay.connections.length, 2, 'one MSE attempt, one plaintext connection')
    assert.ok(!relay.connections[0].up.subarray(0, 20).equals(PLAIN_START), 'first try: MSE')
    assert.ok(relay.connections[1].up.subarray(0, 20).equals(PLAIN_START), 'then plaintext')
    assert.deepEqual(refusals.map((r) => r.side), ['seeder'], 'the seeder reports the refused encrypted connection once')
    assert.match(refusals[0].reason, /^refused an encrypted connection: encryption is off$/)
  })
})

test('seeder off, leecher require: refused, one line from the leecher, nothing downloaded', async () => {
  await pair('off', 'require', async ({ leecher, relay, refusals }) => {
    await waitUntil(() => refusals.some((r) => r.side === 'leecher'), WAIT_MS, "the leecher's refusal")
    const fromLeecher = refusals.filter((r) => r.side === 'leecher')
    assert.equal(fromLeecher.length, 1)
    assert.equal(fromLeecher[0].peer, `127.0.0.1:${relay.port}`)
    assert.match(fromLeecher[0].reason, /^refused: no encrypted connection \(.*\) and encryption is required$/)
    assert.ok(!fromLeecher[0].reason.includes('\n'))
    assert.ok(relay.connections.every((c) => !c.up.subarray(0, 20).equals(PLAIN_START)), 'never a plaintext handshake')
    assert.equal(leecher.torrent.snapshot().verifiedBytes, 0)
  })
})

test('seeder require, leecher off: the plaintext connection is refused, one line from the seeder', async () => {
  await pair('require', 'off', async ({ leecher, relay, refusals }) => {
    await waitUntil(() => refusals.length > 0 && relay.connections.length > 0, WAIT_MS, "the seeder's refusal")
    assert.deepEqual(refusals.map((r) => [r.side, r.peer, r.reason]), [['seeder', '127.0.0.1', 'refused a plaintext connection: encryption is required']])
    assert.equal(leecher.torrent.snapshot().verifiedBytes, 0)
  })
})

interface WirePeerRun {
  leecher: OurPeer
  peer: WirePeer
  b: BuiltTorrent
  refusals: Refusal[]
  /** The leecher's download folder. */
  dir: string
}

/** Our leecher, encryption `mode`, dialling only a wire peer (options `peerOpts`) that serves a 4-piece torrent; `check` runs, then both stop. */
async function againstWirePeer(
  name: string,
  seed: number,
  mode: EncryptionMode,
  peerOpts: Partial<WirePeerOptions>,
  check: (run: WirePeerRun) => Promise<void>,
): Promise<void> {
  const work = tempDir(name)
  const b = buildTorrent({ name: 'enc.bin', files: 4 * PIECE_LENGTH, pieceLength: PIECE_LENGTH, seed })
  const refusals: Refusal[] = []
  const peer = await startWirePeer({ infoHash: b.infoHash, payload: b.payload, pieceLength: PIECE_LENGTH, ...peerOpts })
  let leecher: OurPeer | undefined
  try {
    writeFileSync(join(work.path, 'enc.torrent'), b.torrent)
    leecher = await startOurPeer({
      torrentPath: join(work.path, 'enc.torrent'),
      dataDir: join(work.path, 'leech'),
      useTrackers: false,
      peers: [{ host: peer.host, port: peer.port, source: 'manual' }],
      encryption: policy(mode, 'leecher', refusals),
    })
    await check({ leecher, peer, b, refusals, dir: join(work.path, 'leech') })
  } finally {
    await leecher?.stop()
    await peer.close()
    await work.cleanup()
  }
}

for (const mode of ['prefer', 'require'] as const) {
  test(`a plaintext-only peer: ${mode === 'prefer' ? 'prefer falls back and downloads' : 'require refuses it with one line'}`, () =>
    againstWirePeer(`mse-plain-only-${mode}`, 9, mode, {}, async ({ leecher, b, refusals, dir }) => {
      if (mode === 'prefer') {
        await assertDownloaded(leecher, b, dir)
        assert.deepEqual(refusals, [])
      } else {
        await waitUntil(() => refusals.length > 0, WAIT_MS, 'the refusal')
        assert.equal(refusals.length, 1)
        assert.match(refusals[0].reason, /closed the connection during the encryption handshake.*encryption is required/)
        assert.equal(leecher.torrent.snapshot().verifiedBytes, 0)
      }
    }))
}

test('prefer: a peer that drops us after its DH key is redialled once in plaintext and serves the download', () =>
  againstWirePeer('mse-drop-after-key', 11, 'prefer', { hostile: { mseKeyThenDrop: true } }, async ({ leecher, peer, b, refusals, dir }) => {
    await assertDownloaded(leecher, b, dir)
    assert.equal(peer.stats.mseDropped, 1, 'one MSE attempt got as far as the request and was dropped')
    assert.equal(peer.stats.connections, 2, 'then one plaintext connection')
    assert.deepEqual(refusals, [])
  }))

test('prefer: a peer that selects plaintext and sends its handshake with its crypto_select (as Transmission 3.00 does) gets ours first and serves the download', () =>
  againstWirePeer('mse-eager-plaintext', 12, 'prefer', { mseSelectsPlaintextEagerly: true }, async ({ leecher, peer, b, refusals, dir }) => {
    await assertDownloaded(leecher, b, dir)
    assert.equal(peer.stats.connections, 1, 'the one MSE connection served it')
    assert.deepEqual(refusals, [])
  }))
