// Our seeder dials transmission-daemon 3.00 (utp-enabled) over uTP and it
// downloads byte for byte. Transmission never dials 127.0.0.0/8 peers, so our
// seeder reaches it through the tracker; it listens on TCP too, so the test
// checks that the connection that carried the data was uTP.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurSeeder, type OurPeer } from '../helpers/our-seeder.ts'
import { requireBinaries, startTransmissionLeecher } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex')

test('our seed dials transmission-daemon over uTP and it downloads byte for byte', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ['transmission-daemon', 'transmission-remote'])) return
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('utp-transmission')
  try {
    const b = buildTorrent({ name: 'to-tr.bin', files: 4 * 1024 * 1024 + 99, pieceLength: 64 * 1024, seed: 77, announce: [tracker.httpUrl] })
    const seedDir = join(work.path, 'seed')
    mkdirSync(seedDir, { recursive: true })
    writeFileSync(join(seedDir, 'to-tr.bin'), b.payload)
    const torrentPath = join(work.path, 'x.torrent')
    writeFileSync(torrentPath, b.torrent)
    // Transmission announces first, so our seeder hears of it in its first
    // announce: ours re-announces no sooner than 30 s.
    const outDir = join(work.path, 'out')
    const leecher = await startTransmissionLeecher({ torrentPath, dataDir: outDir, utp: true })
    let seeder: OurPeer | undefined
    const transports = new Set<string>()
    const look = () => {
      for (const p of seeder?.torrent.snapshot().peers ?? []) transports.add(p.transport)
    }
    const poll = setInterval(look, 50)
    try {
      try {
        await waitUntil(() => tracker.peerCount(b.infoHash.toString('hex')) >= 1, 15_000, 'transmission to announce to the tracker')
        seeder = await startOurSeeder({ torrentPath, dataDir: seedDir, utp: true })
        seeder.torrent.on('peerConnected', look)
        await leecher.waitComplete(90_000)
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- transmission log ---\n${leecher.logs().slice(-2000)}`)
      } finally {
        await leecher.stop()
      }
      assert.equal(sha1(readFileSync(join(outDir, 'to-tr.bin'))), sha1(b.payload))
      assert.ok(transports.has('utp'), `our seeder's peers went over ${[...transports].join(', ') || 'nothing'}, not uTP`)
    } finally {
      clearInterval(poll)
      await seeder?.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
