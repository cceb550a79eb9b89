// Load benchmark (issue 15: memory stays bounded under load), the session's
// peak RSS (VmHWM) in two runs:
//  peers: `friendtorrent seed` over the library section's 1,000 small
//    torrents, first alone, then holding 200 peer connections
//    (bench/idle-peers.ts: wire clients on loopback that say `interested` and
//    keep-alives and request nothing; half on one torrent, the rest on four).
//  active: 20 torrents of --load-torrent-mib each, seeded by one
//    `friendtorrent seed` (its default maxActiveSeeds is 20) and downloaded by
//    one `friendtorrent seed --download` (maxActiveDownloads raised to 20: the
//    default is 3), both behind a tracker on 127.0.0.1; first one torrent
//    alone, then all 20 at once, each time into a fresh downloader. Both
//    sessions' peaks, the seconds and MB/s. What a user who runs a library
//    sees when 20 torrents move data at once, in both directions.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTorrent, readInfoHash, writeDeterministicFile, writeWithAnnounce } from '../fixtures/make-fixtures.ts'
import { ControlClient } from '../src/cli/control-client.ts'
import { controlSocketPath } from '../src/cli/session-control.ts'
import type { TorrentSummary } from '../src/session/session.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { startTracker } from '../test/helpers/tracker.ts'
import type { TestTracker } from '../test/helpers/tracker.ts'
import { holdPeersOnSession } from './idle-peers.ts'
import type { PeersOnSession } from './idle-peers.ts'
import { ensureSmallTorrents } from './library-section.ts'
import { MIB, fixed, formatTable, oneLine, peakRssBytes, sampleRss, sleep } from './measure.ts'
import { startSeedSession, stopSeedSession, writeSeedingLibrary } from './our-session.ts'
import type { RunningSession } from './our-session.ts'

export interface LoadOptions {
  benchDir: string
  libraryCount: number
  libraryFileBytes: number
  peerCount: number
  activeCount: number
  torrentMiB: number
  timeoutMs: number
}

export interface LoadResult {
  peers: {
    ok: boolean
    libraryCount: number
    wanted: number
    connectedAtEnd?: number
    libraryAloneMB?: number
    withPeersMB?: number
    error?: string
  }
  active: {
    ok: boolean
    count: number
    torrentMiB: number
    one?: DownloadRun
    all?: DownloadRun
    seederAfterOneMB?: number
    seederAfterAllMB?: number
    error?: string
  }
}

export interface DownloadRun {
  seconds: number
  mbPerSec: number
  peakRssMB: number
}

const SETTLE_MS = 3000
const HOLD_MS = 20_000
const POLL_MS = 250
const PIECE_LENGTH = 2 ** 18
/** Issue 15: a library session stays within this (the library section's ceiling). */
const BOUNDED_GOAL_MB = 100
/** Issue 15: a headless download of one torrent peaks at most here. */
const ONE_TORRENT_GOAL_MB = 60

export async function runLoadSection(options: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = {
    peers: { ok: false, libraryCount: options.libraryCount, wanted: options.peerCount },
    active: { ok: false, count: options.activeCount, torrentMiB: options.torrentMiB },
  }
  await runPeers(options, result.peers).catch((err: unknown) => (result.peers.error = oneLine(err)))
  await runActive(options, result.active).catch((err: unknown) => (result.active.error = oneLine(err)))
  return result
}

async function runPeers(options: LoadOptions, out: LoadResult['peers']): Promise<void> {
  const home = tempDir('bench-load-peers-home')
  let session: RunningSession | undefined
  let held: PeersOnSession | undefined
  try {
    const { filesDir, torrents } = await ensureSmallTorrents({ benchDir: options.benchDir, torrentCount: options.libraryCount, fileBytes: options.libraryFileBytes })
    const port = await freePort()
    // Room for every bench peer: they come from distinct addresses, so the per-address limit never bites.
    const limits = { maxConnections: options.peerCount + 50, maxConnectionsPerTorrent: options.peerCount }
    const { env, stateDir } = await writeSeedingLibrary(home.path, port, torrents.map((torrentFile) => ({ torrentFile, savePath: filesDir })), limits)
    console.log(`load: friendtorrent seed over ${torrents.length} torrents…`)
    session = await startSeedSession(env, 120_000)
    await sleep(SETTLE_MS)
    out.libraryAloneMB = (peakRssBytes(session.proc.pid) ?? 0) / 1e6
    console.log(`load: ${options.peerCount} peer connections…`)
    held = await holdPeersOnSession(port, stateDir, torrents, options.peerCount)
    const rss = sampleRss(session.proc.pid)
    await sleep(HOLD_MS)
    out.withPeersMB = (rss.stop() ?? 0) / 1e6
    out.connectedAtEnd = await held.connectedPeers()
    if (!session.proc.running) throw new Error(`friendtorrent seed exited with ${await session.proc.exited}`)
    out.ok = true
  } finally {
    held?.close()
    if (session) await stopSeedSession(session.proc, 60_000).catch(() => session!.proc.stop())
    await home.cleanup()
  }
}

/** `count` files of `mib` MiB and a torrent for each (2^18-byte pieces), made once and cached. */
async function ensureLoadTorrents(benchDir: string, count: number, mib: number): Promise<{ filesDir: string; torrentPaths: string[] }> {
  const root = join(benchDir, `load-${count}x${mib}mib`)
  const filesDir = join(root, 'files')
  const marker = join(root, 'complete')
  const stamp = `${count} ${mib} ${PIECE_LENGTH}\n`
  const names = Array.from({ length: count }, (_, i) => `load-${String(i).padStart(2, '0')}.bin`)
  const torrentPaths = names.map((name) => join(root, `${name}.torrent`))
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== stamp) {
    console.log(`load: making ${count} files of ${mib} MiB and their torrents in ${root} (once)…`)
    await rm(root, { recursive: true, force: true })
    await mkdir(filesDir, { recursive: true })
    for (const [i, name] of names.entries()) {
      await writeDeterministicFile(join(filesDir, name), mib * MIB, name)
      // The announce URL is replaced per run; the info hash does not depend on it.
      await makeTorrent(join(filesDir, name), torrentPaths[i], { pieceLength: PIECE_LENGTH, announce: ['http://127.0.0.1:1/announce'] })
    }
    writeFileSync(marker, stamp)
  }
  return { filesDir, torrentPaths }
}

async function runActive(options: LoadOptions, out: LoadResult['active']): Promise<void> {
  const { filesDir, torrentPaths } = await ensureLoadTorrents(options.benchDir, options.activeCount, options.torrentMiB)
  const run = tempDir('bench-load-active')
  const seederHome = tempDir('bench-load-seeder-home')
  let tracker: TestTracker | undefined
  let seeder: RunningSession | undefined
  try {
    tracker = await startTracker()
    const announced = await Promise.all(
      torrentPaths.map(async (path, i) => {
        const to = join(run.path, `t${i}.torrent`)
        await writeWithAnnounce(path, to, [tracker!.httpUrl])
        return to
      }),
    )
    const { env } = await writeSeedingLibrary(seederHome.path, await freePort(), await Promise.all(announced.map(async (p) => ({ torrentFile: await readFile(p), savePath: filesDir }))))
    console.log(`load: friendtorrent seed seeding ${announced.length} torrents of ${options.torrentMiB} MiB…`)
    seeder = await startSeedSession(env, 120_000)
    const seederRss = sampleRss(seeder.proc.pid)
    const hashes = await Promise.all(announced.map((p) => readInfoHash(p)))
    for (const h of hashes) await tracker.waitForSeeders(h, 1, 60_000)
    console.log('load: one torrent into `friendtorrent seed --download`…')
    out.one = await downloadInto(announced.slice(0, 1), hashes.slice(0, 1), run.path, 'one', options)
    out.seederAfterOneMB = (peakRssBytes(seeder.proc.pid) ?? 0) / 1e6
    console.log(`load: ${announced.length} torrents at once into a fresh \`friendtorrent seed --download\`…`)
    out.all = await downloadInto(announced, hashes, run.path, 'all', options)
    out.seederAfterAllMB = (seederRss.stop() ?? 0) / 1e6
    if (!seeder.proc.running) throw new Error(`the seeding session exited with ${await seeder.proc.exited}`)
    out.ok = true
  } finally {
    if (seeder) await stopSeedSession(seeder.proc, 60_000).catch(() => seeder!.proc.stop())
    await tracker?.close()
    await seederHome.cleanup()
    await run.cleanup()
  }
}

/** A fresh `seed --download` session takes `torrents` over its control socket; timed until every one seeds. */
async function downloadInto(torrents: string[], hashes: string[], runDir: string, label: string, options: LoadOptions): Promise<DownloadRun> {
  const home = tempDir(`bench-load-${label}-home`)
  const outDir = join(runDir, `dl-${label}`)
  await mkdir(outDir, { recursive: true })
  let session: RunningSession | undefined
  let client: ControlClient | undefined
  try {
    const { env, stateDir } = await writeSeedingLibrary(home.path, await freePort(), [], { downloadDir: outDir, maxActiveDownloads: torrents.length })
    session = await startSeedSession(env, 120_000, undefined, ['--download'])
    const rss = sampleRss(session.proc.pid)
    client = await ControlClient.connect(controlSocketPath(stateDir))
    if (!client) throw new Error('the downloading session does not answer on its control socket')
    const started = performance.now()
    for (const path of torrents) await client.call('add', { path })
    const wanted = new Set(hashes)
    for (;;) {
      const list = (await client.call('list')) as TorrentSummary[]
      const mine = list.filter((t) => wanted.has(t.infoHash))
      const failed = mine.find((t) => t.state === 'error')
      if (failed) throw new Error(`${failed.name} failed: ${failed.error}`)
      if (mine.length === wanted.size && mine.every((t) => t.state === 'seeding')) break
      if (performance.now() - started > options.timeoutMs) {
        const done = mine.filter((t) => t.state === 'seeding').length
        throw new Error(`${done} of ${wanted.size} complete after ${options.timeoutMs / 1000} s`)
      }
      await sleep(POLL_MS)
    }
    const seconds = (performance.now() - started) / 1000
    const peak = rss.stop() ?? 0
    return { seconds, mbPerSec: (torrents.length * options.torrentMiB * MIB) / 1e6 / seconds, peakRssMB: peak / 1e6 }
  } finally {
    client?.close()
    if (session) await stopSeedSession(session.proc, 60_000).catch(() => session!.proc.stop())
    await home.cleanup()
    await rm(outDir, { recursive: true, force: true })
  }
}

export function formatLoadSection(r: LoadResult): string {
  const goal = (v: number | undefined, max: number) => (v === undefined ? '' : v <= max ? 'met' : 'NOT met')
  const p = r.peers
  const a = r.active
  const ratio = a.one && a.all ? `×${(a.all.peakRssMB / a.one.peakRssMB).toFixed(2)} of one torrent's` : ''
  const rows = [
    [`seed over ${p.libraryCount} torrents, alone: peak RSS (MB)`, fixed(p.libraryAloneMB, 1), '', ''],
    [`… holding ${p.wanted} peers for ${HOLD_MS / 1000} s: peak RSS (MB)`, fixed(p.withPeersMB, 1), `≤ ${BOUNDED_GOAL_MB}`, `${goal(p.withPeersMB, BOUNDED_GOAL_MB)}; ${p.connectedAtEnd ?? '?'} connected at the end`],
    [`download 1 torrent of ${a.torrentMiB} MiB: peak RSS (MB)`, fixed(a.one?.peakRssMB, 1), `≤ ${ONE_TORRENT_GOAL_MB}`, a.one ? `${goal(a.one.peakRssMB, ONE_TORRENT_GOAL_MB)}; ${a.one.seconds.toFixed(1)} s, ${a.one.mbPerSec.toFixed(1)} MB/s` : ''],
    [`download ${a.count} torrents at once: peak RSS (MB)`, fixed(a.all?.peakRssMB, 1), `≤ ${BOUNDED_GOAL_MB}`, a.all ? `${goal(a.all.peakRssMB, BOUNDED_GOAL_MB)}; ${ratio}; ${a.all.seconds.toFixed(1)} s, ${a.all.mbPerSec.toFixed(1)} MB/s` : ''],
    [`seeder, 1 torrent uploading: peak RSS (MB)`, fixed(a.seederAfterOneMB, 1), '', ''],
    [`seeder, ${a.count} torrents uploading at once: peak RSS (MB)`, fixed(a.seederAfterAllMB, 1), `≤ ${BOUNDED_GOAL_MB}`, goal(a.seederAfterAllMB, BOUNDED_GOAL_MB)],
  ]
  const table = formatTable('load: session memory with many peers and many active torrents (ours → ours on 127.0.0.1)', ['measure', 'value', 'goal', 'note'], rows)
  const errors = [p.error && `peers FAILED: ${p.error}`, a.error && `active FAILED: ${a.error}`].filter(Boolean)
  return [table, ...errors].join('\n')
}

