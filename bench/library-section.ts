// Library benchmark: `friendtorrent seed` over a fresh state folder holding
// many small complete torrents (no trackers, DHT off: no network traffic).
// Measures spawn → `session on port` line, peak RSS over a few seconds after
// it, then SIGTERM → exit. Small files and torrents are cached under the
// bench folder; the state folder is written anew each run.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultConfig } from '../src/cli/config.ts'
import { ControlClient } from '../src/cli/control-client.ts'
import { controlSocketPath } from '../src/cli/session-control.ts'
import { StateStore } from '../src/session/state-store.ts'
import { buildTorrent } from '../test/helpers/make-torrent.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { fixed, formatTable, lastLines, oneLine, peakRssBytes, sleep } from './measure.ts'
import { startSeedSession, stopSeedSession, writeSeedingLibrary, type SeedingTorrent } from './our-session.ts'

export interface LibrarySectionOptions {
  benchDir: string
  torrentCount: number
  fileBytes: number
  /** config.json maxActiveSeeds; undefined leaves the default. */
  maxActiveSeeds?: number
  /** Where the session writes a CPU profile; none when undefined. */
  cpuProfDir?: string
}

export interface LibraryResult {
  ok: boolean
  torrentCount: number
  fileBytes: number
  maxActiveSeeds?: number
  setupSeconds?: number
  startupMs?: number
  peakRssMB?: number
  /** Torrent states as `list` on the control socket reports them once settled. */
  states?: Record<string, number>
  listMs?: number
  exitCode?: number
  shutdownMs?: number
  killed?: boolean
  /** Torrent states in library.json after the session stopped. */
  storedStates?: Record<string, number>
  error?: string
}

const PIECE_LENGTH = 16 * 1024
const STARTUP_TIMEOUT_MS = 120_000
const SETTLE_MS = 3000
const RSS_SAMPLE_INTERVAL_MS = 100
const STOP_GRACE_MS = 60_000
/** Issue 15: a 1,000-torrent library resumed in ≤ 2 s and ≤ 100 MB. */
const STARTUP_GOAL_MS = 2000
const RSS_GOAL_MB = 100

/** `count` files of `fileBytes` in one folder and a single-file torrent for each, made once and cached. */
export async function ensureSmallTorrents(options: Pick<LibrarySectionOptions, 'benchDir' | 'torrentCount' | 'fileBytes'>): Promise<{ filesDir: string; torrents: Buffer[] }> {
  const root = join(options.benchDir, `library-${options.torrentCount}x${options.fileBytes}b`)
  const filesDir = join(root, 'files')
  const torrentsDir = join(root, 'torrents')
  const marker = join(root, 'complete')
  const stamp = `${options.torrentCount} ${options.fileBytes} ${PIECE_LENGTH}\n`
  const names = Array.from({ length: options.torrentCount }, (_, i) => `small-${String(i).padStart(5, '0')}.bin`)
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== stamp) {
    console.log(`library: making ${options.torrentCount} files of ${options.fileBytes} bytes and their torrents in ${root} (once)…`)
    await rm(root, { recursive: true, force: true })
    await mkdir(filesDir, { recursive: true })
    await mkdir(torrentsDir, { recursive: true })
    for (const [i, name] of names.entries()) {
      // No announce list: the session must make no network traffic.
      const built = buildTorrent({ name, files: options.fileBytes, pieceLength: PIECE_LENGTH, seed: i + 1 })
      await writeFile(join(filesDir, name), built.payload)
      await writeFile(join(torrentsDir, `${name}.torrent`), built.torrent)
    }
    writeFileSync(marker, stamp)
  }
  const torrents = await Promise.all(names.map((name) => readFile(join(torrentsDir, `${name}.torrent`))))
  return { filesDir, torrents }
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1
  return out
}

export async function runLibrarySection(options: LibrarySectionOptions): Promise<LibraryResult> {
  const result: LibraryResult = { ok: false, torrentCount: options.torrentCount, fileBytes: options.fileBytes, maxActiveSeeds: options.maxActiveSeeds }
  const home = tempDir('bench-library-home')
  let session: Awaited<ReturnType<typeof startSeedSession>> | undefined
  try {
    const { filesDir, torrents } = await ensureSmallTorrents(options)
    const setupStarted = performance.now()
    const library: SeedingTorrent[] = torrents.map((torrentFile) => ({ torrentFile, savePath: filesDir }))
    const { env, stateDir } = await writeSeedingLibrary(
      home.path,
      await freePort(),
      library,
      options.maxActiveSeeds === undefined ? {} : { maxActiveSeeds: options.maxActiveSeeds },
    )
    result.setupSeconds = (performance.now() - setupStarted) / 1000
    console.log(`library: state folder with ${torrents.length} seeding torrents written in ${result.setupSeconds.toFixed(1)} s; starting friendtorrent seed…`)

    session = await startSeedSession(env, STARTUP_TIMEOUT_MS, options.cpuProfDir)
    result.startupMs = session.startupMs
    if (session.torrentCount !== torrents.length) throw new Error(`the session reports ${session.torrentCount} torrents, the library holds ${torrents.length}`)
    let peak = peakRssBytes(session.proc.pid) ?? 0
    const settleEnd = performance.now() + SETTLE_MS
    while (performance.now() < settleEnd && session.proc.running) {
      await sleep(RSS_SAMPLE_INTERVAL_MS)
      peak = Math.max(peak, peakRssBytes(session.proc.pid) ?? 0)
    }
    result.peakRssMB = peak / 1e6
    if (!session.proc.running) throw new Error(`friendtorrent seed exited with ${await session.proc.exited} within ${SETTLE_MS / 1000} s of starting: ${lastLines(session.proc.logs(), 3)}`)

    const listStarted = performance.now()
    const client = await ControlClient.connect(controlSocketPath(stateDir))
    if (!client) throw new Error(`cannot connect to the control socket ${controlSocketPath(stateDir)}`)
    try {
      const listed = (await client.call('list')) as Array<{ state: string }>
      result.listMs = performance.now() - listStarted
      result.states = countBy(listed, (t) => t.state)
    } finally {
      client.close()
    }
    // The list call may have raised the peak.
    peak = Math.max(peak, peakRssBytes(session.proc.pid) ?? 0)
    result.peakRssMB = peak / 1e6

    console.log('library: stopping it (SIGTERM)…')
    const stopped = await stopSeedSession(session.proc, STOP_GRACE_MS)
    result.exitCode = stopped.exitCode
    result.shutdownMs = stopped.shutdownMs
    result.killed = stopped.killed
    const proc = session.proc
    session = undefined
    const store = await StateStore.open(stateDir)
    result.storedStates = countBy(store.list(), (e) => e.state)
    if (stopped.exitCode !== 0) {
      throw new Error(`friendtorrent seed exited with ${stopped.exitCode}${stopped.killed ? ` (killed: no exit within ${STOP_GRACE_MS / 1000} s of SIGTERM)` : ''}: ${lastLines(proc.logs(), 3)}`)
    }
    if (!stopped.stoppedLine) throw new Error(`friendtorrent seed exited 0 without logging "stopped": ${lastLines(proc.logs(), 3)}`)
    result.ok = true
  } catch (err) {
    result.error = oneLine(err)
  } finally {
    if (session) await session.proc.stop()
    await home.cleanup()
  }
  return result
}

function formatStates(states: Record<string, number> | undefined): string {
  if (!states) return '-'
  return Object.entries(states)
    .sort((a, b) => b[1] - a[1])
    .map(([state, n]) => `${n} ${state}`)
    .join(', ')
}

export function formatLibrarySection(r: LibraryResult): string {
  const goal = (met: boolean | undefined): string => (met === undefined ? '' : met ? 'met' : 'NOT met')
  const startupMet = r.startupMs === undefined ? undefined : r.startupMs <= STARTUP_GOAL_MS
  const rssMet = r.peakRssMB === undefined ? undefined : r.peakRssMB <= RSS_GOAL_MB
  const shutdown = r.exitCode === undefined ? '-' : `exit ${r.exitCode}${r.killed ? ' (SIGKILLed)' : ''}`
  const rows = [
    ['state folder written (s)', fixed(r.setupSeconds, 2), '', 'setup, not timed against a goal'],
    ['spawn → "session on port" (ms)', fixed(r.startupMs, 0), `≤ ${STARTUP_GOAL_MS}`, goal(startupMet)],
    [`peak RSS, ${SETTLE_MS / 1000} s after (MB)`, fixed(r.peakRssMB, 1), `≤ ${RSS_GOAL_MB}`, goal(rssMet)],
    ['`list` over the control socket (ms)', fixed(r.listMs, 0), '', formatStates(r.states)],
    ['SIGTERM → exit (ms)', fixed(r.shutdownMs, 0), '', shutdown],
    ['library.json after exit', '', '', formatStates(r.storedStates)],
  ]
  const active = r.maxActiveSeeds === undefined ? `default maxActiveSeeds (${defaultConfig().maxActiveSeeds})` : `maxActiveSeeds ${r.maxActiveSeeds}`
  const title = `library: friendtorrent seed over ${r.torrentCount} torrents of ${(r.fileBytes / 1024).toFixed(0)} KiB (no trackers, DHT off, ${active})`
  const table = formatTable(title, ['measure', 'value', 'goal', 'note'], rows)
  return r.ok ? table : `${table}\nFAILED: ${r.error ?? 'unknown error'}`
}
