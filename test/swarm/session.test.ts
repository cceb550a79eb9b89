// The headless session as users run it: `friendtorrent seed --download` in one
// process, `add`, `list --json`, `pause`, `resume`, `verify` from another
// through the control socket, then SIGTERM: trackers hear "stopped", resume
// data is on disk, exit code 0.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startTracker } from '../helpers/tracker.ts'

async function until(what: () => boolean | Promise<boolean>, ms: number, label: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await what()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  assert.ok(await what(), label)
}

test('seed --download: control socket commands from another process, then SIGTERM stops cleanly', { timeout: 120_000 }, async () => {
  const tracker = await startTracker()
  const work = tempDir('ft-session')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const port = await freePort()
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port }))
  const events: string[] = []
  tracker.server.on('start', () => events.push('started'))
  tracker.server.on('stop', () => events.push('stopped'))
  const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
  const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir })
  const child = spawn(CLI_PATH, ['seed', '--download'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (c: Buffer) => (log += c.toString()))
  child.stderr.on('data', (c: Buffer) => (log += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const cli = (...args: string[]) => runCli(args, { timeoutMs: 30_000, homeDir: home })
  try {
    await until(() => log.includes('control socket'), 15_000, `the session started:\n${log}`)
    const stateDir = join(home, '.local', 'share', 'friendtorrent')
    assert.equal(statSync(stateDir).mode & 0o777, 0o700, 'state folder is 0700')
    assert.equal(statSync(join(stateDir, 'control.sock')).mode & 0o777, 0o600, 'control socket is 0600')

    const out = join(work.path, 'out')
    const added = await cli('add', fixture.torrentPath, '-o', out)
    assert.equal(added.code, 0, describeRun(added))
    assert.match(added.stdout, /added .* to the running session/)
    const again = await cli('add', fixture.torrentPath, '-o', out)
    assert.match(again.stdout, /already in the library/)

    const listJson = async () => JSON.parse((await cli('list', '--json')).stdout) as { infoHash: string; state: string; progress: number }[]
    await until(async () => (await listJson())[0]?.state === 'seeding', 30_000, `the download completed in the session:\n${log}`)
    await assertSameTree(join(fixture.payloadDir, fixture.name), join(out, fixture.name))
    const [entry] = await listJson()
    assert.equal(entry.infoHash, fixture.infoHash)
    assert.equal(entry.progress, 1)

    const paused = await cli('pause', fixture.infoHash.slice(0, 8))
    assert.equal(paused.code, 0, describeRun(paused))
    assert.equal((await listJson())[0].state, 'paused')
    const resumed = await cli('resume', fixture.name)
    assert.equal(resumed.code, 0, describeRun(resumed))
    await until(async () => (await listJson())[0].state === 'seeding', 15_000, 'seeding again after resume')
    const verified = await cli('verify', fixture.infoHash)
    assert.equal(verified.code, 0, describeRun(verified))
    await until(async () => (await listJson())[0].state === 'seeding', 15_000, 'seeding again after a full recheck')
    const files = await cli('files', fixture.infoHash)
    assert.equal(files.code, 0, describeRun(files))
    assert.match(files.stdout, /normal .*ñandú\.bin/)
    const prio = await cli('priority', fixture.infoHash, '0', 'high')
    assert.equal(prio.code, 0, describeRun(prio))
    assert.match((await cli('files', fixture.infoHash)).stdout, /^\s*0\s+high/m)
    const badPrio = await cli('priority', fixture.infoHash, '0', 'urgent')
    assert.equal(badPrio.code, 1)
    const limited = await cli('limit', '--up', '100', '--down', '0')
    assert.equal(limited.code, 0, describeRun(limited))
    assert.match(limited.stdout, /session: up 100 KiB\/s, down unlimited/)
    const unknown = await cli('pause', 'no-such-torrent')
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /no torrent "no-such-torrent"/)

    // A second torrent to remove with its data, while the first keeps seeding.
    const other = await makeOddLayout(join(work.path, 'other'), { announce: [tracker.httpUrl], pieceLength: 16 * 1024 })
    const otherOut = join(work.path, 'other-out')
    assert.equal((await cli('add', other.torrentPath, '-o', otherOut)).code, 0)
    await until(async () => (await listJson()).length === 2, 10_000, 'the second torrent is in the library')
    const removed = await cli('remove', other.infoHash, '--delete-data')
    assert.equal(removed.code, 0, describeRun(removed))
    assert.deepEqual((await listJson()).map((t) => t.infoHash), [fixture.infoHash])
    assert.ok(!existsSync(join(otherOut, other.name)), 'its data was deleted')
    assert.ok(existsSync(join(out, fixture.name)), 'the first torrent\u2019s data is untouched')

    child.kill('SIGTERM')
    assert.equal(await exited, 0, log)
    assert.ok(events.includes('stopped'), `the tracker heard "stopped": ${events.join(',')}`)
    assert.ok(existsSync(join(stateDir, 'resume')) && readdirSync(join(stateDir, 'resume')).length === 1, 'resume data is on disk')
    assert.ok(!existsSync(join(stateDir, 'control.sock')), 'the control socket is removed')

    // No session now: list reads the stored library.
    const offline = await cli('list')
    assert.match(offline.stdout, /seeding/)
    assert.match(offline.stdout, /no session is running/)
  } finally {
    child.kill('SIGKILL')
    await seeder.stop()
    await tracker.close()
    await work.cleanup()
  }
})
