// kill -9 during a download, then restart: the pieces saved in resume data are
// trusted (no re-hash, no file looked at), only what was verified after the
// last save or in flight is fetched again, and the files come out correct. Then the same
// through twenty-odd kills at random moments: no verified piece is ever lost
// and the resume data never claims a piece the disk does not hold.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildTorrent, type TestFile } from '../helpers/make-torrent.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startTracker } from '../helpers/tracker.ts'
import { readFileSync } from 'node:fs'
import { Bitfield } from '../../src/core/bitfield.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { StateStore } from '../../src/session/state-store.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

test('kill -9 mid-download, restart: resume data is trusted; only pieces after its last save are fetched again', { timeout: 120_000 }, async () => {
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('ft-crash')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const configFile = join(home, '.config', 'friendtorrent', 'config.json')
  const files: TestFile[] = Array.from({ length: 96 }, (_, i) => ({ path: [`part-${String(i).padStart(2, '0')}.bin`], length: 256 * 1024 }))
  const built = buildTorrent({ name: 'many', files, pieceLength: 64 * 1024, announce: [tracker.httpUrl], seed: 77 })
  const torrentPath = join(work.path, 'many.torrent')
  writeFileSync(torrentPath, built.torrent)
  let offset = 0
  for (const f of files) {
    mkdirSync(join(work.path, 'seed', 'many'), { recursive: true })
    writeFileSync(join(work.path, 'seed', 'many', ...f.path), built.payload.subarray(offset, offset + f.length))
    offset += f.length
  }
  const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed') })
  const out = join(work.path, 'out')
  // Each run listens on a port of its own: the seeder holds the killed run's uTP
  // connection until it times out (~30 s) and refuses the same address as a duplicate meanwhile.
  const startSession = (downloadLimitKiBps: number, port: number) => {
    writeFileSync(configFile, JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port, resumeSaveIntervalSeconds: 1, downloadLimitKiBps }))
    const child = spawn(CLI_PATH, ['seed', '--download'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    const state = { log: '' }
    child.stdout.on('data', (c: Buffer) => (state.log += c.toString()))
    child.stderr.on('data', (c: Buffer) => (state.log += c.toString()))
    return { child, state, exited: new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))) }
  }
  const progress = async () => ((JSON.parse((await runCli(['list', '--json'], { timeoutMs: 15_000, homeDir: home })).stdout) as { progress: number; state: string }[])[0] ?? { progress: 0, state: 'none' })
  const until = async (what: () => Promise<boolean>, ms: number, label: string) => {
    const deadline = Date.now() + ms
    while (!(await what()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    assert.ok(await what(), label)
  }
  try {
    const first = startSession(2048, await freePort())
    await until(async () => first.state.log.includes('control socket'), 15_000, `session up: ${first.state.log}`)
    const added = await runCli(['add', torrentPath, '-o', out], { timeoutMs: 15_000, homeDir: home })
    assert.equal(added.code, 0, describeRun(added))
    await until(async () => (await progress()).progress >= 0.4, 40_000, 'the download passed 40 %')
    // A resume save since: the saved bitfield holds at least the 40 % passed.
    const store = await StateStore.open(join(home, '.local', 'share', 'friendtorrent'))
    const savedPieces = async () => {
      const resume = await store.loadResume(built.infoHash.toString('hex'))
      return resume ? new Bitfield(built.payload.length / (64 * 1024), resume.bitfield).count() : 0
    }
    await until(async () => (await savedPieces()) >= 0.4 * (built.payload.length / (64 * 1024)), 20_000, 'a resume save after 40 %')
    const atKill = (await progress()).progress
    first.child.kill('SIGKILL')
    await first.exited
    assert.ok(atKill < 1, `killed before the end (at ${atKill})`)
    const uploadedBefore = seeder.torrent.snapshot().uploadedBytes

    const second = startSession(0, await freePort())
    await until(async () => (await progress()).state === 'seeding', 40_000, `the download completed after the restart:\n${second.state.log}`)
    const resumed = /resumed many: (\d+) pieces from resume data$/m.exec(second.state.log)
    assert.ok(resumed, `the restart used resume data:\n${second.state.log}\n--- first run ---\n${first.state.log}\n--- resume dir: ${JSON.stringify(readdirSync(join(home, ".local", "share", "friendtorrent", "resume")))}`)
    const trusted = Number(resumed[1])
    assert.ok(trusted > 0, 'some pieces were taken from resume data without re-hashing')
    const fetchedAgain = seeder.torrent.snapshot().uploadedBytes - uploadedBefore
    const missingAtKill = (1 - atKill) * built.payload.length
    assert.ok(fetchedAgain <= missingAtKill + 3 * 1024 * 1024, `fetched ${fetchedAgain} bytes after the restart; ${Math.round(missingAtKill)} were missing at the kill`)
    second.child.kill('SIGTERM')
    assert.equal(await second.exited, 0)
    let at = 0
    for (const f of files) {
      assert.ok(readFileSync(join(out, 'many', ...f.path)).equals(built.payload.subarray(at, at + f.length)), `${f.path[0]} is correct`)
      at += f.length
    }
  } finally {
    await seeder.stop()
    await tracker.close()
    await work.cleanup()
  }
})

test('kill -9 at random moments, 22 rounds: every piece verified before a kill is still verified after it, resume data never claims a bad piece, and the files come out byte-identical', { timeout: 180_000 }, async (t) => {
  const seed = Number(process.env.FT_CRASH_SEED ?? Math.floor(Math.random() * 1e9))
  t.diagnostic(`kill moments drawn with seed ${seed} (FT_CRASH_SEED=${seed} repeats them)`)
  const random = seededRandom(seed)
  const ROUNDS = 22
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('ft-crash-loop')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const configFile = join(home, '.config', 'friendtorrent', 'config.json')
  const stateDir = join(home, '.local', 'share', 'friendtorrent')
  // Odd sizes, so pieces straddle files.
  const files: TestFile[] = Array.from({ length: 24 }, (_, i) => ({ path: [`dir-${i % 3}`, `f-${String(i).padStart(2, '0')}.bin`], length: 400_000 + i * 17_001 }))
  const built = buildTorrent({ name: 'loop', files, pieceLength: 64 * 1024, announce: [tracker.httpUrl], seed: 78 })
  const torrentPath = join(work.path, 'loop.torrent')
  writeFileSync(torrentPath, built.torrent)
  let offset = 0
  for (const f of files) {
    mkdirSync(join(work.path, 'seed', 'loop', ...f.path.slice(0, -1)), { recursive: true })
    writeFileSync(join(work.path, 'seed', 'loop', ...f.path), built.payload.subarray(offset, offset + f.length))
    offset += f.length
  }
  const meta = await parseTorrentFile(built.torrent)
  const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed') })
  const out = join(work.path, 'out')
  const sessions: ManagedProcess[] = []
  // Every run on the same port, as a user restarting would: the seeder still holds the killed
  // run's uTP connection, and the restarted run's dial from that address replaces it at once
  // (duplicate-connection.ts); dead connections from other ports would pile up against the
  // seeder's limit of connections per IP instead.
  const port = await freePort()
  const startSession = async (downloadLimitKiBps: number): Promise<ManagedProcess> => {
    writeFileSync(configFile, JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port, resumeSaveIntervalSeconds: 1, downloadLimitKiBps }))
    const p = new ManagedProcess('friendtorrent seed --download', CLI_PATH, ['seed', '--download'], { env, cwd: REPO_ROOT })
    sessions.push(p)
    const deadline = Date.now() + 20_000
    while (!p.logs().includes('control socket') && p.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.ok(p.logs().includes('control socket'), `session up:\n${p.tail()}`)
    return p
  }
  // Judged without the client's own storage code (which could create or extend files between rounds):
  // a piece is on disk when the raw bytes of its range, read straight from the files, hash like the expected bytes.
  const PIECE = 64 * 1024
  const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex')
  const expectedHashes = Array.from({ length: meta.pieceCount }, (_, i) => sha1(built.payload.subarray(i * PIECE, (i + 1) * PIECE)))
  const piecesOnDisk = (): Bitfield => {
    const raw = files.map((f) => (existsSync(join(out, 'loop', ...f.path)) ? readFileSync(join(out, 'loop', ...f.path)) : Buffer.alloc(0)))
    const starts = files.map((_, i) => files.slice(0, i).reduce((n, f) => n + f.length, 0))
    const bits = new Bitfield(meta.pieceCount)
    for (let i = 0; i < meta.pieceCount; i++) {
      const [from, to] = [i * PIECE, Math.min((i + 1) * PIECE, built.payload.length)]
      const parts: Buffer[] = []
      for (const [k, start] of starts.entries()) {
        const end = start + files[k].length
        if (end <= from || start >= to) continue
        parts.push(raw[k].subarray(Math.max(from, start) - start, Math.min(to, end) - start))
      }
      const bytes = Buffer.concat(parts)
      if (bytes.length === to - from && sha1(bytes) === expectedHashes[i]) bits.set(i)
    }
    return bits
  }
  /** What the disk holds and what the resume data claims, between runs. */
  const inspect = async (): Promise<{ onDisk: Bitfield; claimed: Bitfield }> => {
    const onDisk = piecesOnDisk()
    const resume = await (await StateStore.open(stateDir)).loadResume(meta.infoHashHex)
    return { onDisk, claimed: resume ? new Bitfield(meta.pieceCount, resume.bitfield) : new Bitfield(meta.pieceCount) }
  }
  const missingFrom = (before: Bitfield, after: Bitfield): number[] => {
    const lost: number[] = []
    for (let i = 0; i < before.length; i++) if (before.get(i) && !after.get(i)) lost.push(i)
    return lost
  }
  try {
    let verified = new Bitfield(meta.pieceCount)
    let killedMidDownload = 0
    for (let round = 0; round < ROUNDS; round++) {
      const session = await startSession(200)
      if (round === 0) {
        const added = await runCli(['add', torrentPath, '-o', out], { timeoutMs: 15_000, homeDir: home })
        assert.equal(added.code, 0, describeRun(added))
      }
      const waitMs = 50 + Math.floor(random() * 1450)
      await new Promise((r) => setTimeout(r, waitMs))
      session.child.kill('SIGKILL')
      await session.exited
      const { onDisk, claimed } = await inspect()
      const lost = missingFrom(verified, onDisk)
      assert.deepEqual(lost, [], `round ${round} (kill after ${waitMs} ms, seed ${seed}): pieces verified before were lost`)
      const lies = missingFrom(claimed, onDisk)
      assert.deepEqual(lies, [], `round ${round} (kill after ${waitMs} ms, seed ${seed}): resume data claims pieces the disk does not hold`)
      verified = onDisk
      if (!onDisk.hasAll()) killedMidDownload++
    }
    t.diagnostic(`${verified.count()} of ${meta.pieceCount} pieces verified after ${ROUNDS} kills, ${killedMidDownload} of them mid-download`)
    assert.ok(killedMidDownload >= ROUNDS / 2, `most kills landed mid-download (${killedMidDownload} of ${ROUNDS})`)

    const last = await startSession(0)
    const deadline = Date.now() + 60_000
    const state = async () => ((JSON.parse((await runCli(['list', '--json'], { timeoutMs: 15_000, homeDir: home })).stdout) as { state: string }[])[0]?.state)
    while ((await state()) !== 'seeding' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300))
    assert.equal(await state(), 'seeding', `the download completed after the last restart:\n${last.tail(30)}`)
    await last.stop()
    assert.equal(await last.exited, 0)
    let at = 0
    for (const f of files) {
      assert.ok(readFileSync(join(out, 'loop', ...f.path)).equals(built.payload.subarray(at, at + f.length)), `${f.path.join('/')} is byte-identical`)
      at += f.length
    }
  } finally {
    for (const p of sessions) await p.stop()
    await seeder.stop()
    await tracker.close()
    await work.cleanup()
  }
})
