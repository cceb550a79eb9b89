// BEP 11: our leecher knows only our seeder; the seeder's peer exchange names
// another peer (connected to the seeder, listening on its own port), and the
// leecher connects to it. No tracker or DHT is involved. The seeder never
// names the leecher its own address, so the leecher never dials itself.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { SELF_CONNECTION } from '../../src/peer/peer-connection.ts'
import { PEX_MIN_INTERVAL_MS } from '../../src/discovery/pex.ts'
import { FakeClock } from '../helpers/fake-clock.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'
import type { WirePeer } from '../helpers/wire-peer.ts'

interface Rig {
  work: TempDir
  torrentPath: string
  meta: Metainfo
  payload: Buffer
  stops: (() => Promise<void>)[]
}

async function rig(name: string): Promise<Rig> {
  const work = tempDir(`ft-pex-${name}`)
  const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 21 })
  const torrentPath = join(work.path, 'odd.torrent')
  writeFileSync(torrentPath, built.torrent)
  let offset = 0
  for (const f of ODD_LAYOUT) {
    mkdirSync(join(work.path, 'seed', 'odd', ...f.path.slice(0, -1)), { recursive: true })
    writeFileSync(join(work.path, 'seed', 'odd', ...f.path), built.payload.subarray(offset, offset + f.length))
    offset += f.length
  }
  return { work, torrentPath, meta: await parseTorrentFile(built.torrent), payload: built.payload, stops: [] }
}

async function teardown(r: Rig): Promise<void> {
  for (const stop of r.stops.reverse()) await stop()
  await r.work.cleanup()
}

/** A partial peer on 127.0.0.4 that dials the seeder and says (BEP 10 `p`) where it listens. */
async function otherPeer(r: Rig, seeder: OurPeer): Promise<WirePeer> {
  const other = await startWirePeer({ infoHash: r.meta.infoHash, payload: r.payload, pieceLength: r.meta.pieceLength, pieces: [0, 1, 2], host: '127.0.0.4', dial: { host: '127.0.0.1', port: seeder.port } })
  r.stops.push(other.close)
  return other
}

/** The leecher, dialling the seeder only; every attempt that never became a peer is recorded. */
async function leecherOf(r: Rig, seeder: OurPeer): Promise<{ leecher: OurPeer; failures: string[] }> {
  const leecher = await startOurPeer({ torrentPath: r.torrentPath, dataDir: join(r.work.path, 'leech'), useTrackers: false, peers: [{ host: '127.0.0.1', port: seeder.port, source: 'manual' }] })
  r.stops.push(leecher.stop)
  const failures: string[] = []
  leecher.torrent.on('peerFailed', (key, reason) => failures.push(`${key}: ${reason}`))
  return { leecher, failures }
}

function viaPex(leecher: OurPeer, other: WirePeer) {
  return leecher.torrent.snapshot().peers.find((p) => p.key === `127.0.0.4:${other.port}`)
}

function assertNeverSelf(failures: string[], leecher: OurPeer): void {
  assert.deepEqual(failures.filter((f) => f.includes(SELF_CONNECTION)), [], 'the leecher never dialled itself')
  assert.equal(leecher.torrent.snapshot().knownPeers, 2, 'the leecher knows the seeder and the PEX peer, not its own address')
}

test('PEX brings a peer that no tracker or DHT told us about', { timeout: 120_000 }, async () => {
  const r = await rig('brings')
  try {
    // Upload held back so the leecher is still downloading (still connected) when PEX comes:
    // a finished leecher leaves a seeder, both being seeds, and hears no more from it.
    const seeder = await startOurSeeder({ torrentPath: r.torrentPath, dataDir: join(r.work.path, 'seed'), useTrackers: false, uploadLimiter: new LimiterChain(new TokenBucket(96 * 1024, 32 * 1024)) })
    r.stops.push(seeder.stop)
    const other = await otherPeer(r, seeder)
    await waitUntil(() => seeder.torrent.snapshot().connectedPeers === 1, 10_000, 'the other peer is connected to the seeder')

    const { leecher, failures } = await leecherOf(r, seeder)
    // The seeder's first message goes as soon as it has someone to name: at the
    // leecher's extended handshake, or at its next tick if the other peer's
    // listen port had not arrived yet; never a message naming the leecher only.
    await waitUntil(() => viaPex(leecher, other) !== undefined, 60_000, 'the leecher connected to the peer only PEX named')
    assert.equal(viaPex(leecher, other)!.source, 'pex')
    assertNeverSelf(failures, leecher)
  } finally {
    await teardown(r)
  }
})

test('a peer that joins after the leecher is named at the seeder’s next tick, not a minute later', { timeout: 120_000 }, async () => {
  // The flake this guards: the seeder's first message to the leecher named only
  // the leecher itself and started BEP 11's minute, so a peer joining a moment
  // later waited for the next message (and a leecher that finished first never
  // heard of it). The seeder runs on a fake clock that never reaches that minute.
  const r = await rig('late')
  try {
    const clock = new FakeClock(Date.now())
    const seeder = await startOurSeeder({ torrentPath: r.torrentPath, dataDir: join(r.work.path, 'seed'), useTrackers: false, clock, uploadLimiter: new LimiterChain(new TokenBucket(32 * 1024, 64 * 1024, clock)) })
    r.stops.push(seeder.stop)
    const { leecher, failures } = await leecherOf(r, seeder)
    // Blocks served mean the seeder has read the leecher's extended handshake (sent before its interest).
    await waitUntil(() => leecher.torrent.snapshot().downloadedBytes > 0, 20_000, 'the leecher is downloading from the seeder')

    const other = await otherPeer(r, seeder)
    await waitUntil(() => seeder.torrent.snapshot().connectedPeers === 2, 10_000, 'the other peer is connected to the seeder')
    let advancedMs = 0
    await waitUntil(() => {
      if (viaPex(leecher, other)) return true
      // One of the seeder's ticks per poll, well short of the minute.
      if (advancedMs < PEX_MIN_INTERVAL_MS / 2) {
        clock.advance(1_000)
        advancedMs += 1_000
      }
      return false
    }, 30_000, 'the leecher connected to the late peer PEX named at the next tick')
    assert.ok(advancedMs < PEX_MIN_INTERVAL_MS, `the seeder's clock moved ${advancedMs} ms, under BEP 11's minute`)
    assert.equal(viaPex(leecher, other)!.source, 'pex')
    assert.notEqual(leecher.torrent.state, 'seeding', 'the leecher was still downloading: PEX, not luck, brought the peer')
    assertNeverSelf(failures, leecher)
  } finally {
    await teardown(r)
  }
})
