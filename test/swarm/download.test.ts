// Our download task against seeding peers on loopback: a multi-file torrent
// with an awkward layout, one honest seeder and one that corrupts pieces.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { newPeerId } from '../../src/core/peer-id.ts'
import { BLOCK_SIZE } from '../../src/core/types.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { runStepped, steppedLimit } from '../helpers/stepped-limit.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ft-swarm-'))
  try {
    await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function waitForEvent(torrent: Torrent, ms: number): Promise<'complete'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`download did not complete within ${ms} ms: ${JSON.stringify({ ...torrent.snapshot(), peers: undefined })}`)), ms)
    torrent.once('complete', () => {
      clearTimeout(timer)
      resolve('complete')
    })
    torrent.once('error', (message) => {
      clearTimeout(timer)
      reject(new Error(message))
    })
  })
}

async function assertFilesMatch(saveDir: string, name: string, payload: Buffer): Promise<void> {
  let offset = 0
  for (const f of ODD_LAYOUT) {
    const file = join(saveDir, name, ...f.path)
    const data = await readFile(file)
    assert.equal(data.length, f.length, `${f.path.join('/')} length`)
    assert.ok(data.equals(payload.subarray(offset, offset + f.length)), `${f.path.join('/')} content`)
    offset += f.length
  }
}

test('downloads an odd multi-file layout from two seeders, byte for byte', async () => {
  await withTempDir(async (dir) => {
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024 })
    const meta = await parseTorrentFile(built.torrent)
    const seeders = await Promise.all([
      startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength }),
      startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength, host: '127.0.0.2' }),
    ])
    const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false })
    try {
      const done = waitForEvent(torrent, 20_000)
      torrent.addPeers(seeders.map((s) => ({ host: s.host, port: s.port, source: 'manual' as const })))
      await torrent.start()
      await done
      const snap = torrent.snapshot()
      assert.equal(snap.state, 'seeding')
      assert.equal(snap.piecesVerified, meta.pieceCount)
      assert.ok(seeders[0].stats.blocksServed > 0 && seeders[1].stats.blocksServed > 0, 'both seeders were used')
    } finally {
      await torrent.stop()
      await Promise.all(seeders.map((s) => s.close()))
    }
    await assertFilesMatch(dir, 'odd', built.payload)
    assert.equal((await stat(join(dir, 'odd', 'empty.txt'))).size, 0)
  })
})

test('a seeder sending corrupt pieces is struck and banned; the download completes correctly', async () => {
  await withTempDir(async (dir) => {
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 16 * 1024, seed: 99 })
    const meta = await parseTorrentFile(built.torrent)
    const corrupt = new Set(Array.from({ length: meta.pieceCount }, (_, i) => i).filter((i) => i % 2 === 0))
    const honest = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength })
    const liar = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength, corruptPieces: corrupt, host: '127.0.0.2' })
    const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false, maxStrikes: 2 })
    const failed: { index: number; peers: string[] }[] = []
    const banned: string[] = []
    torrent.on('pieceFailed', (index, peers) => failed.push({ index, peers }))
    torrent.on('peerBanned', (host) => banned.push(host))
    try {
      const done = waitForEvent(torrent, 20_000)
      torrent.addPeers([
        { host: '127.0.0.2', port: liar.port, source: 'manual' },
        { host: '127.0.0.1', port: honest.port, source: 'manual' },
      ])
      await torrent.start()
      await done
    } finally {
      await torrent.stop()
      await Promise.all([honest.close(), liar.close()])
    }
    assert.ok(liar.stats.corruptBlocksServed > 0, 'the liar did send corrupt data')
    assert.ok(failed.length >= 1, 'corrupt pieces were caught by the hash check')
    for (const f of failed) assert.ok(corrupt.has(f.index), `piece ${f.index} failed but was not corrupted`)
    assert.ok(failed.every((f) => f.peers.some((p) => p.startsWith('127.0.0.2:'))), 'the liar is among the peers struck')
    assert.ok(failed.every((f) => f.peers.every((p) => p.startsWith('127.0.0.2:') || f.peers.length > 1)), 'the honest peer is only struck alongside the liar')
    assert.deepEqual(banned, ['127.0.0.2'])
    await assertFilesMatch(dir, 'odd', built.payload)
  })
})

test('complete data on disk is verified and needs no peer', async () => {
  await withTempDir(async (dir) => {
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 5 })
    const meta = await parseTorrentFile(built.torrent)
    const seeder = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength })
    const first = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false })
    const done = waitForEvent(first, 20_000)
    first.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
    await first.start()
    await done
    await first.stop()
    await seeder.close()

    const second = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false })
    const again = waitForEvent(second, 10_000)
    await second.start()
    await again
    assert.equal(second.snapshot().downloadedBytes, 0)
    assert.equal(second.snapshot().piecesVerified, meta.pieceCount)
    await second.stop()
  })
})

test('a peer that takes requests and never answers is snubbed; its blocks are fetched from another peer', async () => {
  await withTempDir(async (dir) => {
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 3 })
    const meta = await parseTorrentFile(built.torrent)
    const silent = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength, silent: true, host: '127.0.0.3' })
    const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false, requestTimeoutMs: 1500 })
    let honest: Awaited<ReturnType<typeof startWirePeer>> | undefined
    try {
      const done = waitForEvent(torrent, 20_000)
      torrent.addPeers([{ host: '127.0.0.3', port: silent.port, source: 'manual' }])
      await torrent.start()
      // Let the silent peer swallow a pipeline of requests before an honest one appears.
      const deadline = Date.now() + 5000
      while (silent.stats.requests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      assert.ok(silent.stats.requests > 0, 'the silent peer was asked for blocks')
      const requestsBefore = silent.stats.requests
      const silentPeer = () => torrent.snapshot().peers.find((p) => p.key.startsWith('127.0.0.3:'))
      const snubDeadline = Date.now() + 6000
      while (!silentPeer()?.snubbed && Date.now() < snubDeadline) await new Promise((r) => setTimeout(r, 50))
      assert.ok(silentPeer()?.snubbed, 'the silent peer is snubbed after the request timeout')
      assert.ok(silentPeer()!.outstanding <= 1, `a snubbed peer keeps at most one request, has ${silentPeer()!.outstanding}`)
      assert.ok(requestsBefore >= 32, `it had a pipeline of requests (${requestsBefore}) before`)
      honest = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength })
      torrent.addPeers([{ host: '127.0.0.1', port: honest.port, source: 'manual' }])
      await done
    } finally {
      await torrent.stop()
      await silent.close()
      await honest?.close()
    }
    await assertFilesMatch(dir, 'odd', built.payload)
  })
})

test('a download limit paces our requests: on the limiter\'s clock, never faster than the limit and no slower', async () => {
  await withTempDir(async (dir) => {
    // One block per piece, so every request costs the limiter one block's worth.
    const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: BLOCK_SIZE, seed: 8 })
    const meta = await parseTorrentFile(built.torrent)
    const limit = steppedLimit(256 * 1024)
    const stepMs = 250
    const seeder = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: meta.pieceLength })
    const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false, downloadLimiter: limit.limiter })
    let complete = false
    let failure: string | undefined
    torrent.once('complete', () => (complete = true))
    torrent.once('error', (message) => (failure = message))
    try {
      torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
      await torrent.start()
      const { steps, doneAtMs } = await runStepped(limit, {
        stepMs,
        done: () => complete || failure !== undefined,
        // Every request granted has been served (the seeder counts what it sent).
        settled: () => seeder.stats.blocksServed === limit.limiter.grants,
        moved: () => seeder.stats.blocksServed * BLOCK_SIZE,
        describe: () => JSON.stringify({ ...torrent.snapshot(), peers: undefined, seeder: seeder.stats }),
      })
      assert.equal(failure, undefined)
      // Never faster: what the seeder sent never exceeds the burst plus the rate times the limiter's time.
      for (const step of steps) {
        const allowed = limit.burstBytes + (limit.rateBytesPerSec * step.atMs) / 1000
        assert.ok(step.movedBytes <= allowed, `${step.movedBytes} bytes served by ${step.atMs} ms, the limit allows ${allowed}`)
      }
      // No slower: the torrent took each step's tokens at once, so it finished when the limit allowed.
      const needMs = ((meta.pieceCount * BLOCK_SIZE - limit.burstBytes) / limit.rateBytesPerSec) * 1000
      assert.ok(doneAtMs >= needMs - stepMs && doneAtMs <= needMs + 2 * stepMs, `done at ${doneAtMs} ms on the limiter's clock, the limit allows ${Math.round(needMs)}`)
      assert.equal(seeder.stats.blocksServed, meta.pieceCount, 'every block was requested once')
    } finally {
      await torrent.stop()
      await seeder.close()
    }
    await assertFilesMatch(dir, 'odd', built.payload)
  })
})
