// BEP 11: our leecher knows only our seeder; the seeder's peer exchange names
// another peer (connected to the seeder, listening on its own port), and the
// leecher connects to it. No tracker or DHT is involved.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'
import { mkdirSync } from 'node:fs'

async function until(what: () => boolean, ms: number, label: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  assert.ok(what(), label)
}

test('PEX brings a peer that no tracker or DHT told us about', { timeout: 120_000 }, async () => {
  const work = tempDir('ft-pex')
  const stops: (() => Promise<void>)[] = []
  try {
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 21 })
    const torrentPath = join(work.path, 'odd.torrent')
    writeFileSync(torrentPath, built.torrent)
    const meta = await parseTorrentFile(built.torrent)
    let offset = 0
    for (const f of ODD_LAYOUT) {
      mkdirSync(join(work.path, 'seed', 'odd', ...f.path.slice(0, -1)), { recursive: true })
      writeFileSync(join(work.path, 'seed', 'odd', ...f.path), built.payload.subarray(offset, offset + f.length))
      offset += f.length
    }
    const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false })
    stops.push(seeder.stop)
    // A partial peer on its own address that dials the seeder and says where it listens.
    const other = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength, pieces: [0, 1, 2], host: '127.0.0.4', dial: { host: '127.0.0.1', port: seeder.port } })
    stops.push(other.close)
    await until(() => seeder.torrent.snapshot().connectedPeers === 1, 10_000, 'the other peer is connected to the seeder')

    const leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, 'leech'), useTrackers: false, peers: [{ host: '127.0.0.1', port: seeder.port, source: 'manual' }] })
    stops.push(leecher.stop)
    const viaPex = () => leecher.torrent.snapshot().peers.find((p) => p.key === `127.0.0.4:${other.port}`)
    // Usually the seeder's first PEX message (sent at the leecher's extended
    // handshake) names the other peer. Under load that message can go before
    // the seeder has the other peer's listen port (its extended handshake);
    // BEP 11 then allows the next message only a minute later.
    await until(() => viaPex() !== undefined, 75_000, 'the leecher connected to the peer only PEX named')
    assert.equal(viaPex()!.source, 'pex')
  } finally {
    for (const stop of stops.reverse()) await stop()
    await work.cleanup()
  }
})
