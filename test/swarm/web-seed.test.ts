// Web seeds (BEP 19) against a real nginx on 127.0.0.1: single-file and
// multi-file torrents with spaces and non-ASCII names downloaded from the web
// seed alone, byte for byte, several pieces per request and pad files never
// asked for; redirects followed; a server ignoring Range (200) read within
// bounds; a web seed serving wrong bytes beside a good peer: the torrent
// completes from the peer and that URL is dropped with one warning; a web
// seed beside a peer on the same address; `add` and `info` through the CLI.
import assert from 'node:assert/strict'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import type { Session, SessionOptions, TorrentSummary } from '../../src/session/session.ts'
import { describeRun, runCli } from '../helpers/cli.ts'
import { haveNginx, NGINX, startNginx } from '../helpers/nginx.ts'
import type { Nginx } from '../helpers/nginx.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { tempDir, waitFor, waitUntil } from '../helpers/net.ts'
import { openTestSession } from '../helpers/session.ts'
import { buildWebSeedTorrent, publish } from '../helpers/web-seed-torrent.ts'
import type { WebSeedTorrent } from '../helpers/web-seed-torrent.ts'

/** Our seeder over the right bytes of `t`, on 127.0.0.1 like the web server. */
async function goodSeeder(work: string, t: WebSeedTorrent, name: string, uploadLimiter?: LimiterChain) {
  const seedDir = join(work, 'seed')
  await mkdir(seedDir, { recursive: true })
  await writeFile(join(seedDir, name), t.payload)
  await writeFile(join(work, 't.torrent'), t.torrent)
  return startOurSeeder({ torrentPath: join(work, 't.torrent'), dataDir: seedDir, useTrackers: false, uploadLimiter })
}

function needNginx(t: TestContext): boolean {
  if (haveNginx()) return true
  const message = `${NGINX} is missing: apt-get install nginx-light`
  if (process.env.CI) throw new Error(message)
  t.skip(message)
  return false
}

/** Adds the torrent to a fresh session and waits until it completes; returns the session (still open) and its warnings. */
async function download(work: string, t: WebSeedTorrent, peers: { host: string; port: number }[] = [], extra: Partial<SessionOptions> = {}): Promise<{ session: Session; warnings: string[]; out: string }> {
  const session = await openTestSession(join(work, 'state'), extra)
  const warnings: string[] = []
  session.on('warning', (m) => warnings.push(m))
  await session.start()
  const out = join(work, 'out')
  const done = waitFor<TorrentSummary>(session, 'completed', 60_000)
  if (peers.length) session.addPeers(t.infoHashHex, peers)
  await session.add(t.torrent, out)
  await done
  return { session, warnings, out }
}

async function assertFiles(t: WebSeedTorrent, name: string, out: string): Promise<void> {
  for (const f of t.files) {
    const file = join(out, name, ...f.path)
    if (f.pad) {
      await assert.rejects(stat(file), 'a pad file is never written')
      continue
    }
    assert.ok((await readFile(file)).equals(f.data), `${f.path.join('/') || name} byte for byte`)
  }
}

async function withNginx(t: TestContext, prefix: string, locations: (dir: string) => string, body: (nginx: Nginx, work: string) => Promise<void>, tls = false): Promise<void> {
  if (!needNginx(t)) return
  const work = tempDir(`webseed-${prefix}`)
  const nginx = await startNginx(join(work.path, 'nginx'), locations(join(work.path, 'nginx')), { tls })
  try {
    await body(nginx, work.path)
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.stack : String(err)}\n${await readFile(join(work.path, 'nginx', 'error.log'), 'utf8').catch(() => '')}`)
  } finally {
    await nginx.stop()
    await work.cleanup()
  }
}

test('a single-file torrent with spaces and non-ASCII in its name, from a web seed alone: several pieces per request', { timeout: 90_000 }, async (t) => {
  await withNginx(t, 'single', () => '', async (nginx, work) => {
    const name = 'Café del mar ñ 2026.iso'
    const tor = buildWebSeedTorrent({ name, files: 1_500_017, pieceLength: 16 * 1024, urlList: [`${nginx.origin}/pub/`] })
    await publish(tor, name, join(nginx.root, 'pub'))
    const { session, out } = await download(work, tor)
    try {
      assert.ok((await readFile(join(out, name))).equals(tor.payload), 'byte for byte')
      const log = await nginx.accessLog()
      assert.ok(log.length > 0)
      for (const line of log) {
        assert.equal(line.status, 206, `every answer a 206: ${JSON.stringify(line)}`)
        assert.equal(line.path, '/pub/Caf%C3%A9%20del%20mar%20%C3%B1%202026.iso')
        assert.match(line.range, /^bytes=\d+-\d+$/)
      }
      // 92 pieces: runs of up to 64 blocks (1 MiB) at first, so a handful of requests.
      assert.ok(log.length * 4 <= tor.pieceCount, `${log.length} requests for ${tor.pieceCount} pieces`)
      const details = await session.details(tor.infoHashHex)
      const seed = details.peers.find((p) => p.source === 'webseed')
      assert.ok(seed, 'the web seed is in the peers tab')
      assert.equal(seed.key, `${nginx.origin}/pub/`)
      assert.equal(seed.transport, 'http')
      assert.match(seed.client, /nginx/)
      assert.equal(details.summary.connectedPeers, 0, 'no peer: a web seed is not one')
    } finally {
      await session.close()
    }
  })
})

test('a multi-file torrent (spaces, non-ASCII, an empty file, a pad file) from a web seed alone; ranges split per file', { timeout: 90_000 }, async (t) => {
  await withNginx(t, 'multi', () => '', async (nginx, work) => {
    const name = 'Mes vidéos 2026'
    const files = [
      { path: ['a file with spaces.bin'], length: 40_001 },
      { path: ['.pad', '25535'], length: 25_535, pad: true },
      { path: ['données', 'ñandú (1).bin'], length: 300_003 },
      { path: ['données', 'vide'], length: 0 },
      { path: ['données', 'deep', '100% sure #1.dat'], length: 77_777 },
      { path: ['tail'], length: 1 },
    ]
    const tor = buildWebSeedTorrent({ name, files, pieceLength: 32 * 1024, urlList: [`${nginx.origin}/multi`] })
    await publish(tor, name, join(nginx.root, 'multi'))
    const { session, out } = await download(work, tor)
    try {
      await assertFiles(tor, name, out)
      const log = await nginx.accessLog()
      const paths = new Set(log.map((l) => l.path))
      assert.ok(![...paths].some((p) => p.includes('.pad')), 'a pad file is never asked for')
      assert.ok(paths.has('/multi/Mes%20vid%C3%A9os%202026/donn%C3%A9es/deep/100%25%20sure%20%231.dat'), [...paths].join(' '))
      assert.ok(paths.has('/multi/Mes%20vid%C3%A9os%202026/a%20file%20with%20spaces.bin'))
      // One source: every byte but the pad's asked for exactly once, however the runs fell.
      let asked = 0
      for (const l of log) {
        assert.equal(l.status, 206)
        const [, a, b] = /^bytes=(\d+)-(\d+)$/.exec(l.range)!.map(Number)
        asked += b - a + 1
      }
      assert.equal(asked, tor.payload.length - 25_535)
    } finally {
      await session.close()
    }
  })
})

test('redirects are followed, and a server that ignores Range (200) is read within bounds', { timeout: 90_000 }, async (t) => {
  const locations = () => `
    location = /moved/seed.bin { return 302 /elsewhere/seed.bin; }
    location = /elsewhere/seed.bin { return 301 /pub/seed.bin; }
    location /norange/ { max_ranges 0; }`
  await withNginx(t, 'redirect', locations, async (nginx, work) => {
    const single = buildWebSeedTorrent({ name: 'seed.bin', files: 200_000, pieceLength: 16 * 1024, urlList: [`${nginx.origin}/moved/seed.bin`], seed: 5 })
    await publish(single, 'seed.bin', join(nginx.root, 'pub'))
    const small = buildWebSeedTorrent({ name: 'small files', files: [{ path: ['x'], length: 50_000 }, { path: ['y z'], length: 70_000 }], pieceLength: 16 * 1024, urlList: [`${nginx.origin}/norange/`], seed: 9 })
    await publish(small, 'small files', join(nginx.root, 'norange'))
    const first = await download(join(work, 'a'), single)
    await first.session.close()
    assert.ok((await readFile(join(first.out, 'seed.bin'))).equals(single.payload))
    const log = await nginx.accessLog()
    assert.ok(log.some((l) => l.path === '/moved/seed.bin' && l.status === 302))
    assert.ok(log.some((l) => l.path === '/pub/seed.bin' && l.status === 206))

    const second = await download(join(work, 'b'), small)
    await second.session.close()
    await assertFiles(small, 'small files', second.out)
    assert.ok((await nginx.accessLog()).some((l) => l.path.startsWith('/norange/') && l.status === 200), 'nginx answered 200 to our Range requests')
  })
})

test('a web seed serving wrong bytes beside a good peer: the download completes and that URL is dropped with one warning', { timeout: 90_000 }, async (t) => {
  await withNginx(t, 'bad', () => '', async (nginx, work) => {
    const name = 'good and bad.bin'
    const bad = `${nginx.origin}/bad/`
    const tor = buildWebSeedTorrent({ name, files: 1_000_000, pieceLength: 16 * 1024, urlList: [bad], seed: 3 })
    await publish(tor, name, join(nginx.root, 'bad'), true)
    // The good peer, slowed so the web seed surely delivers first.
    const seeder = await goodSeeder(work, tor, name, new LimiterChain(new TokenBucket(2 * 1024 * 1024)))
    try {
      const { session, warnings, out } = await download(work, tor, [{ host: '127.0.0.1', port: seeder.port }])
      try {
        assert.ok((await readFile(join(out, name))).equals(tor.payload), 'byte for byte')
        const about = warnings.filter((w) => w.includes(bad))
        assert.equal(about.length, 1, `one warning about ${bad}: ${JSON.stringify(warnings)}`)
        assert.match(about[0], /web seed .* dropped: piece \d+ failed the hash check/)
        const details = await session.details(tor.infoHashHex)
        assert.ok(!details.peers.some((p) => p.key === bad), 'the dropped web seed is gone from the peers tab')
        assert.ok((await nginx.accessLog()).some((l) => l.status === 206), 'the bad web seed was asked')
      } finally {
        await session.close()
      }
    } finally {
      await seeder.stop()
    }
  })
})

test('a web seed beside a peer on the same address: both give data, and the web seed takes no connection slot', { timeout: 90_000 }, async (t) => {
  // nginx sends at 300 KB/s: the peer does most of the work, the web seed some.
  await withNginx(t, 'beside', () => '    location /slow/ { limit_rate 300k; }', async (nginx, work) => {
    const name = 'shared.bin'
    const tor = buildWebSeedTorrent({ name, files: 3_000_000, pieceLength: 32 * 1024, urlList: [`${nginx.origin}/slow/`], seed: 17 })
    await publish(tor, name, join(nginx.root, 'slow'))
    const seeder = await goodSeeder(work, tor, name)
    try {
      // One connection per torrent and per IP: the web seed on 127.0.0.1 must not take it from the peer on 127.0.0.1.
      const { session, warnings, out } = await download(work, tor, [{ host: '127.0.0.1', port: seeder.port }], { maxConnectionsPerTorrent: 1, maxConnectionsPerIp: 1 })
      try {
        assert.ok((await readFile(join(out, name))).equals(tor.payload), 'byte for byte')
        assert.deepEqual(warnings, [])
        assert.ok(seeder.torrent.snapshot().uploadedBytes > 0, 'the peer gave data')
        const webSeed = (await session.details(tor.infoHashHex)).peers.find((p) => p.source === 'webseed')
        assert.ok(webSeed && webSeed.downloadRate > 0, `the web seed gave data: ${JSON.stringify(webSeed)}`)
      } finally {
        await session.close()
      }
      // nginx logs a request once it ends: the web seed's last ones ended with the session.
      await waitUntil(async () => (await nginx.accessLog()).some((l) => l.status === 206), 10_000, 'the web seed\'s requests in the log')
    } finally {
      await seeder.stop()
    }
  })
})

test('`add` from a web seed alone exits 0 with nothing left open; `info` lists the web seed', { timeout: 90_000 }, async (t) => {
  await withNginx(t, 'cli', () => '', async (nginx, work) => {
    const name = 'cli seed ü.bin'
    const url = `${nginx.origin}/files/`
    const tor = buildWebSeedTorrent({ name, files: 700_001, pieceLength: 32 * 1024, urlList: [url], seed: 23 })
    await publish(tor, name, join(nginx.root, 'files'))
    const torrentPath = join(work, 'cli.torrent')
    await writeFile(torrentPath, tor.torrent)
    const info = await runCli(['info', torrentPath, '--json'], { timeoutMs: 30_000 })
    assert.equal(info.code, 0, describeRun(info))
    assert.deepEqual(JSON.parse(info.stdout).webSeeds, [url])
    const out = join(work, 'out')
    // FRIENDTORRENT_NO_FORCED_EXIT (runCli's env): a socket still open after the download would make this 70.
    const add = await runCli(['add', torrentPath, '-o', out, '-q'], { timeoutMs: 60_000 })
    assert.equal(add.code, 0, describeRun(add))
    assert.ok((await readFile(join(out, name))).equals(tor.payload), 'byte for byte')
  })
})

test('an https web seed (nginx with a certificate the client is told to trust); through the shebang, the certificate is loaded at the first HTTPS request', { timeout: 90_000 }, async (t) => {
  await withNginx(t, 'https', () => '', async (nginx, work) => {
    const name = 'secure.bin'
    const tor = buildWebSeedTorrent({ name, files: 500_000, pieceLength: 32 * 1024, urlList: [`${nginx.origin}/s/${name}`], seed: 29 })
    await publish(tor, name, join(nginx.root, 's'))
    const torrentPath = join(work, 'https.torrent')
    await writeFile(torrentPath, tor.torrent)
    // `node bin/friendtorrent.js`: Node loads NODE_EXTRA_CA_CERTS itself at start-up.
    const add = await runCli(['add', torrentPath, '-o', join(work, 'out'), '-q'], { timeoutMs: 60_000, env: { NODE_EXTRA_CA_CERTS: nginx.certFile } })
    assert.equal(add.code, 0, describeRun(add))
    assert.ok((await readFile(join(work, 'out', name))).equals(tor.payload), 'byte for byte')
    assert.ok((await nginx.accessLog()).some((l) => l.status === 206))
    // The bin as a user starts it: its shebang hides NODE_EXTRA_CA_CERTS from Node, so the .torrent
    // link (a request of its own) and the web seed (a keep-alive Agent) are trusted only through
    // the certificates src/discovery/tls-roots.ts loads.
    await writeFile(join(nginx.root, 's', 'https.torrent'), tor.torrent)
    const link = `${nginx.origin}/s/https.torrent`
    const viaShebang = await runCli(['add', link, '-o', join(work, 'out2'), '-q'], { timeoutMs: 60_000, shebang: true, env: { NODE_EXTRA_CA_CERTS: nginx.certFile } })
    assert.equal(viaShebang.code, 0, describeRun(viaShebang))
    assert.ok((await readFile(join(work, 'out2', name))).equals(tor.payload), 'byte for byte through the shebang')
    assert.doesNotMatch(viaShebang.stderr, /Ignoring extra certs/)
    // A file that is not there: one warning line, as Node's own, and the link is refused with the reason.
    const missing = join(work, 'no-such-ca.pem')
    const refused = await runCli(['add', link, '-o', join(work, 'out3'), '-q'], { timeoutMs: 60_000, shebang: true, env: { NODE_EXTRA_CA_CERTS: missing } })
    assert.equal(refused.code, 1, describeRun(refused))
    const lines = refused.stderr.trim().split('\n')
    assert.equal(lines.filter((l) => l.includes(`Ignoring extra certs from \`${missing}\`, load failed: ENOENT`)).length, 1, describeRun(refused))
    assert.ok(lines.some((l) => l.startsWith(`friendtorrent: cannot download ${link}: self-signed certificate`)), describeRun(refused))
  }, true)
})
