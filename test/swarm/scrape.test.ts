// Scrape (BEP 48 over HTTP, BEP 15 over UDP) as TrackerSource does it: after
// each announce, against bittorrent-tracker's server and Debian's opentracker
// on 127.0.0.1, and a hand-made HTTP tracker that asks for a long
// min_request_interval and counts the scrapes it gets. Schedules run on a
// FakeClock; only network replies are awaited.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import { test } from 'node:test'
import bencode from 'bencode'
import { TrackerSource, type TrackerStatus } from '../../src/discovery/tracker-source.ts'
import { scrapeTracker, scrapeUrlFor } from '../../src/discovery/tracker-scrape.ts'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describeRun, runCli } from '../helpers/cli.ts'
import { FakeClock } from '../helpers/fake-clock.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { hasBinary } from '../helpers/real-clients.ts'
import { startOpentracker, startTracker } from '../helpers/tracker.ts'

const WAIT_MS = 10_000
const START_MS = 1_000_000

function source(url: string, infoHash: Buffer, port: number, left: number, clock?: FakeClock): TrackerSource {
  return new TrackerSource({ infoHash, peerId: randomBytes(20), port, tiers: [[url]], getStats: () => ({ uploaded: 0, downloaded: 0, left }), clock })
}

async function scraped(src: TrackerSource, what: (s: TrackerStatus) => boolean, label: string): Promise<TrackerStatus> {
  await waitUntil(() => what(src.status()[0]), WAIT_MS, label)
  return src.status()[0]
}

for (const kind of ['http', 'udp'] as const) {
  test(`bittorrent-tracker over ${kind.toUpperCase()}: a seeder and a leecher announce, the scrape counts them`, async () => {
    const tracker = await startTracker({ intervalMs: 60_000 })
    const url = kind === 'http' ? tracker.httpUrl : tracker.udpUrl
    const infoHash = randomBytes(20)
    const seeder = source(url, infoHash, 7101, 0)
    const leecher = source(url, infoHash, 7102, 500)
    try {
      seeder.start()
      await tracker.waitForSeeders(infoHash.toString('hex'), 1, WAIT_MS)
      leecher.start()
      const s = await scraped(leecher, (t) => t.scrape !== undefined, 'the leecher to scrape after its announce')
      assert.equal(s.scrapeError, undefined)
      assert.equal(s.scrape!.seeders, 1)
      assert.equal(s.scrape!.leechers, 1)
      assert.equal(typeof s.scrape!.completed, 'number')
    } finally {
      await leecher.stop()
      await seeder.stop()
      await tracker.close()
    }
  })
}

test('opentracker (HTTP and UDP): a seeder that announced is counted by the scrape of each', { skip: !hasBinary('opentracker') && 'opentracker is not installed' }, async () => {
  const infoHash = randomBytes(20)
  const ot = await startOpentracker([infoHash.toString('hex')])
  const sources: TrackerSource[] = []
  try {
    for (const [i, url] of [ot.httpUrl, ot.udpUrl].entries()) {
      const src = source(url, infoHash, 7201 + i, 0)
      sources.push(src)
      src.start()
      const s = await scraped(src, (t) => t.scrape !== undefined || t.scrapeError !== undefined, `a scrape of ${url}`)
      assert.equal(s.scrapeError, undefined, url)
      assert.equal(s.scrape!.seeders, i + 1, `${url}: every seeder so far is counted`)
      assert.equal(s.scrape!.leechers, 0, url)
    }
  } finally {
    for (const s of sources) await s.stop()
    await ot.close()
  }
})

test('scrapes ride the announce schedule but never come sooner than flags.min_request_interval', async () => {
  const clock = new FakeClock(START_MS)
  const infoHash = randomBytes(20)
  const asked: string[] = []
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    asked.push(path)
    if (path === '/announce') return void res.end(bencode.encode({ interval: 30, peers: Buffer.alloc(0), complete: 1, incomplete: 0 }))
    if (path === '/scrape') {
      const files = { [infoHash.toString('binary')]: { complete: 4, incomplete: 2, downloaded: 9 } }
      return void res.end(Buffer.concat([Buffer.from('d5:filesd20:'), infoHash, Buffer.from(bencode.encode(files[infoHash.toString('binary')])), Buffer.from('e5:flagsd20:min_request_intervali90eee')]))
    }
    res.statusCode = 404
    res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  const src = source(`http://127.0.0.1:${port}/announce`, infoHash, 7301, 100, clock)
  const count = (p: string) => asked.filter((a) => a === p).length
  try {
    src.start()
    const first = await scraped(src, (t) => t.scrape !== undefined, 'the first scrape')
    assert.deepEqual(first.scrape, { seeders: 4, leechers: 2, completed: 9, atMs: START_MS })
    // Announces every 30 s; scrapes at most every 90 s: at 0 and 90 of the five announces up to 120 s.
    for (let announces = 2; announces <= 5; announces++) {
      clock.advance(30_000)
      await waitUntil(() => count('/announce') === announces && src.status()[0].state === 'ok', WAIT_MS, `announce ${announces}`)
    }
    await waitUntil(() => count('/scrape') === 2 && src.status()[0].scrape?.atMs === START_MS + 90_000, WAIT_MS, 'the second scrape, at 90 s')
    assert.equal(count('/scrape'), 2, `${asked.join(' ')}`)
  } finally {
    await src.stop()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('scrape URLs follow BEP 48; a tracker without "announce" in its last path segment is not scraped', async () => {
  assert.equal(scrapeUrlFor('http://t.example/announce'), 'http://t.example/scrape')
  assert.equal(scrapeUrlFor('http://t.example/x/announce.php?passkey=a'), 'http://t.example/x/scrape.php?passkey=a')
  assert.equal(scrapeUrlFor('http://t.example/a'), undefined)
  assert.equal(scrapeUrlFor('http://t.example/announce/x'), undefined)
  assert.equal(scrapeUrlFor('udp://t.example:80'), 'udp://t.example:80')
  assert.equal(scrapeUrlFor('wss://t.example/announce'), undefined)
  // A tracker that refuses: one line.
  const server = http.createServer((_req, res) => res.end('d14:failure reason8:go away!e'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const call = scrapeTracker(`http://127.0.0.1:${(server.address() as { port: number }).port}/scrape`, randomBytes(20))
    await assert.rejects(call.result, { message: 'tracker refused the scrape: go away!' })
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

test('info --scrape: each tracker of a .torrent file answers with its counts, or one line why not', { timeout: 60_000 }, async () => {
  const tracker = await startTracker()
  const home = tempDir('scrape-info')
  const b = buildTorrent({ name: 'scraped.bin', files: 50_000, pieceLength: 16 * 1024, announce: [tracker.httpUrl] })
  const noScrape = 'http://127.0.0.1:1/tracker'
  const dict = bencode.decode(b.torrent) as Record<string, unknown>
  const torrent = Buffer.from(bencode.encode({ ...dict, 'announce-list': [[tracker.httpUrl], [tracker.udpUrl], [noScrape]] }))
  const file = join(home.path, 'scraped.torrent')
  writeFileSync(file, torrent)
  const seeder = source(tracker.httpUrl, b.infoHash, 7401, 0)
  try {
    seeder.start()
    await tracker.waitForSeeders(b.infoHash.toString('hex'), 1, WAIT_MS)
    const json = await runCli(['info', file, '--scrape', '--json'], { timeoutMs: 30_000, homeDir: home.path })
    assert.equal(json.code, 0, describeRun(json))
    // bittorrent-tracker counts each seeder it lists as one completed download.
    assert.deepEqual((JSON.parse(json.stdout) as { scrape: unknown }).scrape, [
      { url: tracker.httpUrl, seeders: 1, leechers: 0, completed: 1 },
      { url: tracker.udpUrl, seeders: 1, leechers: 0, completed: 1 },
      { url: noScrape, error: 'this tracker cannot be scraped (BEP 48: its URL does not end in "announce")' },
    ])
    const human = await runCli(['info', file, '--scrape'], { timeoutMs: 30_000, homeDir: home.path })
    assert.equal(human.code, 0, describeRun(human))
    assert.match(human.stdout, new RegExp(`\\n  ${tracker.udpUrl.replace(/[.]/g, '\\.')}: 1 seeders, 0 leechers, 1 completed\\n`))
  } finally {
    await seeder.stop()
    await tracker.close()
    await home.cleanup()
  }
})
