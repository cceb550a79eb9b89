// Dashboard idle cost: `friendtorrent seed` over a library of many small
// complete torrents (no trackers, DHT off), first alone, then with the
// dashboard attached to it in a real terminal (tmux, 120×40, polling every
// 500 ms). Reports the CPU (% of one core, from /proc utime+stime) of the
// session alone and with the dashboard, the dashboard process's own CPU and
// RSS, and the cost against headless. Goal: ≤ 5 % of a core more.
// With `peerCount`, the session also holds that many peer connections
// (bench/idle-peers.ts: half on the first torrent, the rest over the next
// four) and the dashboard shows the first torrent's peers tab, whose details
// it polls every 500 ms.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { controlSocketPath } from '../src/cli/session-control.ts'
import { ControlClient } from '../src/cli/control-client.ts'
import { CLI_PATH } from '../test/helpers/cli.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { hasBinary } from '../test/helpers/real-clients.ts'
import { holdPeersOnSession } from './idle-peers.ts'
import type { PeersOnSession } from './idle-peers.ts'
import { ensureSmallTorrents } from './library-section.ts'
import { fixed, formatTable, oneLine, peakRssBytes, sleep } from './measure.ts'
import { startSeedSession, stopSeedSession, writeSeedingLibrary } from './our-session.ts'

export interface DashboardIdleOptions {
  benchDir: string
  torrentCount: number
  fileBytes: number
  /** How long each CPU window lasts. */
  windowMs?: number
  /** The friendtorrent whose dashboard attaches (another build, to compare); default this checkout's. */
  dashboardCliPath?: string
  /** Where the dashboard process writes a CPU profile; none when undefined. */
  cpuProfDir?: string
  /** Peer connections held open to the session; the dashboard then shows the busiest torrent's peers. */
  peerCount?: number
}

export interface DashboardIdleResult {
  ok: boolean
  torrentCount: number
  windowSeconds: number
  /** Peers connected when each window began and ended (the session's own count). */
  peers?: { wanted: number; atStart?: number; atEnd?: number }
  /** % of one core. */
  sessionAloneCpu?: number
  sessionWithDashboardCpu?: number
  dashboardCpu?: number
  dashboardRssMB?: number
  dashboardPeakRssMB?: number
  error?: string
}

const TMUX_SOCKET = `ft-bench-idle-${process.pid}`
const SETTLE_MS = 4000
const GOAL_CPU = 5
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a live process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** % of one core each process used over `ms`. */
async function cpuOver(pids: number[], ms: number): Promise<number[]> {
  const before = pids.map(cpuSeconds)
  const started = performance.now()
  await sleep(ms)
  const elapsed = (performance.now() - started) / 1000
  return pids.map((pid, i) => ((cpuSeconds(pid) - before[i]) / elapsed) * 100)
}

export async function runDashboardIdleSection(options: DashboardIdleOptions): Promise<DashboardIdleResult> {
  const windowMs = options.windowMs ?? 20_000
  const result: DashboardIdleResult = { ok: false, torrentCount: options.torrentCount, windowSeconds: windowMs / 1000 }
  if (!hasBinary('tmux')) return { ...result, error: 'tmux not found on PATH: apt-get install -y tmux' }
  const home = tempDir('bench-dashboard-idle-home')
  const peerCount = options.peerCount ?? 0
  const name = peerCount ? 'dashboard-peers' : 'dashboard-idle'
  let session: Awaited<ReturnType<typeof startSeedSession>> | undefined
  let held: PeersOnSession | undefined
  try {
    const { filesDir, torrents } = await ensureSmallTorrents({ benchDir: options.benchDir, torrentCount: options.torrentCount, fileBytes: options.fileBytes })
    const port = await freePort()
    // Room for every bench peer: they come from distinct addresses, so the per-address limit never bites.
    const limits = peerCount ? { maxConnections: peerCount + 50, maxConnectionsPerTorrent: peerCount } : {}
    const { env, stateDir } = await writeSeedingLibrary(home.path, port, torrents.map((torrentFile) => ({ torrentFile, savePath: filesDir })), limits)
    console.log(`${name}: friendtorrent seed over ${torrents.length} torrents…`)
    session = await startSeedSession(env, 120_000)
    const seedPid = session.proc.pid
    if (peerCount) {
      result.peers = { wanted: peerCount }
      console.log(`${name}: ${peerCount} peer connections…`)
      held = await holdPeersOnSession(port, stateDir, torrents, peerCount)
    }
    await sleep(SETTLE_MS)
    ;[result.sessionAloneCpu] = await cpuOver([seedPid], windowMs)

    console.log(`${name}: attaching the dashboard in tmux (120×40)…`)
    const vars = ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME'].map((k) => `${k}='${env[k]}'`).join(' ')
    const cliPath = options.dashboardCliPath ?? CLI_PATH
    execFileSync('tmux', ['-L', TMUX_SOCKET, 'new-session', '-d', '-s', 'idle', '-x', '120', '-y', '40', `exec env ${vars} TERM=xterm-256color ${options.cpuProfDir ? `'${process.execPath}' --cpu-prof --cpu-prof-dir='${options.cpuProfDir}' ` : ''}'${cliPath}'`])
    const dashPid = Number(execFileSync('tmux', ['-L', TMUX_SOCKET, 'display-message', '-p', '-t', 'idle', '#{pane_pid}'], { encoding: 'utf8' }).trim())
    // Attached once the pane shows the library.
    for (const end = Date.now() + 60_000; ; ) {
      const pane = execFileSync('tmux', ['-L', TMUX_SOCKET, 'capture-pane', '-p', '-t', 'idle'], { encoding: 'utf8' })
      if (pane.includes(`all ${torrents.length}`) && pane.includes('attached')) break
      if (Date.now() > end) throw new Error(`the dashboard did not show the library within 60 s:\n${pane}`)
      await sleep(200)
    }
    if (peerCount) {
      // The first torrent (the busiest) is selected: its details, peers tab.
      execFileSync('tmux', ['-L', TMUX_SOCKET, 'send-keys', '-t', 'idle', 'Enter', '2'])
      for (const end = Date.now() + 30_000; ; ) {
        const pane = execFileSync('tmux', ['-L', TMUX_SOCKET, 'capture-pane', '-p', '-t', 'idle'], { encoding: 'utf8' })
        if ((pane.match(/^127\.0\.\d+\.\d+:\d+ /gm)?.length ?? 0) >= 20) break
        if (Date.now() > end) throw new Error(`the dashboard did not show the peers tab within 30 s:\n${pane}`)
        await sleep(200)
      }
      result.peers!.atStart = await held!.connectedPeers()
    }
    await sleep(SETTLE_MS)
    let rssSum = 0
    let rssCount = 0
    const rssTimer = setInterval(() => {
      const r = rssBytes(dashPid)
      if (r !== undefined) {
        rssSum += r
        rssCount++
      }
    }, 500)
    try {
      ;[result.sessionWithDashboardCpu, result.dashboardCpu] = await cpuOver([seedPid, dashPid], windowMs)
    } finally {
      clearInterval(rssTimer)
    }
    result.dashboardRssMB = rssCount ? rssSum / rssCount / 1e6 : undefined
    result.dashboardPeakRssMB = (peakRssBytes(dashPid) ?? 0) / 1e6
    if (held) result.peers!.atEnd = await held.connectedPeers()
    // The session still answers: the dashboard's polls did not wedge it.
    const check = await ControlClient.connect(controlSocketPath(stateDir))
    if (!check) throw new Error('the session stopped answering on its control socket')
    check.close()
    result.ok = true
  } catch (err) {
    result.error = oneLine(err)
  } finally {
    try {
      execFileSync('tmux', ['-L', TMUX_SOCKET, 'send-keys', '-t', 'idle', 'q'])
      await sleep(options.cpuProfDir ? 5000 : 1500)
      execFileSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' })
    } catch {}
    held?.close()
    if (session) await stopSeedSession(session.proc, 60_000).catch(() => session!.proc.stop())
    await home.cleanup()
  }
  return result
}

export function formatDashboardIdleSection(r: DashboardIdleResult): string {
  const extra = r.sessionWithDashboardCpu !== undefined && r.sessionAloneCpu !== undefined && r.dashboardCpu !== undefined ? r.dashboardCpu + (r.sessionWithDashboardCpu - r.sessionAloneCpu) : undefined
  const rows = [
    ['session alone, CPU % of a core', fixed(r.sessionAloneCpu, 1), '', ''],
    ['session with the dashboard attached, CPU %', fixed(r.sessionWithDashboardCpu, 1), '', 'answering list, status, events every 500 ms'],
    ['dashboard process, CPU %', fixed(r.dashboardCpu, 1), '', ''],
    ['cost over headless, CPU % of a core', fixed(extra, 1), `≤ ${GOAL_CPU}`, extra === undefined ? '' : extra <= GOAL_CPU ? 'met' : 'NOT met'],
    ['dashboard RSS, mean / peak (MB)', `${fixed(r.dashboardRssMB, 0)} / ${fixed(r.dashboardPeakRssMB, 0)}`, '', ''],
  ]
  if (r.peers) rows.push(['peers connected (wanted / window start / end)', `${r.peers.wanted} / ${r.peers.atStart ?? '?'} / ${r.peers.atEnd ?? '?'}`, '', 'idle wire peers; the peers tab of the busiest torrent shown'])
  const title = r.peers
    ? `dashboard-peers: the dashboard attached to \`seed\` over ${r.torrentCount} torrents with ${r.peers.wanted} peers, 120×40, ${r.windowSeconds} s windows`
    : `dashboard-idle: the dashboard attached to \`seed\` over ${r.torrentCount} torrents, idle, 120×40, ${r.windowSeconds} s windows`
  const table = formatTable(title, ['measure', 'value', 'goal', 'note'], rows)
  return r.ok ? table : `${table}\nFAILED: ${r.error ?? 'unknown error'}`
}
