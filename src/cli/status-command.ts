// `friendtorrent status [--json]`: the session as a whole — rates and limits,
// connections, DHT nodes, listen port, free space in the save folder, the
// torrents counted by state and a background crawl's counters. With no session running it says so (exit 0) and
// reports what it can without one: the library's counts, the configured limits
// the next session starts with, and the free space in the save folder.
import type { SessionStatus, SessionTorrentState, TorrentSummary } from '../session/session.ts'
import type { PortMappingStatus } from '../session/port-mapping/port-mapper.ts'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import { StateStore } from '../session/state-store.ts'
import { formatBytes, formatRate } from '../tui/format/format.ts'
import { crawlLine } from '../tui/format/crawl-text.ts'
import { parseCommandLine } from './command-line.ts'
import { loadConfig, paths, resolveDownloadDir, resolveStateDir } from './config.ts'
import { ControlClient } from './control-client.ts'
import type { CliIo } from './io.ts'
import { controlSocketPath, freeBytes } from './session-control.ts'

export const STATUS_USAGE = `usage: friendtorrent status [--json]

  The running session's rates and limits, peers, DHT nodes, listen port, the
  router's mapping of it (external address and port), the free space in its save folder and its background
  crawl's counters (config indexWhileRunning); with none running, the library and the limits
  the next session starts with. Exit 0 either way.`

const STATES = ['fetching metadata', 'queued', 'checking', 'downloading', 'seeding', 'paused', 'error'] as const satisfies readonly SessionTorrentState[]

/** The stable shape of `status --json` (documented in the README). */
export interface StatusReport {
  running: boolean
  stateDir: string
  /** The session's default save folder, or without a session the one `add` would use from here. */
  saveDir: string
  freeBytes: number | null
  /** null without a session. */
  listenPort: number | null
  /** null without a session. */
  dhtNodes: number | null
  /** The router's mapping of the listen port (UPnP or NAT-PMP); null without a session. */
  portForwarding: PortMappingStatus | null
  connectedPeers: number
  downloadRateBytesPerSec: number
  uploadRateBytesPerSec: number
  /** 0 = none; without a session, the config's (what the next session starts with). */
  downloadLimitBytesPerSec: number
  uploadLimitBytesPerSec: number
  torrents: { total: number } & Record<SessionTorrentState, number>
  /** The session's background crawl (config `indexWhileRunning`); null when none runs. */
  crawl: CrawlStatus | null
}

export function countByState(states: readonly SessionTorrentState[]): StatusReport['torrents'] {
  const counts = { total: states.length, ...Object.fromEntries(STATES.map((s) => [s, 0])) } as StatusReport['torrents']
  for (const s of states) counts[s] += 1
  return counts
}

export async function runStatus(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('status', { args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.out(STATUS_USAGE)
    return 0
  }
  const config = await loadConfig(paths(io.env).configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const socketPath = controlSocketPath(stateDir)
  let report: StatusReport
  const client = await ControlClient.connect(socketPath)
  if (client) {
    try {
      const status = (await client.call('status')) as SessionStatus & { saveDir: string; freeBytes: number | null; crawl?: CrawlStatus }
      const torrents = (await client.call('list')) as TorrentSummary[]
      report = {
        running: true,
        stateDir,
        saveDir: status.saveDir,
        freeBytes: status.freeBytes,
        listenPort: status.port,
        dhtNodes: status.dhtNodes,
        portForwarding: status.portForwarding ?? null,
        connectedPeers: status.connectedPeers,
        downloadRateBytesPerSec: status.downloadRateBytesPerSec,
        uploadRateBytesPerSec: status.uploadRateBytesPerSec,
        downloadLimitBytesPerSec: status.downloadLimitBytesPerSec,
        uploadLimitBytesPerSec: status.uploadLimitBytesPerSec,
        torrents: countByState(torrents.map((t) => t.state)),
        crawl: status.crawl ?? null,
      }
    } finally {
      client.close()
    }
  } else {
    const store = await StateStore.open(stateDir)
    const saveDir = resolveDownloadDir(config, undefined, io.cwd)
    report = {
      running: false,
      stateDir,
      saveDir,
      freeBytes: await freeBytes(saveDir),
      listenPort: null,
      dhtNodes: null,
      portForwarding: null,
      connectedPeers: 0,
      downloadRateBytesPerSec: 0,
      uploadRateBytesPerSec: 0,
      downloadLimitBytesPerSec: config.downloadLimitKiBps * 1024,
      uploadLimitBytesPerSec: config.uploadLimitKiBps * 1024,
      torrents: countByState(store.list().map((e) => e.state)),
      crawl: null,
    }
  }
  if (values.json) io.out(JSON.stringify(report, null, 2))
  else for (const line of statusLines(report, socketPath)) io.out(line)
  return 0
}

/** The human form of a report. */
export function statusLines(r: StatusReport, socketPath: string): string[] {
  const limit = (n: number) => (n > 0 ? `limit ${formatRate(n)}` : 'no limit')
  const counted = STATES.filter((s) => r.torrents[s] > 0).map((s) => `${r.torrents[s]} ${s}`)
  const library = `torrents: ${r.torrents.total}${counted.length ? ` (${counted.join(', ')})` : ''}`
  const space = `save folder ${r.saveDir}: ${r.freeBytes === null ? 'free space unknown' : `${formatBytes(r.freeBytes)} free`}`
  if (!r.running) {
    return [
      'no session is running (`friendtorrent seed` starts one)',
      library,
      `limits for the next session: ↓ ${limit(r.downloadLimitBytesPerSec)}, ↑ ${limit(r.uploadLimitBytesPerSec)}`,
      space,
    ]
  }
  return [
    `session running: port ${r.listenPort}, control socket ${socketPath}`,
    library,
    `↓ ${formatRate(r.downloadRateBytesPerSec)} (${limit(r.downloadLimitBytesPerSec)})  ↑ ${formatRate(r.uploadRateBytesPerSec)} (${limit(r.uploadLimitBytesPerSec)})`,
    `peers ${r.connectedPeers}, DHT nodes ${r.dhtNodes}`,
    portForwardingLine(r.portForwarding),
    space,
    ...(r.crawl ? [crawlLine(r.crawl)] : []),
  ]
}

function portForwardingLine(p: PortMappingStatus | null): string {
  if (!p || p.state === 'off') return 'port forwarding: off'
  if (p.state === 'searching') return 'port forwarding: asking the router (UPnP, NAT-PMP)…'
  if (p.state === 'failed') return 'port forwarding: no router mapped the port (see the log)'
  return `port forwarding: ${p.method} maps ${p.externalAddress}:${p.externalTcpPort} (TCP), :${p.externalUdpPort} (UDP)`
}
