// A real client over IPv6: aria2c seeding on ::1 (its IPv6 on, bound to ::1)
// serves our `friendtorrent add --peer [::1]:PORT`, byte for byte. Our session
// listens dual-stack, so this also dials IPv6 from the session a user runs.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, isolatedEnv, runCli, testConfigJson } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { requireBinaries, startAria2Seeder } from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'

test('aria2c seeding on ::1 serves our add over IPv6, byte for byte', { timeout: 150_000 }, async (t) => {
  if (!requireBinaries(t, ['aria2c'])) return
  const tracker = await startTracker()
  const work = tempDir('ipv6-aria2')
  try {
    // aria2c is given to `add` directly; the tracker is only there for makeTorrent and aria2c to announce to.
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const aria2 = await startAria2Seeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, host: '::1' })
    try {
      const home = join(work.path, 'home')
      isolatedEnv(home)
      writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson())
      const outDir = join(work.path, 'out')
      const run = await runCli(['add', fixture.torrentPath, '-o', outDir, '--port', '0', '--peer', `[::1]:${aria2.port}`, '-v'], { timeoutMs: 90_000, homeDir: home })
      assert.equal(run.code, 0, `${describeRun(run)}\n--- aria2c ---\n${aria2.logs().slice(-2000)}`)
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      const output = run.stdout + run.stderr
      const connected = output.split('\n').filter((line) => /^peer .*: connected$/.test(line.trim()))
      assert.deepEqual(connected.map((l) => l.trim()), [`peer [::1]:${aria2.port}: connected`], `the one peer is aria2c over IPv6:\n${output}`)
    } finally {
      await aria2.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
