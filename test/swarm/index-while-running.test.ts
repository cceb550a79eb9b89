// Config `indexWhileRunning`: a headless session (`friendtorrent seed`) also
// crawls, over its own DHT node, a loopback DHT of our nodes holding torrents
// our seeders serve, into its SQLite index; SIGTERM still stops it cleanly.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { startCrawlNet, type CrawlNet } from '../helpers/crawl-net.ts'
import { CLI_PATH, isolatedEnv, testConfigJson } from '../helpers/cli.ts'
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
  await seed.stop()
  assert.equal(await seed.exited, 0, seed.tail())
})
