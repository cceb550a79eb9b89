// Crawl benchmark: `friendtorrent crawl` (a child process, as a user runs it)
// over a loopback DHT of our nodes answering BEP 51, holding torrents our
// seeders serve (test/helpers/crawl-net.ts). Measures the time until 95 % and
// until every torrent is in the SQLite index, metadata fetched per minute
// over that time, and the crawl's peak RSS (goal ≤ 100 MB).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CLI_PATH, isolatedEnv, testConfigJson } from '../test/helpers/cli.ts'
import { startCrawlNet } from '../test/helpers/crawl-net.ts'
import { ManagedProcess } from '../test/helpers/managed-process.ts'
import { tempDir } from '../test/helpers/net.ts'
import { storedCount } from '../test/helpers/sqlite-index.ts'
import { fixed, formatTable, lastLines, oneLine, sampleRss, sleep } from './measure.ts'

export interface CrawlSectionOptions {
  nodes: number
  torrents: number
  timeoutMs: number
}

export interface CrawlResult {
  ok: boolean
  nodes: number
  torrents: number
  stored?: number
  seconds95?: number
  secondsAll?: number
  fetchedPerMinute?: number
  /** Over the burst until 95 %: what fetching does when the samples are there (the rest waits for nodes' intervals). */
  fetchedPerMinute95?: number
  peakRssMB?: number
  exitCode?: number
  error?: string
}

const RSS_GOAL_MB = 100
const POLL_MS = 100

export async function runCrawlSection(options: CrawlSectionOptions): Promise<CrawlResult> {
  const result: CrawlResult = { ok: false, nodes: options.nodes, torrents: options.torrents }
  const dir = tempDir('bench-crawl')
  let net: Awaited<ReturnType<typeof startCrawlNet>> | undefined
  let proc: ManagedProcess | undefined
  try {
    console.log(`crawl: starting a loopback DHT of ${options.nodes} nodes holding ${options.torrents} torrents…`)
    net = await startCrawlNet({ nodes: options.nodes, torrents: options.torrents, dir: join(dir.path, 'seeds'), sampleIntervalSeconds: 30, subnet: 74 })
    const home = join(dir.path, 'home')
    mkdirSync(join(home, '.config', 'friendtorrent'), { recursive: true })
    writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ dht: true, dhtBootstrap: net.bootstrap }))
    const dbFile = join(home, '.local', 'share', 'friendtorrent', 'index.sqlite')
    proc = new ManagedProcess('crawl', process.execPath, [CLI_PATH, 'crawl'], { env: isolatedEnv(home), cwd: home })
    const rss = sampleRss(proc.pid)
    const started = performance.now()
    const deadline = started + options.timeoutMs
    let stored = 0
    while (performance.now() < deadline && proc.running) {
      stored = storedCount(dbFile)
      const seconds = (performance.now() - started) / 1000
      if (result.seconds95 === undefined && stored >= Math.ceil(options.torrents * 0.95)) result.seconds95 = seconds
      if (stored >= options.torrents) {
        result.secondsAll = seconds
        break
      }
      await sleep(POLL_MS)
    }
    result.stored = stored
    const minutes = ((result.secondsAll ?? (performance.now() - started) / 1000)) / 60
    result.fetchedPerMinute = stored / minutes
    if (result.seconds95 !== undefined) result.fetchedPerMinute95 = Math.ceil(options.torrents * 0.95) / (result.seconds95 / 60)
    await proc.stop()
    result.peakRssMB = (rss.stop() ?? 0) / 1e6
    result.exitCode = await proc.exited
    if (!proc.running && result.exitCode !== 0) throw new Error(`crawl exited with ${result.exitCode}: ${lastLines(proc.logs(), 3)}`)
    if (result.secondsAll === undefined) throw new Error(`only ${stored} of ${options.torrents} indexed within ${options.timeoutMs / 1000} s`)
    result.ok = true
  } catch (err) {
    result.error = oneLine(err)
  } finally {
    await proc?.stop()
    await net?.close()
    await dir.cleanup()
  }
  return result
}

export function formatCrawlSection(r: CrawlResult): string {
  const rssMet = r.peakRssMB === undefined ? '' : r.peakRssMB <= RSS_GOAL_MB ? 'met' : 'NOT met'
  const rows = [
    ['95 % indexed (s)', fixed(r.seconds95, 1), '', ''],
    ['all indexed (s)', fixed(r.secondsAll, 1), '', `${r.stored ?? 0} of ${r.torrents} stored`],
    ['metadata fetched per minute', fixed(r.fetchedPerMinute, 0), '', 'over the time until all were indexed'],
    ['metadata fetched per minute, to 95 %', fixed(r.fetchedPerMinute95, 0), '', 'the last few wait for a node\'s next sample (interval ≥ 60 s)'],
    ['peak RSS of crawl (MB)', fixed(r.peakRssMB, 1), `≤ ${RSS_GOAL_MB}`, rssMet],
    ['SIGTERM → exit code', r.exitCode === undefined ? '-' : String(r.exitCode), '0', ''],
  ]
  const table = formatTable(`crawl: friendtorrent crawl over a loopback DHT of ${r.nodes} of our nodes (BEP 51) holding ${r.torrents} torrents`, ['measure', 'value', 'goal', 'note'], rows)
  return r.ok ? table : `${table}\nFAILED: ${r.error ?? 'unknown error'}`
}
