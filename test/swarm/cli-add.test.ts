// `friendtorrent add` as a user runs it: bad input, Ctrl-C, and data already on disk.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI_PATH, describeRun, downloadWithCli, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { startTracker } from '../helpers/tracker.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

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

test('Ctrl-C stops cleanly: the tracker hears "stopped" and the exit code says interrupted', async () => {
  const tracker = await startTracker()
  const dir = tempDir('ft-cli-int')
  try {
    const built = buildTorrent({ name: 'lonely', files: 300_000, pieceLength: 32 * 1024, announce: [tracker.httpUrl] })
    const torrentPath = join(dir.path, 'lonely.torrent')
    writeFileSync(torrentPath, built.torrent)
    const events: string[] = []
    tracker.server.on('start', () => events.push('started'))
    tracker.server.on('stop', () => events.push('stopped'))
    const port = await freePort()
    const child = spawn(process.execPath, [CLI_PATH, 'add', torrentPath, '-o', join(dir.path, 'out'), '--port', String(port)], {
      env: isolatedEnv(join(dir.path, 'home')),
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
    const deadline = Date.now() + 15_000
    while (!events.includes('started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(events.includes('started'), 'the CLI announced started')
    child.kill('SIGINT')
    const code = await exited
    assert.equal(code, 130, stderr)
    assert.deepEqual(events, ['started', 'stopped'])
    assert.match(stderr, /interrupted by SIGINT; partial data kept/)
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
