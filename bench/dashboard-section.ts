// Dashboard benchmark: the same download (the cached payload, from rtorrent
// behind a tracker on 127.0.0.1) into a session run headless (`friendtorrent
// seed --download`) and into one owned by the dashboard open in a real
// terminal (tmux, 120×40). The torrent is handed over with `friendtorrent add`
// in both; reports seconds, MB/s and the session process's peak RSS, and the
// dashboard's cost against headless. Goal: < 5 % slower, ≤ 10 MB more peak RSS (issue 15).
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readInfoHash, writeWithAnnounce } from '../fixtures/make-fixtures.ts'
import { paths } from '../src/cli/config.ts'
import { ControlClient } from '../src/cli/control-client.ts'
import { controlSocketPath } from '../src/cli/session-control.ts'
import type { TorrentSummary } from '../src/session/session.ts'
import { CLI_PATH, REPO_ROOT, isolatedEnv, runCli } from '../test/helpers/cli.ts'
import { ManagedProcess } from '../test/helpers/managed-process.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { hasBinary, startRtorrentSeeder, type ClientHandle } from '../test/helpers/real-clients.ts'
import { startTracker } from '../test/helpers/tracker.ts'
import { MIB, fixed, formatTable, oneLine, peakRssBytes, runCommand, sampleRss, sha1File, sleep } from './measure.ts'

export type DashboardMode = 'headless' | 'dashboard'

export interface DashboardRow {
  mode: DashboardMode
  ok: boolean
  seconds?: number
  mbPerSec?: number
  peakRssMB?: number
  error?: string
}

export interface DashboardPayload {
  payloadDir: string
  name: string
  torrentPath: string
  sizeBytes: number
}

const POLL_MS = 100
const READY_TIMEOUT_MS = 30_000
const TMUX_SOCKET = `ft-bench-${process.pid}`

async function waitForSocket(stateDir: string, ms: number): Promise<ControlClient> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const client = await ControlClient.connect(controlSocketPath(stateDir))
    if (client) return client
    await sleep(POLL_MS)
  }
  throw new Error(`no session answered on ${controlSocketPath(stateDir)} within ${ms / 1000} s`)
}

/** Starts the session (headless or in the dashboard), adds the torrent with the CLI, times it to seeding. */
async function runOne(mode: DashboardMode, torrentPath: string, outDir: string, timeoutMs: number): Promise<{ seconds: number; peakRssBytes?: number }> {
  const home = tempDir(`bench-${mode}-home`)
  const env = isolatedEnv(home.path)
  const where = paths(env)
  mkdirSync(where.configDir, { recursive: true })
  writeFileSync(where.configFile, JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: await freePort(), downloadDir: outDir }))
  let proc: ManagedProcess | undefined
  let client: ControlClient | undefined
  try {
    let pid: number
    if (mode === 'headless') {
      proc = new ManagedProcess('friendtorrent seed', CLI_PATH, ['seed', '--download'], { env, cwd: REPO_ROOT })
      pid = proc.pid
    } else {
      const vars = ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME'].map((k) => `${k}='${env[k]}'`).join(' ')
      // exec: the pane's process is friendtorrent itself, run by its shebang like a user's.
      execFileSync('tmux', ['-L', TMUX_SOCKET, 'new-session', '-d', '-s', 'bench', '-x', '120', '-y', '40', `exec env ${vars} TERM=xterm-256color '${CLI_PATH}'`])
      pid = Number(execFileSync('tmux', ['-L', TMUX_SOCKET, 'display-message', '-p', '-t', 'bench', '#{pane_pid}'], { encoding: 'utf8' }).trim())
    }
    client = await waitForSocket(where.dataDir, READY_TIMEOUT_MS)
    const infoHash = await readInfoHash(torrentPath)
    const rss = sampleRss(pid)
    const started = performance.now()
    const add = await runCli(['add', torrentPath], { homeDir: home.path, timeoutMs: 30_000 })
    if (add.code !== 0) throw new Error(`add exited ${add.code}: ${add.stderr.trim()}`)
    for (;;) {
      const list = (await client.call('list')) as TorrentSummary[]
      const t = list.find((x) => x.infoHash === infoHash)
      if (t?.state === 'seeding') break
      if (t?.state === 'error') throw new Error(`the torrent failed: ${t.error}`)
      if (performance.now() - started > timeoutMs) throw new Error(`not complete after ${timeoutMs / 1000} s (${t ? Math.round(t.progress * 100) : 0} %)`)
      await sleep(POLL_MS)
    }
    const seconds = (performance.now() - started) / 1000
    const peak = rss.stop() ?? peakRssBytes(pid)
    return { seconds, peakRssBytes: peak }
  } finally {
    client?.close()
    if (proc) await proc.stop()
    if (mode === 'dashboard') {
      try {
        execFileSync('tmux', ['-L', TMUX_SOCKET, 'send-keys', '-t', 'bench', 'q'])
        await sleep(3000)
        execFileSync('tmux', ['-L', TMUX_SOCKET, 'kill-server'], { stdio: 'ignore' })
      } catch {}
    }
    await home.cleanup()
  }
}

export async function runDashboardSection(options: { payload: DashboardPayload; timeoutMs: number; rounds: number }): Promise<DashboardRow[]> {
  const { payload } = options
  if (!hasBinary('tmux')) return [{ mode: 'dashboard', ok: false, error: 'tmux not found on PATH: apt-get install -y tmux' }]
  if (!hasBinary('rtorrent')) return [{ mode: 'headless', ok: false, error: 'rtorrent not found on PATH: apt-get install -y rtorrent' }]
  const tracker = await startTracker()
  const run = tempDir('bench-dashboard')
  let seeder: ClientHandle | undefined
  const rows: DashboardRow[] = []
  try {
    const torrentPath = join(run.path, 'bench.torrent')
    await writeWithAnnounce(payload.torrentPath, torrentPath, [tracker.httpUrl])
    const expectedSha1 = await sha1File(join(payload.payloadDir, payload.name))
    console.log(`dashboard: starting rtorrent seeding ${payload.name}…`)
    seeder = await startRtorrentSeeder({ torrentPath, dataDir: payload.payloadDir, readyTimeoutMs: 10 * 60_000 })
    await tracker.waitForSeeders(await readInfoHash(torrentPath), 1, 30_000)
    // Alternate, so drift in the machine's state hits both alike.
    for (let round = 0; round < options.rounds; round++) {
      for (const mode of ['headless', 'dashboard'] as const) {
        const outDir = join(run.path, `dl-${mode}`)
        await runCommand('sync', [])
        console.log(`dashboard: ${mode} round ${round + 1}…`)
        const row: DashboardRow = { mode, ok: false }
        try {
          const m = await runOne(mode, torrentPath, outDir, options.timeoutMs)
          row.seconds = m.seconds
          row.mbPerSec = payload.sizeBytes / 1e6 / m.seconds
          row.peakRssMB = m.peakRssBytes !== undefined ? m.peakRssBytes / 1e6 : undefined
          const actual = await sha1File(join(outDir, payload.name)).catch((err: Error) => `unreadable (${err.message})`)
          if (actual !== expectedSha1) throw new Error(`finished, but the file differs from the payload (sha1 ${actual})`)
          row.ok = true
        } catch (err) {
          row.error = oneLine(err)
        }
        rows.push(row)
        console.log(`dashboard: ${mode}: ${row.ok ? `${row.seconds!.toFixed(2)} s, ${fixed(row.peakRssMB, 0)} MB` : row.error}`)
        execFileSync('rm', ['-rf', outDir])
      }
    }
  } finally {
    await seeder?.stop()
    await tracker.close()
    await run.cleanup()
  }
  return rows
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export function formatDashboardSection(rows: DashboardRow[], sizeBytes: number): string {
  const body = rows.map((r) => [r.mode, r.ok ? fixed(r.seconds, 2) : 'failed', fixed(r.mbPerSec, 1), fixed(r.peakRssMB, 0), r.error ?? ''])
  const table = formatTable(`Dashboard vs headless: ${Math.round(sizeBytes / MIB)} MiB from rtorrent, added with \`friendtorrent add\``, ['session', 'seconds', 'MB/s', 'peak RSS MB', 'error'], body)
  const ok = (m: DashboardMode) => rows.filter((r) => r.ok && r.mode === m)
  const h = ok('headless')
  const d = ok('dashboard')
  const hs = median(h.map((r) => r.seconds!))
  const ds = median(d.map((r) => r.seconds!))
  const hr = median(h.map((r) => r.peakRssMB ?? NaN))
  const dr = median(d.map((r) => r.peakRssMB ?? NaN))
  if (hs === undefined || ds === undefined || hr === undefined || dr === undefined) return table
  const slower = (ds / hs - 1) * 100
  const more = dr - hr
  return `${table}\n\nmedians: the dashboard took ${slower >= 0 ? `${slower.toFixed(1)} % longer` : `${(-slower).toFixed(1)} % less time`} (goal < 5 %) and ${more >= 0 ? `${more.toFixed(0)} MB more` : `${(-more).toFixed(0)} MB less`} peak RSS (goal ≤ 10 MB, issue 15: ${more <= 10 ? 'met' : 'NOT met'})`
}
