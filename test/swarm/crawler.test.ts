// The crawler in-process over a small loopback DHT of our nodes (BEP 51) and
// our seeders, into a real SQLite index: every torrent is stored once with
// its name, size and files; a hash whose only peer serves metadata that does
// not hash to it is never stored; a node that floods us with fresh hashes
// gets no more than its share in flight, and the honest torrents still land.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import bencode from 'bencode'
import { parseAddress } from '../../src/core/types.ts'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { metainfoFromInfo } from '../../src/metainfo/metainfo.ts'
import { Crawler } from '../../src/index/crawler.ts'
import { openIndexStore } from '../../src/index/open-store.ts'
import { startCrawlNet } from '../helpers/crawl-net.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const TUNING = { tickMs: 50, statsIntervalMs: 1000, minSampleIntervalMs: 1000, retryBaseMs: 300, maxAttempts: 2, fetchTimeoutMs: 5000, connectTimeoutMs: 2000, maxHashesPerNode: 30 }

test('crawls a loopback DHT into SQLite: every torrent once, right name, size and files; a liar’s metadata never stored; a flooding node held to its share', async (t) => {
  const dir = tempDir('crawl-swarm')
  const net = await startCrawlNet({ nodes: 8, torrents: 40, dir: dir.path, sampleIntervalSeconds: 1, subnet: 71 })
  t.after(() => net.close())
  t.after(() => dir.cleanup())

  // A hash announced from node 0's address whose only peer there serves another torrent's info dict.
  const real = buildTorrent({ name: 'the real one', files: 5000, pieceLength: 16384, seed: 999 })
  const other = buildTorrent({ name: 'something else', files: 6000, pieceLength: 16384, seed: 998 })
  const otherInfo = Buffer.from(bencode.encode(bencode.decode(other.torrent).info))
  const liar = await startWirePeer({ infoHash: real.infoHash, payload: real.payload, pieceLength: real.pieceLength, host: '127.0.71.1', metadata: { info: otherInfo } })
  t.after(() => liar.close())
  await net.nodes[0].announce(real.infoHash, liar.port)

  // A raw UDP "node" answering every query with 40 fresh random hashes and interval 0.
  const flooder = createSocket('udp4')
  flooder.bind(0, '127.0.71.200')
  await once(flooder, 'listening')
  t.after(() => flooder.close())
  let floodReplies = 0
  flooder.on('message', (msg, rinfo) => {
    const q = bencode.decode(msg)
    floodReplies++
    const r = { id: randomBytes(20), interval: 0, num: 1_000_000, samples: randomBytes(40 * 20), nodes: Buffer.alloc(0) }
    flooder.send(Buffer.from(bencode.encode({ t: q.t, y: 'r', r })), rinfo.port, rinfo.address)
  })

  const store = await openIndexStore('', dir.path)
  t.after(() => store.close())
  const dht = new DhtNode({ port: 0, host: '127.0.0.1', bootstrap: net.bootstrap, concurrency: 64 })
  dht.on('warning', () => {})
  await dht.start()
  t.after(() => dht.stop())

  const logs: string[] = []
  const storedEvents: string[] = []
  const bootstrap = [...net.bootstrap, `127.0.71.200:${flooder.address().port}`].map(parseAddress)
  const crawler = new Crawler({ dht, store, bootstrap, log: (l) => logs.push(l), tuning: TUNING })
  crawler.on('stored', (h) => storedEvents.push(h))
  const errors: string[] = []
  crawler.on('error', (m) => errors.push(m))
  let maxPerFlooder = 0
  crawler.start()
  try {
    await waitUntil(async () => {
      maxPerFlooder = Math.max(maxPerFlooder, crawler.gauges().fetchQueue + crawler.gauges().lookups)
      return (await store.storedAmong(net.torrents.map((f) => f.infoHash))).size === net.torrents.length && crawler.counters.mismatched > 0
    }, 90_000, 'every fixture torrent stored and the liar found out', 200)
  } finally {
    await crawler.stop()
  }
  assert.deepEqual(errors, [])

  // Each fixture as it was made: name, total size and files (path and size), from the stored info dict.
  for (const f of net.torrents) {
    const dict = await store.infoDict(f.infoHash)
    assert.ok(dict, `${f.name} has its info dict stored`)
    const meta = await metainfoFromInfo(dict)
    assert.equal(meta.name, f.name)
    assert.equal(meta.length, f.sizeBytes)
    const [hit] = await store.search({ text: f.name, limit: 1 })
    assert.equal(hit?.infoHash, f.infoHash, `search finds ${f.name}`)
    assert.equal(hit.sizeBytes, f.sizeBytes)
    assert.equal(hit.fileCount, f.files.length)
  }
  // None twice: each hash was fetched and handed to the store once.
  assert.equal(new Set(storedEvents).size, storedEvents.length)

  // The liar's hash: the metadata it served hashed to something else, so nothing was stored.
  assert.equal(await store.infoDict(real.infoHash.toString('hex')), undefined)
  assert.deepEqual(await store.search({ text: 'something else', limit: 5 }), [])
  assert.ok(liar.stats.metadataServed > 0, 'the liar was asked for its metadata')

  // The flooder was sampled and sent plenty, but had at most its share in flight at any time.
  assert.ok(floodReplies > 0)
  assert.ok(crawler.counters.dropped > 0, 'hashes past the flooder’s share were dropped')
  assert.ok(maxPerFlooder <= TUNING.maxHashesPerNode + net.torrents.length + 1, `in flight at most ${maxPerFlooder}`)
  assert.ok(logs.some((l) => /^crawl: \d+ hashes seen \(\d+\/min\), \d+ new, \d+ fetched/.test(l)), `a stats line among ${logs.join(' | ')}`)
})
