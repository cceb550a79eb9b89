// A web seed that fails is backed off and retried, on a fake clock with real
// HTTP on 127.0.0.1: nginx answering 503 (a location that does while a flag
// file exists), a refused connection, and a server that accepts and never
// answers. Then servers that send more than asked are cut off at the range,
// the download limit bounds what a web seed asks for, and the bytes that
// arrive are the torrent's, byte for byte.
import assert from 'node:assert/strict'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import { Bitfield } from '../../src/core/bitfield.ts'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import { BLOCK_SIZE } from '../../src/core/types.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import type { PeerConnection } from '../../src/peer/peer-connection.ts'
import { Downloader } from '../../src/torrent/downloader.ts'
import { WebSeed } from '../../src/torrent/web-seed.ts'
import { FakeClock } from '../helpers/fake-clock.ts'
import { MemoryStorage } from '../helpers/memory-storage.ts'
import { haveNginx, NGINX, startNginx } from '../helpers/nginx.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import { buildWebSeedTorrent, publish } from '../helpers/web-seed-torrent.ts'
import type { WebSeedTorrent } from '../helpers/web-seed-torrent.ts'

const BASE_MS = 1_000
const TIMEOUT_MS = 20_000

interface Rig {
  meta: Metainfo
  clock: FakeClock
  downloader: Downloader
  storage: MemoryStorage
  seed: WebSeed
  stop(): void
}

async function rig(t: WebSeedTorrent, url: string, opts: { limiter?: LimiterChain } = {}): Promise<Rig> {
  const meta = await parseTorrentFile(t.torrent)
  const clock = new FakeClock(1_000_000)
  const storage = new MemoryStorage(meta)
  const downloader = new Downloader({
    meta,
    storage,
    clock,
    connections: new Map<string, PeerConnection>(),
    isDownloading: () => true,
    maxPieceMemoryBytes: 8 * 1024 * 1024,
    requestTimeoutMs: TIMEOUT_MS,
    downloadLimiter: opts.limiter,
  })
  downloader.start(new Bitfield(meta.pieceCount))
  const seed = new WebSeed({ url, meta, sink: downloader, clock, timeoutMs: TIMEOUT_MS, retryBaseMs: BASE_MS })
  downloader.on('refill', () => seed.fill())
  return { meta, clock, downloader, storage, seed, stop: () => (seed.stop(), downloader.stop()) }
}

async function assertComplete(r: Rig, t: WebSeedTorrent): Promise<void> {
  await waitUntil(() => r.downloader.isComplete(), 30_000, 'every piece verified')
  await r.downloader.settle()
  assert.ok((await r.storage.read(0, 0, r.meta.length)).equals(t.payload), 'byte for byte')
}

test('nginx answering 503: backed off 1 s, then 2 s, retried, and the download completes once it serves', { timeout: 60_000 }, async (t: TestContext) => {
  if (!haveNginx()) {
    if (process.env.CI) throw new Error(`${NGINX} is missing: apt-get install nginx-light`)
    return t.skip(`${NGINX} is missing: apt-get install nginx-light`)
  }
  const work = tempDir('webseed-503')
  const flag = join(work.path, 'down')
  const nginx = await startNginx(join(work.path, 'nginx'), `    location /flaky/ { if (-f ${flag}) { return 503; } }`)
  let r: Rig | undefined
  try {
    const tor = buildWebSeedTorrent({ name: 'flaky.bin', files: 300_000, pieceLength: BLOCK_SIZE, urlList: [] })
    await publish(tor, 'flaky.bin', join(nginx.root, 'flaky'))
    await writeFile(flag, '')
    r = await rig(tor, `${nginx.origin}/flaky/flaky.bin`)
    const { seed, clock } = r
    seed.fill()
    await waitUntil(() => seed.failures === 1, 10_000, 'the first 503')
    assert.match(seed.lastError ?? '', /503/)
    assert.equal(seed.retryAtMs, clock.now() + BASE_MS)
    assert.equal(seed.snapshot().peerChoking, true, 'shown as waiting')
    const sent = seed.requestsSent
    clock.advance(BASE_MS - 1)
    assert.equal(seed.requestsSent, sent, 'nothing before the wait is over')
    clock.advance(1)
    assert.ok(seed.requestsSent > sent, 'retried when it is')
    await waitUntil(() => seed.failures === 2, 10_000, 'the second 503')
    assert.equal(seed.retryAtMs, clock.now() + 2 * BASE_MS, 'the wait doubled')
    const log = await nginx.accessLog()
    assert.ok(log.length >= 2 && log.every((l) => l.status === 503), JSON.stringify(log))

    await rm(flag)
    clock.advance(2 * BASE_MS)
    await assertComplete(r, tor)
    assert.equal(seed.failures, 0, 'a success clears the failures')
    assert.equal((await nginx.accessLog()).filter((l) => l.status === 206).length > 0, true)
  } finally {
    r?.stop()
    await nginx.stop()
    await work.cleanup()
  }
})

test('a refused connection and a server that never answers are backed off too', { timeout: 60_000 }, async () => {
  const tor = buildWebSeedTorrent({ name: 'x.bin', files: 100_000, pieceLength: BLOCK_SIZE, urlList: [] })
  // Nothing listens on this port.
  const closed = await freePort()
  const refused = await rig(tor, `http://127.0.0.1:${closed}/x.bin`)
  try {
    refused.seed.fill()
    await waitUntil(() => refused.seed.failures === 1, 10_000, 'the refused connection')
    assert.match(refused.seed.lastError ?? '', /ECONNREFUSED/)
    assert.equal(refused.seed.retryAtMs, refused.clock.now() + BASE_MS)
    refused.clock.advance(BASE_MS)
    await waitUntil(() => refused.seed.failures === 2, 10_000, 'the second try, refused too')
  } finally {
    refused.stop()
  }

  const sockets = new Set<Socket>()
  const silent = createNetServer((s) => sockets.add(s))
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  const port = (silent.address() as { port: number }).port
  const quiet = await rig(tor, `http://127.0.0.1:${port}/x.bin`)
  try {
    quiet.seed.fill()
    await waitUntil(() => sockets.size > 0, 10_000, 'the connection')
    quiet.clock.advance(TIMEOUT_MS)
    quiet.seed.handleTick(quiet.clock.now())
    assert.equal(quiet.seed.failures, 0, 'not before the timeout')
    quiet.clock.advance(1)
    quiet.seed.handleTick(quiet.clock.now())
    await waitUntil(() => quiet.seed.failures === 1, 10_000, 'the timeout')
    assert.match(quiet.seed.lastError ?? '', /no data for 20 s/)
    assert.equal(quiet.seed.snapshot().outstanding, 0, 'its blocks went back to the picker')
  } finally {
    quiet.stop()
    for (const s of sockets) s.destroy()
    silent.close()
  }
})

test('a server sending more than asked is cut off at the range; a wrong Content-Range or file size drops it', { timeout: 60_000 }, async () => {
  const tor = buildWebSeedTorrent({ name: 'more.bin', files: 400_000, pieceLength: 2 * BLOCK_SIZE, urlList: [], seed: 21 })
  let extraSent = 0
  const server = createHttpServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!
    const start = Number(m[1])
    const end = Number(m[2])
    if (req.url === '/lying-size') {
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${tor.payload.length + 1}` })
      return res.end(tor.payload.subarray(start, end + 1))
    }
    // 206 with the right header, then the rest of the file after the range (chunked, no length).
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${tor.payload.length}` })
    res.write(tor.payload.subarray(start, end + 1))
    extraSent += 64 * 1024
    res.end(Buffer.alloc(64 * 1024, 0xee))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const more = await rig(tor, `${origin}/more`)
  try {
    more.seed.fill()
    await assertComplete(more, tor)
    assert.ok(extraSent > 0)
    assert.equal(more.seed.failures, 0)
  } finally {
    more.stop()
  }
  const lying = await rig(tor, `${origin}/lying-size`)
  try {
    const dropped: string[] = []
    lying.seed.on('unusable', (reason) => dropped.push(reason))
    lying.seed.fill()
    await waitUntil(() => dropped.length > 0, 10_000, 'the web seed found unusable')
    assert.match(dropped[0], /the file is 400001 bytes there, the torrent says 400000/)
  } finally {
    lying.stop()
    server.closeAllConnections()
    server.close()
  }
})

test('the download limit bounds what a web seed asks for at once', async () => {
  const tor = buildWebSeedTorrent({ name: 'limited.bin', files: 4 * 1024 * 1024, pieceLength: BLOCK_SIZE, urlList: [] })
  const clock = new FakeClock(0)
  // 64 KiB/s, whose bucket holds 64 KiB: four blocks now, then one per 250 ms.
  const limiter = new LimiterChain(new TokenBucket(64 * 1024, undefined, clock))
  const meta = await parseTorrentFile(tor.torrent)
  const downloader = new Downloader({ meta, storage: new MemoryStorage(meta), clock, connections: new Map(), isDownloading: () => true, maxPieceMemoryBytes: 8 << 20, requestTimeoutMs: TIMEOUT_MS, downloadLimiter: limiter })
  downloader.start(new Bitfield(meta.pieceCount))
  downloader.addPeer('ws')
  downloader.handleHaveAll('ws')
  // A run starts at a random piece and stops at the torrent's end, so it can be shorter
  // than the tokens: ask until nothing comes (at most one run per piece).
  let taken = 0
  for (let i = 0, got = downloader.pickRun('ws', 256); got.length > 0 && i < 256; i++, got = downloader.pickRun('ws', 256)) taken += got.length
  assert.equal(taken, 4, 'as many blocks as there are tokens, and none after')
  clock.advance(250)
  assert.equal(downloader.pickRun('ws', 256).length, 1)
  downloader.stop()
})
