// MSE/PE with real clients on loopback, each transfer byte for byte.
// 1. Our `friendtorrent seed` with `encryption: "require"` serves, at once and
//    through one tracker: rTorrent (require,require_RC4), aria2c
//    (--bt-require-crypto, arc4) and transmission-daemon (encryption 2, which
//    never dials loopback: our seed dials it). A plaintext peer is refused
//    with one log line.
// 2. qBittorrent requiring encryption (Session\Encryption=1) seeds to our
//    `add`, once with the default config (prefer) and once with require.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { assertSameTree, assertSameTreeBarEmptyFiles } from '../helpers/compare.ts'
import { exitWithin, ManagedProcess } from '../helpers/managed-process.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import {
  requireBinaries,
  startAria2Leecher,
  startQbittorrentSeeder,
  startRtorrentLeecher,
  startTransmissionLeecher,
  type ClientHandle,
} from '../helpers/real-clients.ts'
import { startTracker } from '../helpers/tracker.ts'
import { connectWirePeer } from '../helpers/wire-peer.ts'

const DOWNLOAD_TIMEOUT_MS = 90_000
const REFUSED_PLAINTEXT = 'refused a plaintext connection: encryption is required'

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1
}

test('our seed requiring encryption serves rTorrent, aria2c and Transmission that require it; a plaintext peer is refused with one line', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['rtorrent', 'aria2c', 'transmission-daemon', 'transmission-remote'])) return
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('mse-seed')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const port = await freePort()
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port, encryption: 'require' }))
  const seed = new ManagedProcess('seed', process.execPath, [CLI_PATH, 'seed'], { env, cwd: REPO_ROOT })
  const leechers: ClientHandle[] = []
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    await waitUntil(() => seed.logs().includes('control socket'), 30_000, `the session to start:\n${seed.tail()}`)
    const added = await runCli(['add', fixture.torrentPath, '-o', fixture.payloadDir], { timeoutMs: 30_000, homeDir: home })
    assert.equal(added.code, 0, describeRun(added))
    await tracker.waitForSeeders(fixture.infoHash, 1, 30_000)

    // Two plaintext handshakes from one host: both closed, one log line.
    for (let i = 0; i < 2; i++) {
      const plain = await connectWirePeer({ port, infoHash: Buffer.from(fixture.infoHash, 'hex') })
      assert.ok(plain.closed, 'a plaintext handshake is closed without an answer')
      assert.ok(!plain.received.includes('handshake'))
      plain.close()
    }
    await waitUntil(() => seed.logs().includes(REFUSED_PLAINTEXT), 10_000, `the refusal in the log:\n${seed.tail()}`)
    assert.equal(countOf(seed.logs(), REFUSED_PLAINTEXT), 1, seed.tail())

    const out = (name: string) => join(work.path, name)
    const rtorrent = await startRtorrentLeecher({ torrentPath: fixture.torrentPath, dataDir: out('rtorrent'), encryption: 'require,require_RC4,allow_incoming,try_outgoing' })
    leechers.push(rtorrent)
    const aria2 = await startAria2Leecher({ torrentPath: fixture.torrentPath, dataDir: out('aria2'), extraArgs: ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'] })
    leechers.push(aria2)
    const transmission = await startTransmissionLeecher({ torrentPath: fixture.torrentPath, dataDir: out('transmission'), encryption: 2 })
    leechers.push(transmission)
    await transmission.reannounce()

    const results = await Promise.allSettled([
      rtorrent.waitComplete(DOWNLOAD_TIMEOUT_MS).then(() => rtorrent.stop()),
      exitWithin(aria2.exited, DOWNLOAD_TIMEOUT_MS).then((code) => assert.equal(code, 0, `aria2c ended with ${code}\n${aria2.logs().slice(-2000)}`)),
      // Stopping flushes Transmission's write cache before the files are compared.
      transmission.waitComplete(DOWNLOAD_TIMEOUT_MS).then(() => transmission.stop()),
    ])
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${['rTorrent', 'aria2c', 'Transmission'][i]}: ${(r.reason as Error).message}`] : []))
    assert.deepEqual(failures, [], `seed log:\n${seed.tail()}`)
    const expected = join(fixture.payloadDir, fixture.name)
    await assertSameTreeBarEmptyFiles(expected, join(out('rtorrent'), fixture.name))
    await assertSameTree(expected, join(out('aria2'), fixture.name))
    await assertSameTreeBarEmptyFiles(expected, join(out('transmission'), fixture.name))
  } finally {
    for (const l of leechers) await l.stop()
    await seed.stop()
    await tracker.close()
    await work.cleanup()
  }
})

test('qBittorrent requiring encryption seeds to our add, with encryption prefer (the default) and require', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, ['qbittorrent-nox'])) return
  const tracker = await startTracker()
  const work = tempDir('mse-qb')
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const qb = await startQbittorrentSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, encryption: 1 })
    try {
      for (const encryption of ['prefer', 'require'] as const) {
        const home = join(work.path, `home-${encryption}`)
        isolatedEnv(home)
        writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, encryption }))
        const outDir = join(work.path, `out-${encryption}`)
        const run = await runCli(['add', fixture.torrentPath, '-o', outDir, '--port', '0', '--peer', `127.0.0.1:${qb.port}`], { timeoutMs: DOWNLOAD_TIMEOUT_MS, homeDir: home })
        assert.equal(run.code, 0, `${encryption}: ${describeRun(run)}\n--- qBittorrent ---\n${qb.logs().slice(-2000)}`)
        await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      }
    } finally {
      await qb.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
