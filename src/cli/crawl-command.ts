// `friendtorrent crawl`: the DHT indexer, headless, until SIGINT/SIGTERM (or
// until the index database fails: one line, exit 1). Joins the DHT through
// config `dhtBootstrap` or --bootstrap, crawls (src/index/crawler.ts) into
// the index (config `indexDatabase`: empty = SQLite in the state folder),
// logs one line a minute, and at a stop writes what it fetched, closes the
// database and exits 0. Reads nothing from stdin; needs no terminal. The
// crawler, the DHT and the database driver load only when it runs.
import { isoTime } from '../core/iso-time.ts'
import { errorMessage, FriendError } from '../core/types.ts'
import { parseCommandLine } from './command-line.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import type { CliIo } from './io.ts'

export const CRAWL_USAGE = `usage: friendtorrent crawl [--bootstrap HOST:PORT]… [--port N]

  Indexes the DHT headless until SIGINT/SIGTERM: samples nodes (BEP 51), fetches
  each new torrent's metadata from its peers (BEP 9) and stores it in the index.
      --bootstrap HOST:PORT  join the DHT through this node (repeatable; default: config dhtBootstrap)
      --port N               UDP port for the crawler's DHT node (default: any free port)`

export async function runCrawl(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('crawl', {
    args: argv,
    options: { bootstrap: { type: 'string', multiple: true }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    io.out(CRAWL_USAGE)
    return 0
  }
  const port = values.port === undefined ? 0 : Number(values.port)
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) throw new FriendError(`--port must be a whole number from 0 to 65535, got "${values.port}"; see friendtorrent crawl --help`)
  const config = await loadConfig(paths(io.env).configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const bootstrap = values.bootstrap ?? config.dhtBootstrap
  if (bootstrap.length === 0) throw new FriendError('no DHT node to join through: give --bootstrap HOST:PORT or set dhtBootstrap in the config')
  const log = (line: string) => io.out(`${isoTime()} ${line}`)
  const databaseSpec = config.indexDatabase
  const { openIndexStore } = await import('../index/open-store.ts')
  const { startCrawlRun } = await import('../index/crawl-run.ts')
  const store = await openIndexStore(databaseSpec, stateDir, { blocklist: config.indexBlocklist })

  let failure: string | undefined
  let wake: (() => void) | undefined
  let run
  try {
    run = await startCrawlRun({
      store,
      stateDir,
      port,
      bootstrap,
      log,
      tuning: { minSampleIntervalMs: config.crawlResampleSeconds * 1000 },
      onError: (message) => {
        failure = message
        wake?.()
      },
    })
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
  log(`crawling the DHT from UDP port ${run.port} through ${bootstrap.join(', ')}; index ${databaseSpec === '' ? `SQLite in ${stateDir}` : 'PostgreSQL'}`)

  const signal = await new Promise<NodeJS.Signals | undefined>((resolve) => {
    const onInt = () => done('SIGINT')
    const onTerm = () => done('SIGTERM')
    const done = (s: NodeJS.Signals | undefined) => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      resolve(s)
    }
    wake = () => done(undefined)
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
    if (failure) done(undefined) // the store failed before we began waiting
  })
  if (signal) log(`${signal}: stopping (writing what was fetched, closing the index)…`)
  await run.stop()
  log(run.crawler.statsLine())
  try {
    await store.close()
  } catch (err) {
    failure ??= `index database: ${errorMessage(err)}`
  }
  if (failure) {
    io.err(`friendtorrent: ${failure}`)
    return 1
  }
  log('stopped')
  return 0
}
