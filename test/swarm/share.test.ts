// Sharing with a friend: `share <folder> --tracker URL` prints a magnet link,
// `seed` serves it, and the friend's `add <magnet>` gets the same tree.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import { startTracker } from '../helpers/tracker.ts'

test('share → seed → a friend adds the magnet link and gets the same files', { timeout: 90_000 }, async () => {
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('ft-share')
  const home = join(work.path, 'me')
  const env = isolatedEnv(home)
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: await freePort() }))
  // Only its payload folder is used: share makes its own torrent of it.
  const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
  const folder = join(fixture.payloadDir, fixture.name)
  let seed: ReturnType<typeof spawn> | undefined
  try {
    const shared = await runCli(['share', folder, '--tracker', tracker.httpUrl], { timeoutMs: 30_000, homeDir: home })
    assert.equal(shared.code, 0, describeRun(shared))
    const magnet = shared.stdout.trim().split('\n').at(-1)!
    assert.match(magnet, /^magnet:\?xt=urn:btih:[0-9a-f]{40}/)
    assert.match(shared.stdout, /no session is running/)

    seed = spawn(CLI_PATH, ['seed'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    seed.stdout!.on('data', (c: Buffer) => (log += c.toString()))
    seed.stderr!.on('data', (c: Buffer) => (log += c.toString()))
    await waitUntil(async () => /seeding/.test((await runCli(['list'], { timeoutMs: 10_000, homeDir: home })).stdout), 30_000, 'the session to seed the shared folder')

    const out = join(work.path, 'friend-out')
    const friend = await runCli(['add', magnet, '-o', out, '--port', String(await freePort())], { timeoutMs: 60_000 })
    assert.equal(friend.code, 0, `${describeRun(friend)}\n--- seed log ---\n${log}`)
    await assertSameTree(folder, join(out, fixture.name))
    const closed = once(seed, 'close')
    seed.kill('SIGTERM')
    assert.equal((await closed)[0], 0, `seed exits 0 on SIGTERM:\n${log}`)
  } finally {
    if (seed && seed.exitCode === null && seed.signalCode === null) {
      seed.kill('SIGTERM')
      await once(seed, 'close')
    }
    await tracker.close()
    await work.cleanup()
  }
})
