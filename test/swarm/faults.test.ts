// Faults around a running session, all on 127.0.0.1: trackers that are down,
// refuse or answer garbage; a DHT whose bootstrap node never answers; a peer
// leaving mid-piece; a full disk (a tiny tmpfs); a save folder deleted while
// seeding. Each time the fault is reported in one line, the torrent it hits
// loses no verified piece, and every other torrent goes on.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { BLOCK_SIZE } from '../../src/core/types.ts'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Session, TorrentSummary } from '../../src/session/session.ts'
import { StateStore } from '../../src/session/state-store.ts'
import { checkPieces } from '../../src/storage/check.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { buildTorrent, type BuiltTorrent, type TestFile } from '../helpers/make-torrent.ts'
import { freePort, tempDir, waitFor, waitUntil } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder, type OurPeer } from '../helpers/our-seeder.ts'
import { fixedReplyTracker, startTracker } from '../helpers/tracker.ts'
import { openTestSession } from '../helpers/session.ts'
import { TickCountingClock } from '../helpers/fake-clock.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const WAIT_MS = 30_000

/** Writes a built torrent's payload under `dir` (files of a multi-file torrent in its folder) and the .torrent beside it. */
function writeTorrent(built: BuiltTorrent, name: string, files: TestFile[] | undefined, dir: string): string {
  mkdirSync(dir, { recursive: true })
  if (!files) writeFileSync(join(dir, name), built.payload)
  let at = 0
  for (const f of files ?? []) {
    mkdirSync(join(dir, name, ...f.path.slice(0, -1)), { recursive: true })
    writeFileSync(join(dir, name, ...f.path), built.payload.subarray(at, at + f.length))
    at += f.length
  }
  const torrentPath = join(dir, `${name}.torrent`)
  writeFileSync(torrentPath, built.torrent)
  return torrentPath
}

function summaryOf(session: Session, name: string): TorrentSummary {
  const s = session.list().find((t) => t.name === name)
  assert.ok(s, `${name} is in the session`)
  return s
}

function completed(session: Session, name: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (s: TorrentSummary) => {
      if (s.name !== name) return
      session.off('completed', on)
      resolve()
    }
    session.on('completed', on)
  })
}

test('trackers that refuse, answer garbage or are down: each is one trackerError line with a 30 s retry, and the torrent completes from the working tracker in the last tier', { timeout: 60_000 }, async () => {
  const work = tempDir('faults-trackers')
  const refusing = await fixedReplyTracker('d14:failure reason12:not allowed!e')
  const garbage = await fixedReplyTracker('<html><body>503 backend down</body></html>')
  const deadPort = await freePort()
  const dead = `http://127.0.0.1:${deadPort}/announce`
  const tracker = await startTracker()
  let seeder: OurPeer | undefined
  let session: Session | undefined
  try {
    const built = buildTorrent({ name: 'tiers.bin', files: 1_000_000, pieceLength: 32 * 1024, announce: [refusing.url, garbage.url, dead, tracker.httpUrl], seed: 31 })
    const torrentPath = writeTorrent(built, 'tiers.bin', undefined, join(work.path, 'seed'))
    seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed') })
    await tracker.waitForSeeders(seeder.meta.infoHashHex, 1, WAIT_MS)
    session = await openTestSession(join(work.path, 'state'))
    const errors: { url: string; message: string; retryAtMs: number; atMs: number }[] = []
    session.on('trackerError', (name, info) => {
      assert.equal(name, 'tiers.bin')
      errors.push({ ...info, atMs: Date.now() })
    })
    await session.start()
    const done = completed(session, 'tiers.bin')
    await session.add(built.torrent, join(work.path, 'out'))
    await done
    assert.ok(readFileSync(join(work.path, 'out', 'tiers.bin')).equals(built.payload), 'the download is byte-identical')
    const byUrl = new Map(errors.map((e) => [e.url, e]))
    assert.equal(byUrl.get(refusing.url)?.message, 'tracker refused the announce: not allowed!')
    assert.match(byUrl.get(garbage.url)?.message ?? '', /^tracker sent a reply that is not bencoded \(starts with "<html>/)
    assert.equal(byUrl.get(dead)?.message, `cannot connect to tracker 127.0.0.1:${deadPort} (connection refused)`)
    assert.equal(byUrl.has(tracker.httpUrl), false, 'the working tracker reported no error')
    for (const e of errors) {
      assert.doesNotMatch(e.message, /\n/, 'one line')
      // BEP-12 walk, first failure of each: 15 s · 2¹ = 30 s until the next try.
      const waitMs = e.retryAtMs - e.atMs
      assert.ok(waitMs > 25_000 && waitMs <= 30_000, `${e.url} retries in 30 s, not ${waitMs} ms`)
    }
  } finally {
    await session?.close()
    await seeder?.stop()
    await tracker.close()
    await refusing.close()
    await garbage.close()
    await work.cleanup()
  }
})

test('a DHT whose bootstrap node never answers: the session starts, the torrent downloads from its tracker, and it closes cleanly', { timeout: 60_000 }, async () => {
  const work = tempDir('faults-dht')
  const silent = createSocket('udp4')
  let datagrams = 0
  silent.on('message', () => datagrams++) // heard, never answered
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  const tracker = await startTracker()
  let seeder: OurPeer | undefined
  let session: Session | undefined
  try {
    const built = buildTorrent({ name: 'nodht.bin', files: 700_000, pieceLength: 32 * 1024, announce: [tracker.httpUrl], seed: 32 })
    const torrentPath = writeTorrent(built, 'nodht.bin', undefined, join(work.path, 'seed'))
    seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed') })
    await tracker.waitForSeeders(seeder.meta.infoHashHex, 1, WAIT_MS)
    const stateDir = join(work.path, 'state')
    const warnings: string[] = []
    session = await openTestSession(stateDir, {
      startDht: async (port, socket) => {
        const node = new DhtNode({ port, host: '127.0.0.1', bootstrap: [`127.0.0.1:${silent.address().port}`], stateFile: join(stateDir, 'dht.json'), socket })
        node.on('warning', (m) => warnings.push(m))
        await node.start()
        return node
      },
    })
    session.on('warning', (m) => warnings.push(m))
    await session.start()
    const done = completed(session, 'nodht.bin')
    await session.add(built.torrent, join(work.path, 'out'))
    await done
    assert.ok(readFileSync(join(work.path, 'out', 'nodht.bin')).equals(built.payload), 'the download is byte-identical')
    assert.ok(datagrams > 0, 'the DHT did try its bootstrap node')
    assert.equal(session.dhtNodes, 0, 'and found no node')
    assert.equal(summaryOf(session, 'nodht.bin').error, null)
    // Close must not wait on the silent node: a hang fails at this test's timeout (no wall-clock bound here).
    await session.close()
    session = undefined
  } finally {
    await session?.close()
    await seeder?.stop()
    await tracker.close()
    await new Promise<void>((resolve) => silent.close(() => resolve()))
    await work.cleanup()
  }
})

test('a peer leaving mid-piece: nothing of the half piece reaches the disk, its missing blocks come from another seeder, and the file is byte-identical', { timeout: 60_000 }, async () => {
  const work = tempDir('faults-midpiece')
  const pieceLength = 256 * 1024 // 16 blocks
  const built = buildTorrent({ name: 'half.bin', files: 8 * pieceLength, pieceLength, seed: 33 })
  const torrentPath = writeTorrent(built, 'half.bin', undefined, join(work.path, 'seed'))
  const quitter = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength, closeAfterBlocks: 8 })
  let seeder: OurPeer | undefined
  let leecher: OurPeer | undefined
  try {
    const out = join(work.path, 'out')
    leecher = await startOurPeer({ torrentPath, dataDir: out, useTrackers: false })
    const left = waitFor<string>(leecher.torrent, 'peerDisconnected', WAIT_MS)
    leecher.torrent.addPeers([{ host: quitter.host, port: quitter.port, source: 'manual' }])
    await left
    await quitter.close() // gone for good: it is not dialled again
    assert.equal(quitter.stats.blocksServed, 8, 'the peer sent half a piece, then closed')
    assert.equal(leecher.torrent.snapshot().piecesVerified, 0)
    await leecher.torrent.flush()
    // Files are made by their first write: none at all, or only zeros.
    assert.ok(!existsSync(join(out, 'half.bin')) || readFileSync(join(out, 'half.bin')).every((b) => b === 0), 'no unverified block was written')

    seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed'), useTrackers: false })
    const done = waitFor(leecher.torrent, 'complete', WAIT_MS)
    leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
    await done
    assert.ok(readFileSync(join(out, 'half.bin')).equals(built.payload), 'the file is byte-identical')
    const snap = leecher.torrent.snapshot()
    assert.equal(snap.wastedBytes, 0)
    // The 8 blocks received stayed in memory with their piece; the seeder sent everything else, once.
    assert.equal(seeder.torrent.snapshot().uploadedBytes, built.payload.length - 8 * BLOCK_SIZE)
  } finally {
    await leecher?.stop()
    await seeder?.stop()
    await quitter.close().catch(() => {})
    await work.cleanup()
  }
})

const isRoot = process.getuid?.() === 0
/** Root only (mount); skipped elsewhere, but under CI (which runs as root) a missing root fails rather than skips. */
const NEEDS_ROOT = isRoot || process.env.CI ? false : 'needs root to mount a small tmpfs (CI runs as root)'

/** A tmpfs of `size` on `dir`, unmounted after the test even if it times out. */
function mountTmpfs(t: TestContext, dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  t.after(() => unmount(dir))
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', ['--lazy', dir], { stdio: 'ignore' })
  } catch {
    // already unmounted
  }
}

test('disk full: the torrent on the full disk goes to error with one line, the other completes, and once space is freed it resumes on its own with no verified piece lost', { timeout: 90_000, skip: NEEDS_ROOT }, async (t) => {
  assert.ok(isRoot, 'this test mounts a tmpfs and needs root; CI must run the suite as root')
  const work = tempDir('faults-enospc')
  const tiny = join(work.path, 'tiny')
  mkdirSync(tiny)
  mountTmpfs(t, tiny, '1m')
  const tracker = await startTracker()
  const seeders: OurPeer[] = []
  let session: Session | undefined
  try {
    const pieceLength = 64 * 1024
    const a = buildTorrent({ name: 'big-a.bin', files: 3 * 1024 * 1024, pieceLength, announce: [tracker.httpUrl], seed: 41 })
    const b = buildTorrent({ name: 'b.bin', files: 2 * 1024 * 1024, pieceLength, announce: [tracker.httpUrl], seed: 42 })
    for (const [built, name] of [[a, 'big-a.bin'], [b, 'b.bin']] as const) {
      const dir = join(work.path, `seed-${name}`)
      seeders.push(await startOurSeeder({ torrentPath: writeTorrent(built, name, undefined, dir), dataDir: dir }))
    }
    for (const s of seeders) await tracker.waitForSeeders(s.meta.infoHashHex, 1, WAIT_MS)
    const stateDir = join(work.path, 'state')
    const clock = new TickCountingClock()
    session = await openTestSession(stateDir, { diskFullRetryMs: 300, clock })
    const errors: TorrentSummary[] = []
    session.on('error', (s) => errors.push(s))
    let resumedWith = -1
    session.on('resumed', (s) => {
      if (s.name === 'big-a.bin') resumedWith = Math.round(s.progress * a.payload.length / pieceLength)
    })
    await session.start()
    const aFailed = waitFor<TorrentSummary>(session, 'error', WAIT_MS)
    const bDone = completed(session, 'b.bin')
    const aDone = completed(session, 'big-a.bin')
    let mostSeen = 0
    const watch = setInterval(() => {
      const s = session!.list().find((t) => t.name === 'big-a.bin')
      if (s?.state === 'downloading') mostSeen = Math.max(mostSeen, Math.round(s.progress * a.payload.length / pieceLength))
    }, 20)
    try {
      await session.add(a.torrent, tiny)
      await session.add(b.torrent, join(work.path, 'out'))
      const failure = await aFailed
      assert.equal(failure.name, 'big-a.bin')
      assert.equal(failure.state, 'error')
      assert.equal(failure.error, `disk full writing ${join(tiny, 'big-a.bin')} (no space left): free space in ${tiny} and it resumes`)
      assert.equal(summaryOf(session, 'big-a.bin').state, 'error')
      await bDone
      assert.ok(readFileSync(join(work.path, 'out', 'b.bin')).equals(b.payload), 'the other torrent completed, byte-identical')
    } finally {
      clearInterval(watch)
    }
    // What it had verified when it stopped is in its resume data.
    const store = await StateStore.open(stateDir)
    const saved = await store.loadResume(a.infoHash.toString('hex'))
    assert.ok(saved, 'resume data was saved when the disk filled')
    const savedCount = [...saved.bitfield].reduce((n, byte) => n + popcount(byte), 0)
    assert.ok(savedCount > 0 && savedCount >= mostSeen, `resume data holds the ${savedCount} verified pieces (at least the ${mostSeen} seen)`)
    // Three more disk-space checks (each started a period after the last) found the disk still full.
    const checks = clock.ticks(300)
    await waitUntil(() => clock.ticks(300) >= checks + 3, WAIT_MS, 'three more disk-space checks')
    assert.equal(summaryOf(session, 'big-a.bin').state, 'error', 'no retry while the disk is still full')

    execFileSync('mount', ['-o', 'remount,size=8m', tiny])
    await aDone
    assert.equal(resumedWith, savedCount, 'every piece verified before the disk filled was still verified after the resume')
    assert.ok(readFileSync(join(tiny, 'big-a.bin')).equals(a.payload), 'the torrent on the freed disk completed, byte-identical')
    assert.equal(summaryOf(session, 'big-a.bin').error, null)
    assert.equal(errors.length, 1, `one error, for the torrent on the full disk: ${JSON.stringify(errors.map((e) => [e.name, e.error, e.progress]))}`)
  } finally {
    await session?.close()
    for (const s of seeders) await s.stop()
    await tracker.close()
    unmount(tiny)
    await work.cleanup()
  }
})

test('a read-only disk (EROFS): error with the reason, no retry on its own even with space free; resume by hand completes it', { timeout: 60_000, skip: NEEDS_ROOT }, async (t) => {
  assert.ok(isRoot, 'this test mounts a tmpfs and needs root; CI must run the suite as root')
  const work = tempDir('faults-erofs')
  const ro = join(work.path, 'ro')
  mkdirSync(ro)
  mountTmpfs(t, ro, '4m')
  execFileSync('mount', ['-o', 'remount,ro', ro])
  const tracker = await startTracker()
  let seeder: OurPeer | undefined
  let session: Session | undefined
  try {
    const built = buildTorrent({ name: 'ro.bin', files: 1_000_000, pieceLength: 32 * 1024, announce: [tracker.httpUrl], seed: 43 })
    const dir = join(work.path, 'seed')
    seeder = await startOurSeeder({ torrentPath: writeTorrent(built, 'ro.bin', undefined, dir), dataDir: dir })
    await tracker.waitForSeeders(seeder.meta.infoHashHex, 1, WAIT_MS)
    const clock = new TickCountingClock()
    session = await openTestSession(join(work.path, 'state'), { diskFullRetryMs: 100, clock })
    await session.start()
    const failed = waitFor<TorrentSummary>(session, 'error', WAIT_MS)
    await session.add(built.torrent, ro)
    const failure = await failed
    assert.match(failure.error ?? '', /EROFS \(read-only file system\)/)
    assert.doesNotMatch(failure.error ?? '', /\n|resumes/)
    execFileSync('mount', ['-o', 'remount,rw', ro])
    const checks = clock.ticks(100)
    await waitUntil(() => clock.ticks(100) >= checks + 3, WAIT_MS, 'three disk-space checks with the disk writable')
    assert.equal(summaryOf(session, 'ro.bin').state, 'error', 'only a full disk is retried on its own')
    const done = completed(session, 'ro.bin')
    await session.resume(failure.infoHash)
    await done
    assert.ok(readFileSync(join(ro, 'ro.bin')).equals(built.payload), 'byte-identical once resumed by hand')
  } finally {
    await session?.close()
    await seeder?.stop()
    await tracker.close()
    unmount(ro)
    await work.cleanup()
  }
})

test('the save folder deleted under a seeding torrent: error "data missing", nothing recreated or served as data, the other torrent keeps seeding, verify finds the pieces missing', { timeout: 60_000 }, async () => {
  const work = tempDir('faults-deleted')
  let session: Session | undefined
  const leechers: OurPeer[] = []
  try {
    const files: TestFile[] = [{ path: ['one.bin'], length: 600_000 }, { path: ['sub', 'two.bin'], length: 500_000 }]
    const gone = buildTorrent({ name: 'gone', files, pieceLength: 32 * 1024, seed: 51 })
    const kept = buildTorrent({ name: 'kept.bin', files: 900_000, pieceLength: 32 * 1024, seed: 52 })
    const goneDir = join(work.path, 'gone-seed')
    const keptDir = join(work.path, 'kept-seed')
    const gonePath = writeTorrent(gone, 'gone', files, goneDir)
    const keptPath = writeTorrent(kept, 'kept.bin', undefined, keptDir)
    session = await openTestSession(join(work.path, 'state'), { download: false })
    await session.start()
    await session.add(gone.torrent, goneDir)
    await session.add(kept.torrent, keptDir)
    await waitUntil(() => session!.list().every((t) => t.state === 'seeding'), WAIT_MS, 'both torrents seeding')

    rmSync(join(goneDir, 'gone'), { recursive: true })
    const failed = waitFor<TorrentSummary>(session, 'error', WAIT_MS)
    const failedPieces: number[] = []
    const goneLeecher = await startOurPeer({ torrentPath: gonePath, dataDir: join(work.path, 'gone-leech'), useTrackers: false, peers: [{ host: '127.0.0.1', port: session.port, source: 'manual' }] })
    leechers.push(goneLeecher)
    goneLeecher.torrent.on('pieceFailed', (i) => failedPieces.push(i))
    const failure = await failed
    assert.equal(failure.name, 'gone')
    assert.equal(failure.error, `data missing: ${join(goneDir, 'gone')}; verify or remove`)
    assert.equal(summaryOf(session, 'gone').state, 'error')
    assert.equal(existsSync(join(goneDir, 'gone')), false, 'nothing was recreated in the deleted folder')
    assert.deepEqual(failedPieces, [], 'no zero-filled piece was served as data')

    // The other torrent in the session still seeds.
    const keptLeecher = await startOurPeer({ torrentPath: keptPath, dataDir: join(work.path, 'kept-leech'), useTrackers: false, peers: [{ host: '127.0.0.1', port: session.port, source: 'manual' }] })
    leechers.push(keptLeecher)
    if (keptLeecher.torrent.state !== 'seeding') await waitFor(keptLeecher.torrent, 'complete', WAIT_MS)
    assert.ok(readFileSync(join(work.path, 'kept-leech', 'kept.bin')).equals(kept.payload), 'the other torrent was served, byte-identical')
    assert.equal(summaryOf(session, 'kept.bin').state, 'seeding')

    // verify: the check runs over the (recreated, empty) files and finds no piece.
    const checked = new Promise<TorrentSummary>((resolve) => {
      const on = (s: TorrentSummary) => {
        if (s.name !== 'gone' || s.state !== 'downloading') return
        session!.off('state', on)
        resolve(s)
      }
      session!.on('state', on)
    })
    await session.verify(failure.infoHash)
    assert.equal((await checked).progress, 0, 'verify found every piece missing')
    await waitUntil(() => summaryOf(session!, 'gone').state === 'queued', WAIT_MS, 'gone waits for a download (the session does not download)')
    const meta = await parseTorrentFile(gone.torrent)
    const storage = await FileStorage.open(meta, goneDir)
    try {
      assert.equal((await checkPieces(storage, meta)).count(), 0, 'no piece on disk checks out')
    } finally {
      await storage.close()
    }
  } finally {
    for (const l of leechers) await l.stop()
    await session?.close()
    await work.cleanup()
  }
})

test('a restart trusts resume data without looking at a file: one deleted while stopped still resumes with every piece and is not recreated; its first read is "data missing". A fresh add creates the zero-length files', { timeout: 60_000 }, async () => {
  const work = tempDir('faults-trusted')
  let session: Session | undefined
  let leecher: OurPeer | undefined
  try {
    const files: TestFile[] = [{ path: ['one.bin'], length: 300_000 }, { path: ['sub', 'two.bin'], length: 200_000 }, { path: ['sub', 'empty', 'none.txt'], length: 0 }]
    const built = buildTorrent({ name: 'trusted', files, pieceLength: 32 * 1024, seed: 53 })
    const dataDir = join(work.path, 'seed')
    const torrentPath = writeTorrent(built, 'trusted', files, dataDir)
    const empty = join(dataDir, 'trusted', 'sub', 'empty')
    rmSync(empty, { recursive: true })
    const stateDir = join(work.path, 'state')
    session = await openTestSession(stateDir, { download: false })
    await session.start()
    await session.add(built.torrent, dataDir)
    await waitUntil(() => session!.list()[0]?.state === 'seeding', WAIT_MS, 'checked and seeding')
    assert.equal(statSync(join(empty, 'none.txt')).size, 0, 'the zero-length file was made by the first start')
    await session.close()

    const two = join(dataDir, 'trusted', 'sub', 'two.bin')
    rmSync(two)
    session = await openTestSession(stateDir, { download: false })
    const trusted: number[] = []
    session.on('resumed', (_summary, pieces) => trusted.push(pieces))
    await session.start()
    await waitUntil(() => trusted.length === 1 && summaryOf(session!, 'trusted').state === 'seeding', WAIT_MS, 'resumed and seeding')
    const pieceCount = Math.ceil(built.payload.length / (32 * 1024))
    assert.deepEqual(trusted, [pieceCount], 'every piece taken from resume data: the missing file was not looked at')
    assert.equal(existsSync(two), false, 'nothing recreated at the start')

    const failed = waitFor<TorrentSummary>(session, 'error', WAIT_MS)
    leecher = await startOurPeer({ torrentPath, dataDir: join(work.path, 'leech'), useTrackers: false, peers: [{ host: '127.0.0.1', port: session.port, source: 'manual' }] })
    const failure = await failed
    assert.equal(failure.error, `data missing: ${two}; verify or remove`)
    assert.equal(summaryOf(session, 'trusted').state, 'error')
    assert.equal(existsSync(two), false, 'the read did not recreate it')
  } finally {
    await leecher?.stop()
    await session?.close()
    await work.cleanup()
  }
})

function popcount(byte: number): number {
  let n = 0
  for (let b = byte; b; b >>= 1) n += b & 1
  return n
}
