// Two `friendtorrent crawl` processes sharing one PostgreSQL index (a schema
// of this test's own, dropped afterwards) over one loopback DHT: together
// they store every torrent, none twice, and no hash is fetched by both (the
// fetch counts of the two add up to exactly what the index holds). Needs
// FRIENDTORRENT_TEST_PG (.ci/run sets it); skipped without it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { startCrawlNet, type CrawlNet } from '../helpers/crawl-net.ts'
import { CLI_PATH, isolatedEnv, testConfigJson } from '../helpers/cli.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

const PG = process.env.FRIENDTORRENT_TEST_PG
/** How often each crawl samples a node (the crawl's floor, a minute by default, and the nodes' interval). */
const RESAMPLE_SECONDS = 10

/** The last stats line's hashes seen and fetched. */
function countsOf(output: string): { seen: number; fetched: number } {
  const lines = [...output.matchAll(/crawl: (\d+) hashes seen .*?, \d+ new, (\d+) fetched/g)]
  assert.ok(lines.length > 0, `no stats line in:\n${output}`)
  const last = lines[lines.length - 1]
  return { seen: Number(last[1]), fetched: Number(last[2]) }
}

test('two crawls against one PostgreSQL: the union complete, no duplicates, no hash fetched by both', { skip: PG ? false : 'FRIENDTORRENT_TEST_PG is not set' }, async (t) => {
  const schema = `ft_crawl_${process.pid}_${Date.now() % 1e6}`
  const url = new URL(PG!)
  url.searchParams.set('schema', schema)
  const client = new pg.Client({ connectionString: PG })
  await client.connect()
  t.after(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await client.end()
  })
  const dir = tempDir('crawl-pg')
  t.after(() => dir.cleanup())
  let net: CrawlNet | undefined
  t.after(() => net?.close())
  net = await startCrawlNet({ nodes: 12, torrents: 120, dir: join(dir.path, 'seeds'), sampleIntervalSeconds: RESAMPLE_SECONDS, subnet: 73, deferAnnounce: true })

  const crawls = ['a', 'b'].map((name) => {
    const home = join(dir.path, name)
    mkdirSync(join(home, '.config', 'friendtorrent'), { recursive: true })
    writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ dht: true, dhtBootstrap: net!.bootstrap, indexDatabase: url.toString(), crawlResampleSeconds: RESAMPLE_SECONDS }))
    const proc = new ManagedProcess(`crawl ${name}`, process.execPath, [CLI_PATH, 'crawl'], { env: isolatedEnv(home), cwd: home })
    t.after(() => proc.stop())
    return proc
  })
  await waitUntil(() => crawls.every((c) => /crawling the DHT from UDP port/.test(c.logs())) || crawls.some((c) => !c.running), 30_000, 'both crawls running', 200)
  // Torrents appear over 20 s while both sample the nodes (each node every 10 s, at times of their own): both get work, and race for hashes they both saw.
  await net.announce(20_000)
  const count = async () => {
    try {
      return Number((await client.query(`SELECT count(*) AS n FROM ${schema}.torrents`)).rows[0].n)
    } catch {
      return 0 // the schema is not made yet
    }
  }
  await waitUntil(async () => (await count()) === net!.torrents.length || crawls.some((c) => !c.running), 150_000, 'every torrent in PostgreSQL', 500)
  for (const c of crawls) await c.stop()
  for (const c of crawls) assert.equal(await c.exited, 0, c.tail())

  const rows = (await client.query(`SELECT encode(info_hash, 'hex') AS hash, name, size_bytes FROM ${schema}.torrents`)).rows as { hash: string; name: string; size_bytes: string }[]
  const want = new Map(net.torrents.map((f) => [f.infoHash, f]))
  assert.equal(rows.length, net.torrents.length)
  assert.equal(new Set(rows.map((r) => r.hash)).size, rows.length, 'no torrent twice')
  for (const r of rows) {
    const f = want.get(r.hash)
    assert.ok(f, `${r.hash} is one of the DHT's torrents`)
    assert.equal(r.name, f.name)
    assert.equal(Number(r.size_bytes), f.sizeBytes)
  }
  const [ca, cb] = crawls.map((c) => countsOf(c.logs()))
  const [a, b] = [ca.fetched, cb.fetched]
  assert.equal(a + b, rows.length, `crawl a fetched ${a}, crawl b ${b}: a hash fetched by both would count twice`)
  // Both raced for the same hashes: each saw some. Who fetched which is the claim table's first come (a
  // crawl that claims sooner may take them all), so a split of the fetches is not asserted.
  assert.ok(ca.seen > 0 && cb.seen > 0, `both crawls saw hashes (a ${ca.seen}, b ${cb.seen})`)
  t.diagnostic(`crawl a saw ${ca.seen} and fetched ${a}, crawl b saw ${cb.seen} and fetched ${b}, of ${rows.length}`)
})
