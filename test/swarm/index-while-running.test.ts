// Config `indexWhileRunning`: a headless session (`friendtorrent seed`) also
// crawls, over its own DHT node, a loopback DHT of our nodes holding torrents
// our seeders serve, into its SQLite index, and reports the crawl's counters
// through its control channel (`status`, `status --json`); SIGTERM still stops
// it cleanly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { startCrawlNet, type CrawlNet } from '../helpers/crawl-net.ts'
import type { StatusReport } from '../../src/cli/status-command.ts'
import { CLI_PATH, describeRun, isolatedEnv, runCli, testConfigJson } from '../helpers/cli.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

function storedHashes(file: string): string[] {
  try {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare('SELECT lower(hex(info_hash)) AS h FROM torrents').all() as { h: string }[]).map((r) => r.h)
    } finally {
      db.close()
    }
  } catch {
    return []
  }
}

test('a session with indexWhileRunning indexes the DHT in the background and still stops cleanly', async (t) => {
  const dir = tempDir('crawl-session')
  t.after(() => dir.cleanup())
  let net: CrawlNet | undefined
  t.after(() => net?.close())
  net = await startCrawlNet({ nodes: 6, torrents: 30, dir: join(dir.path, 'seeds'), sampleIntervalSeconds: 30, subnet: 75 })
  const home = join(dir.path, 'home')
  mkdirSync(join(home, '.config', 'friendtorrent'), { recursive: true })
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ dht: true, dhtBootstrap: net.bootstrap, indexWhileRunning: true, listenPort: 0 }))
  const dbFile = join(home, '.local', 'share', 'friendtorrent', 'index.sqlite')
  const seed = new ManagedProcess('seed', process.execPath, [CLI_PATH, 'seed'], { env: isolatedEnv(home), cwd: home })
  t.after(() => seed.stop())
  await waitUntil(() => storedHashes(dbFile).length === net!.torrents.length || !seed.running, 90_000, 'the session to index every torrent', 500)
  assert.ok(seed.running, seed.tail())
  assert.deepEqual(storedHashes(dbFile).sort(), net.torrents.map((f) => f.infoHash).sort())
  // The counters, through the control channel as `status --json` reads them.
  const asJson = await runCli(['status', '--json'], { timeoutMs: 30_000, homeDir: home })
  assert.equal(asJson.code, 0, describeRun(asJson))
  const { crawl } = JSON.parse(asJson.stdout) as StatusReport
  assert.ok(crawl, `status --json has the crawl: ${asJson.stdout}`)
  const n = net.torrents.length
  assert.ok(crawl.counters.fetched >= n, `fetched ${crawl.counters.fetched} of ${n}`)
  assert.ok(crawl.counters.new >= crawl.counters.fetched && crawl.counters.seen >= crawl.counters.new && crawl.counters.samples > 0, JSON.stringify(crawl.counters))
  assert.ok(crawl.perMinute.fetched >= 1 && crawl.perMinute.seen >= 1, `the last minute fetched and saw hashes: ${JSON.stringify(crawl.perMinute)}`)
  assert.ok(crawl.gauges.nodes > 0 && crawl.gauges.databaseBytes > 0, JSON.stringify(crawl.gauges))
  assert.equal(crawl.stopped, false)
  const human = await runCli(['status'], { timeoutMs: 30_000, homeDir: home })
  assert.match(human.stdout, /^index crawl: \d+ hashes seen \(\d+\/min\), \d+ new, \d+ fetched .*; queues: staging \d+, .*database [\d.]+ \w*B$/m, describeRun(human))
  await seed.stop()
  assert.equal(await seed.exited, 0, seed.tail())
})
