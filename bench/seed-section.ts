// Seeding benchmark: aria2c leechers (two by default, started together)
// download the cached payload once from rtorrent and once from `friendtorrent
// seed`, each seeder alone behind its own tracker on 127.0.0.1; reports the
// leechers' MB/s together from each, the ratio, and the seeders' peak RSS.
// Never aborts the run because one seeder fails.
import { readFile, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readInfoHash, writeWithAnnounce } from '../fixtures/make-fixtures.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { exitWithin } from '../test/helpers/managed-process.ts'
import { hasBinary, startAria2Leecher, startRtorrentSeeder, type ClientHandle } from '../test/helpers/real-clients.ts'
import { startTracker, type TestTracker } from '../test/helpers/tracker.ts'
import { floorLine } from './bare-node.ts'
import { MIB, fixed, formatTable, lastLines, oneLine, runCommand, sampleRss, sha1File } from './measure.ts'
import { startSeedSession, stopSeedSession, writeSeedingLibrary } from './our-session.ts'

export interface SeedBenchPayload {
  payloadDir: string
  name: string
  /** The cached torrent; its announce URL is replaced per seeder. */
  torrentPath: string
  sizeBytes: number
}

export type SeedSource = 'rtorrent' | 'friendtorrent'

export interface SeedRow {
  seeder: SeedSource
  ok: boolean
  seconds?: number
  mbPerSec?: number
  seederPeakRssMB?: number
  /** Ours only: how `friendtorrent seed` started and stopped. */
  startupMs?: number
  exitCode?: number
  shutdownMs?: number
  error?: string
}

export interface SeedSectionOptions {
  payload: SeedBenchPayload
  timeoutMs: number
  /** Where our seeder writes a CPU profile; none when undefined. */
  cpuProfDir?: string
  /** aria2c leechers at once (default 2). */
  leechers?: number
}

/** Issue 15: `seed` serving two fast leechers peaks at most here. */
const SEED_RSS_GOAL_MB = 60
const SEEDER_READY_TIMEOUT_MS = 10 * 60_000
const OUR_STARTUP_TIMEOUT_MS = 60_000
const OUR_STOP_GRACE_MS = 30_000
const TRACKER_WAIT_MS = 30_000

interface Seeder {
  pid: number
  stop(): Promise<void>
  logs(): string
}

/** One aria2c downloading from whoever the tracker lists; the time of its exit 0 (performance.now()), the file checked afterwards. */
async function downloadWithAria2(torrentPath: string, outDir: string, expectedSha1: string, payloadName: string, timeoutMs: number): Promise<number> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const leecher = await startAria2Leecher({ torrentPath, dataDir: outDir })
  try {
    const code = await exitWithin(leecher.exited, timeoutMs)
    const exitedAt = performance.now()
    if (code === 'timeout') throw new Error(`aria2c timed out after ${Math.round(timeoutMs / 1000)} s: ${lastLines(leecher.logs(), 2)}`)
    if (code !== 0) throw new Error(`aria2c exit ${code}: ${lastLines(leecher.logs(), 2)}`)
    // Untimed: aria2c verified every piece itself; this catches a wrong file anyway.
    const actualSha1 = await sha1File(join(outDir, payloadName)).catch((err: Error) => `unreadable (${err.message})`)
    if (actualSha1 !== expectedSha1) throw new Error(`aria2c finished, but the file differs from the payload (sha1 ${actualSha1})`)
    return exitedAt
  } finally {
    await leecher.stop()
  }
}

/** `count` aria2c leechers started together; seconds from their start to the last one's exit (the file checks untimed). */
async function downloadWithLeechers(count: number, torrentPath: string, outDir: string, expectedSha1: string, payloadName: string, timeoutMs: number): Promise<number> {
  const started = performance.now()
  try {
    const exits = await Promise.all(Array.from({ length: count }, (_, i) => downloadWithAria2(torrentPath, join(outDir, `leecher-${i}`), expectedSha1, payloadName, timeoutMs)))
    return (Math.max(...exits) - started) / 1000
  } finally {
    await rm(outDir, { recursive: true, force: true })
  }
}

async function startRtorrent(torrentPath: string, payloadDir: string): Promise<Seeder> {
  if (!hasBinary('rtorrent')) throw new Error('rtorrent not found on PATH: apt-get install -y rtorrent')
  const handle: ClientHandle = await startRtorrentSeeder({ torrentPath, dataDir: payloadDir, readyTimeoutMs: SEEDER_READY_TIMEOUT_MS })
  return handle
}

async function runOne(source: SeedSource, options: SeedSectionOptions, runDir: string, expectedSha1: string): Promise<SeedRow> {
  const { payload } = options
  const leechers = options.leechers ?? 2
  const row: SeedRow = { seeder: source, ok: false }
  let tracker: TestTracker | undefined
  let rtorrent: Seeder | undefined
  let ours: Awaited<ReturnType<typeof startSeedSession>> | undefined
  let rss: ReturnType<typeof sampleRss> | undefined
  const home = tempDir('bench-seed-home')
  try {
    // A tracker per seeder, so aria2c is never handed the address of the other one.
    tracker = await startTracker()
    const torrentPath = join(runDir, `seed-from-${source}.torrent`)
    await writeWithAnnounce(payload.torrentPath, torrentPath, [tracker.httpUrl])
    const infoHash = await readInfoHash(torrentPath)
    let seederPid: number
    if (source === 'rtorrent') {
      console.log('seed: starting rtorrent (it hashes the payload first)…')
      rtorrent = await startRtorrent(torrentPath, payload.payloadDir)
      seederPid = rtorrent.pid
    } else {
      console.log('seed: starting friendtorrent seed over a library holding the payload…')
      const { env } = await writeSeedingLibrary(home.path, await freePort(), [{ torrentFile: await readFile(torrentPath), savePath: payload.payloadDir }])
      ours = await startSeedSession(env, OUR_STARTUP_TIMEOUT_MS, options.cpuProfDir)
      row.startupMs = ours.startupMs
      seederPid = ours.proc.pid
    }
    rss = sampleRss(seederPid)
    await tracker.waitForSeeders(infoHash, 1, TRACKER_WAIT_MS)
    // Let earlier writes (the last download, the state folder) finish so they do not slow this one.
    await runCommand('sync', [])
    console.log(`seed: ${leechers} aria2c downloading from ${source}…`)
    try {
      row.seconds = await downloadWithLeechers(leechers, torrentPath, join(runDir, `dl-from-${source}`), expectedSha1, payload.name, options.timeoutMs)
      row.mbPerSec = (leechers * payload.sizeBytes) / 1e6 / row.seconds
      row.ok = true
    } catch (err) {
      const seederTail = ours ? ours.proc.logs() : rtorrent?.logs() ?? ''
      throw new Error(`${oneLine(err, 200)}; ${source} said: ${lastLines(seederTail, 2)}`)
    }
  } catch (err) {
    row.ok = false
    row.error = oneLine(err)
  } finally {
    const peak = rss?.stop()
    if (peak !== undefined) row.seederPeakRssMB = peak / 1e6
    if (ours) {
      const stopped = await stopSeedSession(ours.proc, OUR_STOP_GRACE_MS)
      row.exitCode = stopped.exitCode
      row.shutdownMs = stopped.shutdownMs
      if (stopped.exitCode !== 0 && row.ok) {
        row.ok = false
        row.error = `friendtorrent seed exited with ${stopped.exitCode}${stopped.killed ? ' (killed: no exit within 30 s of SIGTERM)' : ''} after SIGTERM: ${lastLines(ours.proc.logs(), 2)}`
      }
    }
    await rtorrent?.stop()
    await tracker?.close()
    await home.cleanup()
  }
  console.log(`seed: from ${source}: ${row.ok ? `${row.seconds!.toFixed(2)} s` : row.error}`)
  return row
}

export async function runSeedSection(options: SeedSectionOptions): Promise<SeedRow[]> {
  const run = tempDir('bench-seed')
  try {
    const expectedSha1 = await sha1File(join(options.payload.payloadDir, options.payload.name))
    const rows: SeedRow[] = []
    for (const source of ['rtorrent', 'friendtorrent'] as const) rows.push(await runOne(source, options, run.path, expectedSha1))
    return rows
  } finally {
    await run.cleanup()
  }
}

export function formatSeedSection(rows: SeedRow[], sizeBytes: number, leechers = 2): string {
  const table = formatTable(
    `seed: ${leechers} aria2c at once download ${(sizeBytes / MIB).toFixed(0)} MiB from each seeder on 127.0.0.1 (MB = 10^6 bytes, all leechers together)`,
    ['seeder', 'last aria2c done (s)', 'MB/s', 'seeder peak RSS (MB)', 'result'],
    rows.map((r) => [r.seeder, fixed(r.seconds, 2), fixed(r.mbPerSec, 1), fixed(r.seederPeakRssMB, 1), r.ok ? 'ok' : `FAILED: ${r.error ?? 'unknown error'}`]),
  )
  const lines = [table, '']
  const ours = rows.find((r) => r.seeder === 'friendtorrent')
  const theirs = rows.find((r) => r.seeder === 'rtorrent')
  if (ours?.ok && theirs?.ok && ours.mbPerSec !== undefined && theirs.mbPerSec !== undefined) {
    const ratio = ours.mbPerSec / theirs.mbPerSec
    lines.push(`friendtorrent/rtorrent as seeder: speed ×${ratio.toFixed(2)}   goal ≥ 1.00: ${ratio >= 1 ? 'met' : 'NOT met'}`)
  } else {
    lines.push('friendtorrent/rtorrent as seeder: no ratio (a row failed)')
  }
  if (ours?.startupMs !== undefined) {
    const rssMet = ours.seederPeakRssMB === undefined ? '' : ours.seederPeakRssMB <= SEED_RSS_GOAL_MB ? ' (met)' : ' (NOT met)'
    lines.push(
      `friendtorrent seed: peak RSS ${fixed(ours.seederPeakRssMB, 1)} MB, goal ≤ ${SEED_RSS_GOAL_MB}${rssMet}; up in ${fixed(ours.startupMs, 0)} ms, ` +
        `exit ${ours.exitCode ?? '-'} ${fixed(ours.shutdownMs, 0)} ms after SIGTERM`,
    )
    if (ours.seederPeakRssMB !== undefined) lines.push(`  ${floorLine(process.env, ours.seederPeakRssMB)}`)
  }
  return lines.join('\n')
}
