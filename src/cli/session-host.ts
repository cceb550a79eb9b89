// Runs a session for a process that owns one (headless `seed`, the dashboard):
// opens it from the config, starts its DHT node, serves the control socket,
// and turns session events into plain log lines kept in a small ring (the
// control channel's `events`) and handed to the caller's log. With config
// `indexWhileRunning` it also runs the index's crawler over the session's DHT.
// The control channel's `search` and its `add` of an indexed hash read the
// index, opened at first use (cli/index-access.ts) and closed with the session;
// its `status` carries the background crawl's counters under `crawl`.
// It never writes to stdout itself: the dashboard owns the terminal.
import { ControlServer } from '../session/control-server.ts'
import { EventLog } from '../session/event-log.ts'
import type { LogLine } from '../session/event-log.ts'
import type { ControlHandler } from '../session/control-server.ts'
import { Session } from '../session/session.ts'
import { formatBytes, formatEta } from '../tui/format/format.ts'
import type { Config } from './config.ts'
import { peerOptions } from './config.ts'
import { startDht } from '../session/start-dht.ts'
import { LazyIndex } from './index-access.ts'
import { fromIndex } from './index-lookup.ts'
import { controlHandler, controlSocketPath } from './session-control.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import { onExtraRootsWarning } from '../discovery/tls-roots.ts'
import type { BackgroundCrawl } from '../index/background-crawl.ts'

export type { LogLine }

export interface HostedSession {
  session: Session
  control: ControlServer
  /** The control channel's commands, callable in this process. */
  handler: ControlHandler
  events: EventLog
  close(): Promise<void>
}

export interface HostOptions {
  config: Config
  stateDir: string
  cwd: string
  /** Where added torrents are saved unless the caller says otherwise. */
  saveDir: string
  /** Incomplete torrents download (else only complete ones run). */
  download: boolean
  /** Complete torrents seed (else they wait). */
  seed?: boolean
  /** Every log line, as it happens. */
  onLog?: (line: LogLine) => void
  /** Listen for peers here instead of the config's listenPort (`add --port`). */
  listenPort?: number
  /** Run only the torrents added through this session, not the library (a foreground `add`). */
  runOnlyAdded?: boolean
}

export async function hostSession(opts: HostOptions): Promise<HostedSession> {
  const { config, stateDir } = opts
  const events = new EventLog()
  const log = (text: string) => opts.onLog?.(events.push(text))
  let dht: DhtNode | undefined
  const session = await Session.open({
    stateDir,
    listenPort: opts.listenPort ?? config.listenPort,
    runOnlyAdded: opts.runOnlyAdded,
    download: opts.download,
    maxActiveDownloads: config.maxActiveDownloads,
    maxActiveSeeds: opts.seed === false ? 0 : config.maxActiveSeeds,
    maxConnectionsPerTorrent: config.maxConnectionsPerTorrent,
    maxHalfOpenConnections: config.maxHalfOpenConnections,
    maxConnections: config.maxConnections,
    ...peerOptions(config),
    uploadLimitBytesPerSec: config.uploadLimitKiBps * 1024,
    seedRatioLimit: config.seedRatioLimit,
    resumeSaveIntervalMs: config.resumeSaveIntervalSeconds * 1000,
    seedTimeLimitMs: config.seedTimeLimitMinutes * 60_000,
    downloadLimitBytesPerSec: config.downloadLimitKiBps * 1024,
    utp: config.utp,
    tcp: config.tcp,
    webSeeds: config.webSeeds,
    portForwarding: config.portForwarding,
    lsd: config.lsd,
    startDht: async (port, udpSocket) => (dht = await startDht({ enabled: config.dht, bootstrap: config.dhtBootstrap, stateDir }, port, log, udpSocket)),
  })
  // The index's crawler and database driver load only when asked for.
  let crawl: BackgroundCrawl | undefined
  if (config.indexWhileRunning && dht) {
    const { startBackgroundCrawl } = await import('../index/background-crawl.ts')
    crawl = await startBackgroundCrawl({ dht, bootstrap: config.dhtBootstrap, databaseSpec: config.indexDatabase, stateDir, blocklist: config.indexBlocklist, log })
  } else if (config.indexWhileRunning) log('background crawl off: it needs the DHT (config dht)')
  const index = new LazyIndex(config, stateDir)
  const handler = controlHandler(session, opts.cwd, opts.saveDir, events, {
    search: (query) => index.search(query),
    torrentFor: async (link) => (await fromIndex(link, (hash) => index.infoDict(hash), (line) => log(`warning: ${line}`)))?.data,
    ...(crawl && { crawlStatus: () => crawl.crawler.status() }),
  })
  const control = new ControlServer(controlSocketPath(stateDir), handler)
  try {
    await control.listen()
  } catch (err) {
    await crawl?.stop()
    await session.close()
    throw err
  }
  session.on('added', (t) => log(`added ${t.name}${t.sizeBytes ? ` (${formatBytes(t.sizeBytes)})` : ''} → ${t.savePath}`))
  session.on('removed', (_hash, name) => log(`removed ${name}`))
  session.on('completed', (t) => log(`completed ${t.name}`))
  session.on('warning', (message) => log(`warning: ${message}`))
  // A NODE_EXTRA_CA_CERTS file that cannot be used, found at the first HTTPS request: a session warning, not a line over the dashboard.
  const stopCaWarnings = onExtraRootsWarning((line) => session.emit('warning', line))
  session.on('portForwarding', (line) => log(line))
  session.on('resumed', (t, trusted) => log(`resumed ${t.name}: ${trusted} pieces from resume data`))
  session.on('seedLimit', (t, reason) => log(`paused ${t.name}: ${reason}`))
  session.on('error', (t) => log(`error ${t.name}: ${t.error}`))
  session.on('trackerError', (name, { url, message, retryAtMs }) => log(`tracker ${url} (${name}): ${message}; next try in ${formatEta((retryAtMs - Date.now()) / 1000)}`))
  let closing: Promise<void> | undefined
  return {
    session,
    control,
    handler,
    events,
    close: () =>
      (closing ??= (async () => {
        await control.close()
        // Before the session, whose close stops the DHT node the crawler queries.
        await crawl?.stop()
        await session.close()
        stopCaWarnings()
        await index.close()
      })()),
  }
}
