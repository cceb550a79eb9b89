// `friendtorrent add` as a user runs it: bad input, Ctrl-C, data already on
// disk, and the library it lands in: a foreground add hosts a session (seen
// over the control socket), leaves the torrent complete with resume data that
// `seed` trusts, keeps seeding with --seed, and takes magnets the same way.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { CLI_PATH, describeRun, downloadWithCli, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import type { BuiltTorrent } from '../helpers/make-torrent.ts'
import { exitWithin, ManagedProcess } from '../helpers/managed-process.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { requireBinaries, startAria2Seeder, startRtorrentLeecher } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

interface Summary {
  infoHash: string
  name: string
  state: string
  progress: number
}

/** A home folder with a config (DHT off unless the test says otherwise). */
function homeWith(dir: string, config: Record<string, unknown> = {}): string {
  const home = join(dir, 'home')
  isolatedEnv(home)
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, ...config }))
  return home
}

async function listJson(home: string): Promise<Summary[]> {
  const run = await runCli(['list', '--json'], { timeoutMs: 15_000, homeDir: home })
  assert.equal(run.code, 0, describeRun(run))
  return JSON.parse(run.stdout) as Summary[]
}

/** `friendtorrent ...args` left running, its output captured. */
function startCli(args: string[], home: string): ManagedProcess {
  return new ManagedProcess(`friendtorrent ${args[0]}`, process.execPath, [CLI_PATH, ...args], { env: isolatedEnv(home), cwd: REPO_ROOT })
}

async function until(what: () => boolean | Promise<boolean>, ms: number, label: () => string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await what())) {
    if (Date.now() > deadline) assert.fail(`${label()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function smallTorrent(name: string, seed: number): BuiltTorrent {
  return buildTorrent({ name, files: ODD_LAYOUT, pieceLength: 32 * 1024, seed })
}

test('a broken .torrent, a malformed magnet and a missing file each give one line, exit 1 and write nothing', async () => {
  const dir = tempDir('ft-cli-bad')
  try {
    const bad = join(dir.path, 'bad.torrent')
    writeFileSync(bad, 'd4:infod4:name3:abc12:piece lengthi0eee')
    const out = join(dir.path, 'out')
    for (const [input, pattern] of [
      [bad, /bad\.torrent: .*piece length/],
      ['magnet:?xt=urn:btih:0123456789abcdef', /magnet|info hash|hex/i],
      [join(dir.path, 'absent.torrent'), /cannot read .*absent\.torrent: no such file/],
    ] as const) {
      const run = await runCli(['add', input, '-o', out], { timeoutMs: 15_000 })
      assert.equal(run.code, 1, describeRun(run))
      const lines = run.stderr.trim().split('\n')
      assert.equal(lines.length, 1, `one line, got: ${run.stderr}`)
      assert.match(lines[0], pattern)
    }
    assert.throws(() => readdirSync(out), /ENOENT/, 'no save folder was created')
  } finally {
    await dir.cleanup()
  }
})

test('a running foreground add answers list, limit and pause over its control socket; Ctrl-C stops cleanly: the tracker hears "stopped" and the exit code says interrupted', async () => {
  const tracker = await startTracker()
  const dir = tempDir('ft-cli-int')
  try {
    const home = homeWith(dir.path, { downloadLimitKiBps: 300, uploadLimitKiBps: 100 })
    const built = buildTorrent({ name: 'lonely', files: 300_000, pieceLength: 32 * 1024, announce: [tracker.httpUrl] })
    const torrentPath = join(dir.path, 'lonely.torrent')
    writeFileSync(torrentPath, built.torrent)
    const events: string[] = []
    tracker.server.on('start', () => events.push('started'))
    tracker.server.on('stop', () => events.push('stopped'))
    const port = await freePort()
    const child = spawn(process.execPath, [CLI_PATH, 'add', torrentPath, '-o', join(dir.path, 'out'), '--port', String(port)], {
      env: isolatedEnv(home),
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    const deadline = Date.now() + 15_000
    while (!events.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(events.includes('started'), 'the CLI announced started')
    // Its session answers on the control socket while it runs.
    const hash = built.infoHash.toString('hex')
    assert.deepEqual((await listJson(home)).map((e) => [e.infoHash, e.state]), [[hash, 'downloading']])
    // The config's limits are its session's.
    const limits = await runCli(['limit'], { timeoutMs: 15_000, homeDir: home })
    assert.equal(limits.stdout.trim(), 'session: up 100 KiB/s, down 300 KiB/s', describeRun(limits))
    const paused = await runCli(['pause', 'lonely'], { timeoutMs: 15_000, homeDir: home })
    assert.equal(paused.code, 0, describeRun(paused))
    assert.equal((await listJson(home))[0].state, 'paused')
    const resumed = await runCli(['resume', 'lonely'], { timeoutMs: 15_000, homeDir: home })
    assert.equal(resumed.code, 0, describeRun(resumed))
    await until(async () => (await listJson(home))[0].state === 'downloading', 15_000, () => 'downloading again after resume')
    child.kill('SIGINT')
    const code = await exited
    assert.equal(code, 130, stderr)
    assert.deepEqual(events, ['started', 'stopped', 'started', 'stopped'], 'pause, resume, then Ctrl-C')
    assert.match(stderr, /interrupted by SIGINT; partial data kept/)
    // No session now: the library still holds it, incomplete.
    const [entry] = await listJson(home)
    assert.equal(entry.infoHash, hash)
    assert.equal(entry.progress, 0)
  } finally {
    await tracker.close()
    await dir.cleanup()
  }
})

test('data already in the save folder is checked first and only missing pieces are fetched', async () => {
  const dir = tempDir('ft-cli-resume')
  const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 11 })
  const seeder = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const torrentPath = join(dir.path, 'odd.torrent')
    writeFileSync(torrentPath, built.torrent)
    const out = join(dir.path, 'out')
    // Write the first three files whole (the large ñandú.bin among them), the rest not at all.
    let offset = 0
    for (const f of ODD_LAYOUT.slice(0, 3)) {
      mkdirSync(join(out, 'odd', ...f.path.slice(0, -1)), { recursive: true })
      writeFileSync(join(out, 'odd', ...f.path), built.payload.subarray(offset, offset + f.length))
      offset += f.length
    }
    const run = await downloadWithCli({ torrentPath, outDir: out, timeoutMs: 30_000, peers: [`127.0.0.1:${seeder.port}`] })
    assert.equal(run.code, 0, describeRun(run))
    let at = 0
    for (const f of ODD_LAYOUT) {
      assert.ok(readFileSync(join(out, 'odd', ...f.path)).equals(built.payload.subarray(at, at + f.length)), `${f.path.join('/')} is byte-identical`)
      at += f.length
    }
    // Exactly the blocks of the pieces that reach past the three files written (32 KiB pieces, 16 KiB blocks).
    const firstMissing = Math.floor(offset / built.pieceLength)
    const missingBlocks = Math.ceil((built.payload.length - firstMissing * built.pieceLength) / (16 * 1024))
    assert.equal(seeder.stats.blocksServed, missingBlocks, `fetched ${seeder.stats.blocksServed} blocks; the pieces missing hold ${missingBlocks}`)

    // Everything present now: a second run verifies and exits 0 without a peer.
    const again = await downloadWithCli({ torrentPath, outDir: out, timeoutMs: 30_000 })
    assert.equal(again.code, 0, describeRun(again))
    assert.match(again.stdout, /0 B fetched/)
  } finally {
    await seeder.close()
    await dir.cleanup()
  }
})

test('a foreground add from a real seed lands in the library complete; `seed --pid-file` resumes it without re-hashing and serves it to rTorrent', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['aria2c', 'rtorrent'])) return
  const tracker = await startTracker()
  const work = tempDir('ft-cli-library')
  try {
    const home = homeWith(work.path, { listenPort: await freePort() })
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const source = await startAria2Seeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
    const out = join(work.path, 'out')
    try {
      await tracker.waitForSeeders(fixture.infoHash, 1, 30_000)
      const run = await runCli(['add', fixture.torrentPath, '-o', out], { timeoutMs: 60_000, homeDir: home })
      assert.equal(run.code, 0, describeRun(run))
      assert.match(run.stdout, /done: .*in the library/)
    } finally {
      await source.stop()
    }
    await assertSameTree(join(fixture.payloadDir, fixture.name), join(out, fixture.name))
    const [entry, ...rest] = await listJson(home)
    assert.equal(rest.length, 0)
    assert.equal(entry.infoHash, fixture.infoHash)
    assert.equal(entry.state, 'seeding')
    assert.equal(entry.progress, 1)

    const pidFile = join(work.path, 'run', 'seed.pid')
    const seed = startCli(['seed', '--pid-file', pidFile], home)
    try {
      await until(() => /resumed /.test(seed.logs()), 30_000, () => `seed resumed the torrent:\n${seed.tail()}`)
      assert.equal(readFileSync(pidFile, 'utf8'), `${seed.pid}\n`, 'the pid file names the real process')
      assert.match(seed.logs(), new RegExp(`resumed ${fixture.name}: \\d+ pieces from resume data$`, 'm'))
      assert.doesNotMatch(seed.logs(), /completed/, 'nothing was downloaded: nothing "completed"')
      const served = join(work.path, 'served')
      const leecher = await startRtorrentLeecher({ torrentPath: fixture.torrentPath, dataDir: served })
      try {
        await leecher.waitComplete(60_000)
      } finally {
        await leecher.stop()
      }
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(served, fixture.name))
      seed.child.kill('SIGTERM')
      assert.equal(await exitWithin(seed.exited, 20_000), 0, seed.tail())
      assert.equal(existsSync(pidFile), false, 'the pid file is removed at a clean stop')
    } finally {
      await seed.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})

test('add --seed keeps seeding after completion and exits 0 on SIGTERM, the torrent complete in the library', { timeout: 90_000 }, async () => {
  const work = tempDir('ft-cli-seed')
  const built = smallTorrent('kept', 21)
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const home = homeWith(work.path)
    const torrentPath = join(work.path, 'kept.torrent')
    writeFileSync(torrentPath, built.torrent)
    const add = startCli(['add', torrentPath, '-o', join(work.path, 'out'), '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`, '--seed'], home)
    try {
      await until(() => /seeding kept until Ctrl-C/.test(add.logs()), 30_000, () => `add reached seeding:\n${add.tail()}`)
      assert.ok(add.running, 'still running after completion')
      const [entry] = await listJson(home)
      assert.equal(entry.state, 'seeding', 'seen seeding over the control socket')
      add.child.kill('SIGTERM')
      assert.equal(await exitWithin(add.exited, 20_000), 0, add.tail())
      assert.match(add.logs(), /SIGTERM: stopped seeding kept/)
    } finally {
      await add.stop()
    }
    const [entry] = await listJson(home)
    assert.deepEqual([entry.state, entry.progress], ['seeding', 1])
  } finally {
    await peer.close()
    await work.cleanup()
  }
})

test('a magnet takes the same path: metadata from a peer, the download, the library; adding it again resumes and says so', { timeout: 90_000 }, async () => {
  const work = tempDir('ft-cli-magnet')
  const built = smallTorrent('linked', 31)
  const meta = await parseTorrentFile(built.torrent)
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength, metadata: { info: meta.infoBuffer } })
  try {
    const home = homeWith(work.path)
    const out = join(work.path, 'out')
    const magnet = `magnet:?xt=urn:btih:${meta.infoHashHex}&dn=linked`
    const args = ['add', magnet, '-o', out, '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`]
    const run = await runCli(args, { timeoutMs: 60_000, homeDir: home })
    assert.equal(run.code, 0, describeRun(run))
    assert.match(run.stdout, /metadata verified: linked/)
    assert.equal(readFileSync(join(home, '.local', 'share', 'friendtorrent', 'torrents', `${meta.infoHashHex}.torrent`)).length > 0, true)
    const [entry] = await listJson(home)
    assert.deepEqual([entry.infoHash, entry.state, entry.progress], [meta.infoHashHex, 'seeding', 1])
    let offset = 0
    for (const f of ODD_LAYOUT) {
      assert.ok(readFileSync(join(out, 'linked', ...f.path)).equals(built.payload.subarray(offset, offset + f.length)), f.path.join('/'))
      offset += f.length
    }
    // Again, with no session and no peer: the library has it, its resume data says complete.
    const again = await runCli(args.slice(0, 4), { timeoutMs: 30_000, homeDir: home })
    assert.equal(again.code, 0, describeRun(again))
    assert.match(again.stdout, /note: linked is already in the library; resumed it/)
    assert.match(again.stdout, /0 B fetched/)
  } finally {
    await peer.close()
    await work.cleanup()
  }
})

test('the DHT\'s bootstrap warning goes to the session log and -v, not to stderr of every add', { timeout: 90_000 }, async () => {
  const work = tempDir('ft-cli-dht')
  // The tracker hands us our own address back: -v says so once, not once per end of that connection.
  const tracker = await startTracker()
  const built = buildTorrent({ name: 'quiet', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 41, announce: [tracker.httpUrl] })
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    // A DHT with nobody to bootstrap from warns at once (and never leaves loopback).
    const torrentPath = join(work.path, 'quiet.torrent')
    writeFileSync(torrentPath, built.torrent)
    for (const verbose of [false, true]) {
      const home = homeWith(join(work.path, String(verbose)), { dht: true, dhtBootstrap: [] })
      const args = ['add', torrentPath, '-o', join(work.path, `out-${verbose}`), '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`]
      const run = await runCli(verbose ? [...args, '-v'] : args, { timeoutMs: 30_000, homeDir: home })
      assert.equal(run.code, 0, describeRun(run))
      if (verbose) assert.match(run.stderr, /DHT bootstrap reached no nodes/)
      else assert.equal(run.stderr, '', 'nothing on stderr without -v')
      if (verbose) {
        assert.ok((run.stderr.match(/connected to ourselves|that is us/g) ?? []).length <= 1, run.stderr)
        assert.doesNotMatch(run.stderr, /both sides are seeds/)
      }
    }
  } finally {
    await peer.close()
    await tracker.close()
    await work.cleanup()
  }
})

test('a tracker that keeps failing shows in the progress line, not as a line on stderr at every retry', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-cli-tracker-down')
  try {
    const home = homeWith(work.path, { progressIntervalSeconds: 1 })
    const deadUrl = `http://127.0.0.1:${await freePort()}/announce`
    const built = buildTorrent({ name: 'unannounced', files: 100_000, pieceLength: 32 * 1024, announce: [deadUrl] })
    const torrentPath = join(work.path, 'unannounced.torrent')
    writeFileSync(torrentPath, built.torrent)
    const child = spawn(process.execPath, [CLI_PATH, 'add', torrentPath, '-o', join(work.path, 'out'), '--port', String(await freePort())], {
      env: isolatedEnv(home),
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    try {
      const inLine = new RegExp(`^0\\.0%.*peers 0/0.*tracker ${deadUrl.replace(/[./]/g, '\\$&')}: .*next try in \\d+s$`, 'm')
      await until(() => (stdout.match(new RegExp(inLine.source, 'gm')) ?? []).length >= 2, 30_000, () => `the tracker's trouble in two progress lines:\n${stdout}\n${stderr}`)
    } finally {
      child.kill('SIGTERM')
    }
    assert.equal(await exited, 143, stderr)
    assert.deepEqual(stderr.trim().split('\n'), [`friendtorrent: interrupted by SIGTERM; partial data kept in ${join(work.path, 'out')}`])
  } finally {
    await work.cleanup()
  }
})

test('adding again a torrent the library holds half-done resumes it, says so, and fetches only what is missing', { timeout: 90_000 }, async () => {
  const work = tempDir('ft-cli-readd')
  const built = smallTorrent('halfway', 81)
  const pieceCount = Math.ceil(built.payload.length / built.pieceLength)
  const firstHalf = Array.from({ length: Math.floor(pieceCount / 2) }, (_, i) => i)
  const half = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength, pieces: firstHalf })
  const full = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const home = homeWith(work.path)
    const torrentPath = join(work.path, 'halfway.torrent')
    writeFileSync(torrentPath, built.torrent)
    const out = join(work.path, 'out')
    const first = startCli(['add', torrentPath, '-o', out, '--port', String(await freePort()), '--peer', `127.0.0.1:${half.port}`], home)
    try {
      await until(() => half.stats.blocksServed >= firstHalf.length * (built.pieceLength / 16384), 30_000, () => `the half peer served its half:\n${first.tail()}`)
      await until(async () => ((await listJson(home))[0]?.progress ?? 0) > 0.4, 15_000, () => 'half verified')
      first.child.kill('SIGINT')
      assert.equal(await exitWithin(first.exited, 20_000), 130, first.tail())
    } finally {
      await first.stop()
    }
    const [stored] = await listJson(home)
    assert.ok(stored.progress > 0.4 && stored.progress < 1, `half done in the library: ${stored.progress}`)

    // Elsewhere in the file system, another -o: the library's save folder wins, and says so.
    const again = await runCli(['add', torrentPath, '-o', join(work.path, 'elsewhere'), '--port', String(await freePort()), '--peer', `127.0.0.1:${full.port}`], { timeoutMs: 30_000, homeDir: home })
    assert.equal(again.code, 0, describeRun(again))
    assert.match(again.stdout, new RegExp(`note: halfway is already in the library; resumed it \\(save folder ${out.replace(/[/.]/g, '\\$&')}\\)`))
    const totalBlocks = Math.ceil(built.payload.length / 16384)
    assert.ok(full.stats.blocksServed > 0 && full.stats.blocksServed < totalBlocks * 0.7, `fetched ${full.stats.blocksServed} of ${totalBlocks} blocks`)
    let offset = 0
    for (const f of ODD_LAYOUT) {
      assert.ok(readFileSync(join(out, 'halfway', ...f.path)).equals(built.payload.subarray(offset, offset + f.length)), f.path.join('/'))
      offset += f.length
    }
  } finally {
    await half.close()
    await full.close()
    await work.cleanup()
  }
})
