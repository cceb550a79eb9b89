// `friendtorrent seed [--download]`: the headless session. Resumes the
// library and seeds (and downloads, with --download), logging one plain line
// per event and a summary every minute, until SIGINT/SIGTERM; then it tells
// the trackers, saves resume data and exits 0. Listens on the control socket
// so `friendtorrent add|list|pause|...` reach it from another process.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { errorMessage } from '../core/types.ts'
import { ControlServer } from '../session/control-server.ts'
import { Session } from '../session/session.ts'
import type { TorrentSummary } from '../session/session.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from '../tui/format/format.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import type { CliIo } from './io.ts'
import { controlHandler, controlSocketPath } from './session-control.ts'

export const SEED_USAGE = `usage: friendtorrent seed [--download]

  Runs the library headless until SIGINT/SIGTERM, seeding complete torrents.
      --download       also download incomplete torrents`

const SUMMARY_EVERY_MS = 60_000

export async function runSeed(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { download: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.out(SEED_USAGE)
    return 0
  }
  const where = paths(io.env)
  const config = await loadConfig(where.configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const log = (line: string) => io.out(`${new Date().toISOString()} ${line}`)

  const session = await Session.open({
    stateDir,
    listenPort: config.listenPort,
    download: Boolean(values.download),
    maxActiveDownloads: config.maxActiveDownloads,
    maxActiveSeeds: config.maxActiveSeeds,
    maxConnectionsPerTorrent: config.maxConnectionsPerTorrent,
    maxHalfOpenConnections: config.maxHalfOpenConnections,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxPendingRequestsPerPeer: config.maxPendingRequestsPerPeer,
    maxBufferedBytesPerPeer: config.maxBufferedBytesPerPeer,
    uploadLimitBytesPerSec: config.uploadLimitKiBps * 1024,
    seedRatioLimit: config.seedRatioLimit,
    resumeSaveIntervalMs: config.resumeSaveIntervalSeconds * 1000,
    seedTimeLimitMs: config.seedTimeLimitMinutes * 60_000,
    downloadLimitBytesPerSec: config.downloadLimitKiBps * 1024,
    startDht: async (port) => {
      if (!config.dht) return undefined
      const { DhtNode } = await import('../discovery/dht-node.ts')
      const node = new DhtNode({ port, bootstrap: config.dhtBootstrap, stateFile: join(stateDir, 'dht.json') })
      node.on('warning', (message) => log(`DHT: ${message}`))
      try {
        await node.start()
        return node
      } catch (err) {
        log(`DHT unavailable, going on with trackers only: ${errorMessage(err)}`)
        return undefined
      }
    },
  })
  const control = new ControlServer(controlSocketPath(stateDir), controlHandler(session, io.cwd, config.downloadDir))
  try {
    await control.listen()
  } catch (err) {
    await session.close()
    throw err
  }

  session.on('added', (t) => log(`added ${t.name} (${formatBytes(t.sizeBytes)}) → ${t.savePath}`))
  session.on('removed', (_hash, name) => log(`removed ${name}`))
  session.on('completed', (t) => log(`completed ${t.name}`))
  session.on('warning', (message) => log(`warning: ${message}`))
  session.on('resumed', (t, trusted, rechecked) => log(`resumed ${t.name}: ${trusted} pieces from resume data, ${rechecked} re-checked`))
  session.on('seedLimit', (t, reason) => log(`paused ${t.name}: ${reason}`))
  session.on('error', (t) => log(`error ${t.name}: ${t.error}`))
  session.on('trackerError', (name, { url, message, retryAtMs }) => log(`tracker ${url} (${name}): ${message}; next try in ${formatEta((retryAtMs - Date.now()) / 1000)}`))
  await session.start()
  const torrents = session.list()
  log(`session on port ${session.port}: ${torrents.length} torrent${torrents.length === 1 ? '' : 's'}, control socket ${control.path}`)
  const summary = setInterval(() => log(summaryLine(session.list())), SUMMARY_EVERY_MS)
  summary.unref()

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  log(`${signal}: stopping (telling trackers, saving resume data)…`)
  clearInterval(summary)
  await control.close()
  await session.close()
  log('stopped')
  return 0
}

export function summaryLine(torrents: TorrentSummary[]): string {
  const by = (s: string) => torrents.filter((t) => t.state === s).length
  const down = torrents.reduce((n, t) => n + t.downloadRateBytesPerSec, 0)
  const up = torrents.reduce((n, t) => n + t.uploadRateBytesPerSec, 0)
  const peers = torrents.reduce((n, t) => n + t.connectedPeers, 0)
  const active = torrents.filter((t) => t.state === 'downloading').map((t) => `${t.name} ${formatPercent(t.progress)}`)
  return `summary: ${by('seeding')} seeding, ${by('downloading')} downloading, ${by('queued')} queued, ${by('paused')} paused, ${by('error')} error; ↓ ${formatRate(down)} ↑ ${formatRate(up)}; ${peers} peers${active.length ? `; ${active.join(', ')}` : ''}`
}
