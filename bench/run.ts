// Loopback benchmarks, in sections (default: all of them):
//  download: one real seeder (rtorrent by default), then friendtorrent, aria2c
//    and qbittorrent-nox download the same payload from it, one after another,
//    each into a fresh folder; wall time, MB/s, peak RSS and friendtorrent's ratios.
//  seed: two aria2c at once (--seed-leechers) download the payload from rtorrent, then from
//    `friendtorrent seed`; MB/s from each, the ratio and our seeder's peak RSS (bench/seed-section.ts).
//  library: `friendtorrent seed` over 1000 small torrents; start-up time,
//    peak RSS and shutdown (bench/library-section.ts).
//  dashboard: the payload from rtorrent into a headless session and into the
//    dashboard's in tmux, alternating; time and peak RSS (bench/dashboard-section.ts).
//  dashboard-idle: the dashboard attached to `seed` over --library-count small
//    torrents, idle: CPU of both processes against the session alone, and the
//    dashboard's RSS (bench/dashboard-idle-section.ts).
//  dashboard-peers: the same with 200 idle peer connections held open to the
//    session and the busiest torrent's peers tab shown, 30 s windows.
//  load: the session's peak RSS holding 200 peers over the 1,000-torrent
//    library, and downloading 20 torrents at once from our own seeder (and
//    that seeder's), against one torrent alone (bench/load-section.ts).
//  parse: the wire decoder and the metainfo parser on inputs whose speed is a
//    goal (many small messages, hostile sizes), in-process (bench/parse-section.ts).
//  encryption: the payload from our `seed` into our `add`, MSE required vs
//    plaintext, alternating; and 200 MSE handshakes at once against the event
//    loop's worst delay (bench/encryption-section.ts).
//  big: a 100,000-file torrent and a 500,000-piece one added to a running
//    `friendtorrent seed`: add, check, files --json, priorities, resume after
//    a restart, peak RSS (bench/big-section.ts).
//  utp: a stream ours → ours over uTP against TCP, and a torrent from
//    qBittorrent in uTP-only mode into us against into qBittorrent (bench/utp-section.ts).
//  crawl: `friendtorrent crawl` over a loopback DHT of our nodes (BEP 51)
//    holding torrents our seeders serve: time until all are indexed, metadata
//    per minute, peak RSS (bench/crawl-section.ts).
//  index: synthetic torrents (realistic names and file lists) into a SQLite
//    index: inserts/s, bytes per torrent without and with info dicts, search
//    p50/p95 for one- and three-word queries (bench/index-section.ts).
// Figures are noisy: compare the clients of one run, as ratios. Never aborts
// the run because one client fails.
//
//   npm run bench -- [--size-mib 1024] [--piece-exp 18] [--seeder rtorrent|qbittorrent] [--timeout-s N]
//                    [--only download,seed,library,load,dashboard,parse,encryption,dashboard-idle,dashboard-peers,utp,crawl,big,index | --only friendtorrent,aria2c,qbittorrent,...]
//                    [--library-count 1000] [--library-file-kib 64] [--library-max-active-seeds N]
//                    [--load-peers 200] [--load-active 20] [--load-torrent-mib 32]
//                    [--seed-leechers 2] [--dashboard-rounds 2] [--encryption-rounds 1] [--cpu-prof-dir DIR] [--json out.json]
//                    [--crawl-nodes 20] [--crawl-torrents 200] [--index-count 1000000] [--index-dict-count 20000] [--big-only files|pieces]
//
// --only takes section names and download clients: a client name selects the
// download section with just the clients named. --cpu-prof-dir makes every
// `friendtorrent seed` of the seed and library sections, the dashboard of
// dashboard-idle, and every seed and add of the encryption section write a
// CPU profile there.
//
// The payload and its torrent are cached under $BENCH_DIR (default
// <tmpdir>/friendtorrent-bench); each run writes a copy of the torrent that
// announces to this run's tracker.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { makeTorrent, readInfoHash, writeDeterministicFile, writeWithAnnounce } from '../fixtures/make-fixtures.ts'
import { CLI_PATH, REPO_ROOT, isolatedEnv } from '../test/helpers/cli.ts'
import { exitWithin, ManagedProcess } from '../test/helpers/managed-process.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import {
  hasBinary,
  startAria2Leecher,
  startQbittorrent,
  startQbittorrentSeeder,
  startRtorrentSeeder,
  type ClientHandle,
} from '../test/helpers/real-clients.ts'
import { startTracker } from '../test/helpers/tracker.ts'
import { floorLine } from './bare-node.ts'
import { formatBigSection, runBigSection } from './big-section.ts'
import { formatEncryptionSection, runEncryptionSection } from './encryption-section.ts'
import { formatDashboardSection, runDashboardSection, type DashboardRow } from './dashboard-section.ts'
import { formatDashboardIdleSection, runDashboardIdleSection } from './dashboard-idle-section.ts'
import { formatLibrarySection, runLibrarySection, type LibraryResult } from './library-section.ts'
import { formatLoadSection, runLoadSection } from './load-section.ts'
import { MIB, formatTable as formatColumns, lastLines, oneLine, runCommand, sampleRss, sha1File } from './measure.ts'
import { formatIndexSection, runIndexSection } from './index-section.ts'
import { formatParseSection, runParseSection } from './parse-section.ts'
import { formatSeedSection, runSeedSection, type SeedRow } from './seed-section.ts'
import { formatUtpSection, runUtpSection } from './utp-section.ts'
import { formatCrawlSection, runCrawlSection } from './crawl-section.ts'

const CLIENTS = ['friendtorrent', 'aria2c', 'qbittorrent'] as const
type ClientName = (typeof CLIENTS)[number]
type SeederName = 'rtorrent' | 'qbittorrent'
const SECTIONS = ['download', 'seed', 'library', 'load', 'dashboard', 'dashboard-idle', 'dashboard-peers', 'parse', 'encryption', 'utp', 'crawl', 'big', 'index'] as const
type SectionName = (typeof SECTIONS)[number]

const QB_POLL_INTERVAL_MS = 100

interface BenchOptions {
  sizeMiB: number
  pieceExp: number
  /** Clients of the download section; empty when that section is not run. */
  only: ClientName[]
  sections: SectionName[]
  seeder: SeederName
  timeoutMs: number
  benchDir: string
  jsonPath?: string
  libraryCount: number
  libraryFileBytes: number
  libraryMaxActiveSeeds?: number
  loadPeers: number
  loadActive: number
  loadTorrentMiB: number
  dashboardRounds: number
  crawlNodes: number
  crawlTorrents: number
  /** --timeout-s when given, else 5 minutes (the payload size says nothing about a crawl). */
  crawlTimeoutMs: number
  encryptionRounds: number
  seedLeechers: number
  cpuProfDir?: string
  /** The big section's one torrent ("files" or "pieces"); both when undefined. */
  bigOnly?: 'files' | 'pieces'
  indexCount: number
  indexDictCount: number
}

interface Row {
  client: ClientName
  ok: boolean
  seconds?: number
  mbPerSec?: number
  peakRssMB?: number
  error?: string
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'size-mib': { type: 'string', default: '1024' },
      'piece-exp': { type: 'string', default: '18' },
      only: { type: 'string', default: SECTIONS.join(',') },
      seeder: { type: 'string', default: 'rtorrent' },
      'timeout-s': { type: 'string' },
      json: { type: 'string' },
      'library-count': { type: 'string', default: '1000' },
      'library-file-kib': { type: 'string', default: '64' },
      'library-max-active-seeds': { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      'load-peers': { type: 'string', default: '200' },
      'load-active': { type: 'string', default: '20' },
      'load-torrent-mib': { type: 'string', default: '32' },
      'dashboard-rounds': { type: 'string', default: '2' },
      'encryption-rounds': { type: 'string', default: '1' },
      'crawl-nodes': { type: 'string', default: '20' },
      'big-only': { type: 'string' },
      'crawl-torrents': { type: 'string', default: '200' },
      'seed-leechers': { type: 'string', default: '2' },
      'index-count': { type: 'string', default: '1000000' },
      'index-dict-count': { type: 'string', default: '20000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(
      'usage: npm run bench -- [--size-mib N] [--piece-exp N] [--only download,seed,library,load,dashboard,dashboard-idle,dashboard-peers,parse,encryption,utp,crawl,big,index|friendtorrent,aria2c,qbittorrent] ' +
        '[--seeder rtorrent|qbittorrent] [--timeout-s N] [--library-count N] [--library-file-kib N] [--library-max-active-seeds N] ' +
        '[--load-peers N] [--load-active N] [--load-torrent-mib N] [--seed-leechers N] [--dashboard-rounds N] [--encryption-rounds N] [--crawl-nodes N] [--crawl-torrents N] [--index-count N] [--index-dict-count N] [--big-only files|pieces] [--cpu-prof-dir DIR] [--json FILE]',
    )
    process.exit(0)
  }
  const sizeMiB = Number(values['size-mib'])
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`--size-mib must be a whole number of MiB ≥ 1, got ${values['size-mib']}`)
  const pieceExp = Number(values['piece-exp'])
  if (!Number.isInteger(pieceExp) || pieceExp < 15 || pieceExp > 24) throw new Error(`--piece-exp must be 15..24 (32 KiB..16 MiB), got ${values['piece-exp']}`)
  const only = (values.only ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of only) {
    if (!(CLIENTS as readonly string[]).includes(name) && !(SECTIONS as readonly string[]).includes(name)) {
      throw new Error(`--only: unknown section or client "${name}"; choose from ${[...SECTIONS, ...CLIENTS].join(', ')}`)
    }
  }
  const namedClients = CLIENTS.filter((c) => only.includes(c))
  const sections = SECTIONS.filter((s) => only.includes(s) || (s === 'download' && namedClients.length > 0))
  const libraryCount = Number(values['library-count'])
  if (!Number.isInteger(libraryCount) || libraryCount < 1) throw new Error(`--library-count must be a whole number ≥ 1, got ${values['library-count']}`)
  const libraryMaxActiveSeeds = values['library-max-active-seeds'] === undefined ? undefined : Number(values['library-max-active-seeds'])
  if (libraryMaxActiveSeeds !== undefined && (!Number.isInteger(libraryMaxActiveSeeds) || libraryMaxActiveSeeds < 1)) {
    throw new Error(`--library-max-active-seeds must be a whole number ≥ 1, got ${values['library-max-active-seeds']}`)
  }
  const libraryFileKiB = Number(values['library-file-kib'])
  if (!Number.isInteger(libraryFileKiB) || libraryFileKiB < 1) throw new Error(`--library-file-kib must be a whole number of KiB ≥ 1, got ${values['library-file-kib']}`)
  const loadPeers = Number(values['load-peers'])
  if (!Number.isInteger(loadPeers) || loadPeers < 1 || loadPeers > 60_000) throw new Error(`--load-peers must be a whole number from 1 to 60000, got ${values['load-peers']}`)
  const loadActive = Number(values['load-active'])
  if (!Number.isInteger(loadActive) || loadActive < 1 || loadActive > 100) throw new Error(`--load-active must be a whole number from 1 to 100, got ${values['load-active']}`)
  const loadTorrentMiB = Number(values['load-torrent-mib'])
  if (!Number.isInteger(loadTorrentMiB) || loadTorrentMiB < 1) throw new Error(`--load-torrent-mib must be a whole number of MiB ≥ 1, got ${values['load-torrent-mib']}`)
  const dashboardRounds = Number(values['dashboard-rounds'])
  if (!Number.isInteger(dashboardRounds) || dashboardRounds < 1) throw new Error(`--dashboard-rounds must be a whole number ≥ 1, got ${values['dashboard-rounds']}`)
  const encryptionRounds = Number(values['encryption-rounds'])
  if (!Number.isInteger(encryptionRounds) || encryptionRounds < 1) throw new Error(`--encryption-rounds must be a whole number ≥ 1, got ${values['encryption-rounds']}`)
  const crawlNodes = Number(values['crawl-nodes'])
  if (!Number.isInteger(crawlNodes) || crawlNodes < 2 || crawlNodes > 250) throw new Error(`--crawl-nodes must be a whole number from 2 to 250, got ${values['crawl-nodes']}`)
  const crawlTorrents = Number(values['crawl-torrents'])
  if (!Number.isInteger(crawlTorrents) || crawlTorrents < 1) throw new Error(`--crawl-torrents must be a whole number ≥ 1, got ${values['crawl-torrents']}`)
  const seedLeechers = Number(values['seed-leechers'])
  if (!Number.isInteger(seedLeechers) || seedLeechers < 1) throw new Error(`--seed-leechers must be a whole number ≥ 1, got ${values['seed-leechers']}`)
  const indexCount = Number(values['index-count'])
  const indexDictCount = Number(values['index-dict-count'])
  if (!Number.isInteger(indexCount) || indexCount < 1000) throw new Error(`--index-count must be a whole number ≥ 1000, got ${values['index-count']}`)
  if (!Number.isInteger(indexDictCount) || indexDictCount < 100) throw new Error(`--index-dict-count must be a whole number ≥ 100, got ${values['index-dict-count']}`)
  if (values.seeder !== 'rtorrent' && values.seeder !== 'qbittorrent') throw new Error(`--seeder must be rtorrent or qbittorrent, got ${values.seeder}`)
  // Generous: a client slower than 5 MB/s has failed the benchmark anyway.
  const timeoutMs = values['timeout-s'] ? Number(values['timeout-s']) * 1000 : Math.max(60_000, ((sizeMiB * MIB) / 5e6) * 1000)
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout-s must be a positive number of seconds`)
  return {
    sizeMiB,
    pieceExp,
    only: !sections.includes('download') ? [] : namedClients.length > 0 ? namedClients : [...CLIENTS],
    sections,
    seeder: values.seeder,
    timeoutMs,
    benchDir: resolve(process.env.BENCH_DIR || join(tmpdir(), 'friendtorrent-bench')),
    jsonPath: values.json,
    libraryCount,
    libraryFileBytes: libraryFileKiB * 1024,
    libraryMaxActiveSeeds,
    loadPeers,
    loadActive,
    loadTorrentMiB,
    dashboardRounds,
    encryptionRounds,
    crawlNodes,
    crawlTorrents,
    crawlTimeoutMs: values['timeout-s'] ? timeoutMs : 300_000,
    seedLeechers,
    indexCount,
    indexDictCount,
    cpuProfDir: values['cpu-prof-dir'] ? resolve(values['cpu-prof-dir']) : undefined,
    bigOnly: parseBigOnly(values['big-only']),
  }
}

/** The cached payload and its torrent (made once per size and piece length). */
async function ensurePayload(options: BenchOptions): Promise<{ payloadDir: string; name: string; torrentPath: string; sizeBytes: number }> {
  const sizeBytes = options.sizeMiB * MIB
  const name = `bench-${options.sizeMiB}mib.bin`
  const payloadDir = join(options.benchDir, `payload-${options.sizeMiB}mib`)
  const payloadPath = join(payloadDir, name)
  const payloadMarker = `${payloadPath}.complete`
  if (!existsSync(payloadMarker) || (await stat(payloadPath).catch(() => undefined))?.size !== sizeBytes) {
    console.log(`making ${options.sizeMiB} MiB of pseudo-random payload in ${payloadDir} (once)…`)
    await rm(payloadMarker, { force: true })
    await writeDeterministicFile(payloadPath, sizeBytes, name)
    writeFileSync(payloadMarker, `${sizeBytes}\n`)
  }
  const torrentPath = join(options.benchDir, `bench-${options.sizeMiB}mib-p${options.pieceExp}.torrent`)
  const torrentMarker = `${torrentPath}.complete`
  if (!existsSync(torrentMarker) || readFileSync(torrentMarker, 'utf8') !== readFileSync(payloadMarker, 'utf8')) {
    console.log(`hashing it into ${torrentPath} (piece length 2^${options.pieceExp})…`)
    // The announce URL is replaced per run; the info hash does not depend on it.
    await makeTorrent(payloadPath, torrentPath, { pieceLength: 2 ** options.pieceExp, announce: ['http://127.0.0.1:1/announce'] })
    writeFileSync(torrentMarker, readFileSync(payloadMarker, 'utf8'))
  }
  return { payloadDir, name, torrentPath, sizeBytes }
}

interface Measured {
  seconds: number
  peakRssBytes?: number
}

async function runFriendtorrent(torrentPath: string, outDir: string, timeoutMs: number): Promise<Measured> {
  const home = tempDir('bench-ft-home')
  const port = await freePort()
  let proc: ManagedProcess | undefined
  try {
    const started = performance.now()
    // Run as a user does (the executable and its shebang's Node flags), not `node bin/...`.
    proc = new ManagedProcess('friendtorrent', CLI_PATH, ['add', torrentPath, '-o', outDir, '--port', String(port)], {
      env: isolatedEnv(home.path),
      cwd: REPO_ROOT,
    })
    const rss = sampleRss(proc.pid)
    const code = await exitWithin(proc.exited, timeoutMs)
    const seconds = (performance.now() - started) / 1000
    const peak = rss.stop()
    if (code === 'timeout') throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${lastLines(proc.logs(), 2)}`)
    if (code !== 0) throw new Error(`exit ${code}: ${lastLines(proc.logs(), 2)}`)
    return { seconds, peakRssBytes: peak }
  } finally {
    await proc?.stop()
    await home.cleanup()
  }
}

async function runAria2(torrentPath: string, outDir: string, timeoutMs: number): Promise<Measured> {
  const started = performance.now()
  const leecher = await startAria2Leecher({ torrentPath, dataDir: outDir })
  const rss = sampleRss(leecher.pid)
  try {
    const code = await exitWithin(leecher.exited, timeoutMs)
    const seconds = (performance.now() - started) / 1000
    const peak = rss.stop()
    if (code === 'timeout') throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${lastLines(leecher.logs(), 2)}`)
    if (code !== 0) throw new Error(`exit ${code}: ${lastLines(leecher.logs(), 2)}`)
    return { seconds, peakRssBytes: peak }
  } finally {
    rss.stop()
    await leecher.stop()
  }
}

/** qbittorrent-nox is a daemon: it starts untimed; the clock runs from adding the torrent to progress 1. */
async function runQbittorrent(torrentPath: string, outDir: string, timeoutMs: number): Promise<Measured> {
  const qb = await startQbittorrent()
  try {
    const rss = sampleRss(qb.pid)
    const started = performance.now()
    const infoHash = await qb.addTorrent(torrentPath, outDir)
    const deadline = started + timeoutMs
    for (;;) {
      const [t] = await qb.info(infoHash)
      if (t && t.progress === 1) break
      if (t && (t.state === 'error' || t.state === 'missingFiles')) throw new Error(`qBittorrent state ${t.state}`)
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s at progress ${t?.progress ?? 0} (${t?.state ?? 'not listed'})`)
      }
      await new Promise((r) => setTimeout(r, QB_POLL_INTERVAL_MS))
    }
    const seconds = (performance.now() - started) / 1000
    return { seconds, peakRssBytes: rss.stop() }
  } finally {
    await qb.stop()
  }
}

const BINARY_OF: Record<ClientName, string | undefined> = {
  friendtorrent: undefined,
  aria2c: 'aria2c',
  qbittorrent: 'qbittorrent-nox',
}

async function startSeeder(name: SeederName, torrentPath: string, dataDir: string): Promise<ClientHandle> {
  const readyTimeoutMs = 10 * 60_000
  if (name === 'rtorrent') {
    if (!hasBinary('rtorrent')) throw new Error('rtorrent not found on PATH: apt-get install -y rtorrent (or use --seeder qbittorrent)')
    return startRtorrentSeeder({ torrentPath, dataDir, readyTimeoutMs })
  }
  if (!hasBinary('qbittorrent-nox')) throw new Error('qbittorrent-nox not found on PATH: apt-get install -y qbittorrent-nox')
  return startQbittorrentSeeder({ torrentPath, dataDir, readyTimeoutMs })
}

/**
 * aria2c 1.36 replaces a batch of have messages by a bitfield message, mid-connection,
 * once the batch costs more bytes than the bitfield; rtorrent 0.9.8 bans a peer
 * for that. Only torrents with many pieces keep the batches below that size.
 */
function warnAboutAria2AndRtorrent(sizeBytes: number, pieceExp: number): void {
  const pieces = Math.ceil(sizeBytes / 2 ** pieceExp)
  const batchPieces = Math.ceil((5 + Math.ceil(pieces / 8)) / 9)
  const batchBytes = batchPieces * 2 ** pieceExp
  if (batchBytes < 8 * MIB) {
    console.log(
      `note: with ${pieces} pieces, aria2c sends a mid-connection bitfield after ${batchPieces} pieces in one read ` +
        `(${(batchBytes / MIB).toFixed(1)} MiB), which rtorrent answers by banning it: its row may fail. ` +
        'Use --seeder qbittorrent, or 1 GiB with 2^18 pieces.',
    )
  }
}

function formatDownloadTable(rows: Row[], sizeBytes: number, seeder: SeederName): string {
  return formatColumns(
    `${(sizeBytes / MIB).toFixed(0)} MiB from ${seeder} on 127.0.0.1 (MB = 10^6 bytes)`,
    ['client', 'time (s)', 'MB/s', 'peak RSS (MB)', 'result'],
    rows.map((r) => [
      r.client,
      r.seconds !== undefined ? r.seconds.toFixed(2) : '-',
      r.mbPerSec !== undefined ? r.mbPerSec.toFixed(1) : '-',
      r.peakRssMB !== undefined ? r.peakRssMB.toFixed(1) : '-',
      r.ok ? 'ok' : `FAILED: ${r.error ?? 'unknown error'}`,
    ]),
  )
}

/** Issue 15: a headless 1 GiB `add` from one fast seeder peaks at most here. */
const ADD_RSS_GOAL_MB = 60

function ratios(rows: Row[]): string[] {
  const ft = rows.find((r) => r.client === 'friendtorrent' && r.ok)
  const out: string[] = []
  if (!ft) return out
  for (const other of ['aria2c', 'qbittorrent'] as const) {
    const r = rows.find((row) => row.client === other && row.ok)
    if (!r || r.mbPerSec === undefined || ft.mbPerSec === undefined) continue
    const speed = (ft.mbPerSec / r.mbPerSec).toFixed(2)
    const rss = ft.peakRssMB !== undefined && r.peakRssMB !== undefined ? (ft.peakRssMB / r.peakRssMB).toFixed(2) : '-'
    out.push(`friendtorrent/${other}: speed ×${speed}, peak RSS ×${rss}`)
  }
  if (ft.peakRssMB !== undefined) {
    out.push(`friendtorrent add: peak RSS ${ft.peakRssMB.toFixed(1)} MB   goal ≤ ${ADD_RSS_GOAL_MB}: ${ft.peakRssMB <= ADD_RSS_GOAL_MB ? 'met' : 'NOT met'}`)
    out.push(`  ${floorLine(process.env, ft.peakRssMB)}`)
  }
  return out
}

type Payload = Awaited<ReturnType<typeof ensurePayload>>

async function runDownloadSection(options: BenchOptions, payload: Payload): Promise<Row[]> {
  const tracker = await startTracker()
  const run = tempDir('bench-run')
  let seeder: ClientHandle | undefined
  const rows: Row[] = []
  try {
    const torrentPath = join(run.path, 'bench.torrent')
    await writeWithAnnounce(payload.torrentPath, torrentPath, [tracker.httpUrl])
    const infoHash = await readInfoHash(torrentPath)
    const expectedSha1 = await sha1File(join(payload.payloadDir, payload.name))
    if (options.seeder === 'rtorrent' && options.only.includes('aria2c')) warnAboutAria2AndRtorrent(payload.sizeBytes, options.pieceExp)
    console.log(`starting ${options.seeder} seeding ${payload.name} (verifying its data)…`)
    seeder = await startSeeder(options.seeder, torrentPath, payload.payloadDir)
    await tracker.waitForSeeders(infoHash, 1, 30_000)
    for (const client of options.only) {
      const outDir = join(run.path, `dl-${client}`)
      await rm(outDir, { recursive: true, force: true })
      await mkdir(outDir, { recursive: true })
      // Let the previous download's writeback finish so it does not slow this one.
      await runCommand('sync', [])
      console.log(`${client}: downloading…`)
      const row: Row = { client, ok: false }
      try {
        const binary = BINARY_OF[client]
        if (binary && !hasBinary(binary)) throw new Error(`${binary} not found on PATH`)
        const measured =
          client === 'friendtorrent'
            ? await runFriendtorrent(torrentPath, outDir, options.timeoutMs)
            : client === 'aria2c'
              ? await runAria2(torrentPath, outDir, options.timeoutMs)
              : await runQbittorrent(torrentPath, outDir, options.timeoutMs)
        row.seconds = measured.seconds
        row.mbPerSec = payload.sizeBytes / 1e6 / measured.seconds
        row.peakRssMB = measured.peakRssBytes !== undefined ? measured.peakRssBytes / 1e6 : undefined
        // Untimed: the clients verified every piece themselves; this catches a wrong file anyway.
        const actualSha1 = await sha1File(join(outDir, payload.name)).catch((err: Error) => `unreadable (${err.message})`)
        if (actualSha1 !== expectedSha1) throw new Error(`finished, but the file differs from the payload (sha1 ${actualSha1})`)
        row.ok = true
      } catch (err) {
        row.error = oneLine(err)
      }
      rows.push(row)
      console.log(`${client}: ${row.ok ? `${row.seconds!.toFixed(2)} s` : row.error}`)
      await rm(outDir, { recursive: true, force: true })
    }
  } finally {
    await seeder?.stop()
    await tracker.close()
    await run.cleanup()
  }
  return rows
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  await mkdir(options.benchDir, { recursive: true })
  if (options.cpuProfDir) await mkdir(options.cpuProfDir, { recursive: true })
  const needsPayload = ['download', 'seed', 'dashboard', 'encryption'].some((s) => options.sections.includes(s as SectionName))
  const payload = needsPayload ? await ensurePayload(options) : undefined
  const report: string[] = []
  const json: Record<string, unknown> = { date: new Date().toISOString(), sections: options.sections }
  // Each section prints its table at the end, so a failing one still leaves the others' figures.
  if (options.sections.includes('download') && payload) {
    const rows = await runDownloadSection(options, payload).catch((err: unknown): Row[] => {
      console.log(`download: ${oneLine(err)}`)
      return options.only.map((client) => ({ client, ok: false, error: oneLine(err) }))
    })
    const ratioLines = ratios(rows)
    report.push([formatDownloadTable(rows, payload.sizeBytes, options.seeder), ...(ratioLines.length > 0 ? ['', ...ratioLines] : [])].join('\n'))
    json.download = { sizeBytes: payload.sizeBytes, pieceExp: options.pieceExp, seeder: options.seeder, rows }
  }
  if (options.sections.includes('seed') && payload) {
    const rows: SeedRow[] = await runSeedSection({ payload, timeoutMs: options.timeoutMs, cpuProfDir: options.cpuProfDir, leechers: options.seedLeechers })
    report.push(formatSeedSection(rows, payload.sizeBytes, options.seedLeechers))
    json.seed = { sizeBytes: payload.sizeBytes, pieceExp: options.pieceExp, leechers: options.seedLeechers, rows }
  }
  if (options.sections.includes('library')) {
    const result: LibraryResult = await runLibrarySection({
      benchDir: options.benchDir,
      torrentCount: options.libraryCount,
      fileBytes: options.libraryFileBytes,
      maxActiveSeeds: options.libraryMaxActiveSeeds,
      cpuProfDir: options.cpuProfDir,
    })
    report.push(formatLibrarySection(result))
    json.library = result
  }
  if (options.sections.includes('load')) {
    const result = await runLoadSection({
      benchDir: options.benchDir,
      libraryCount: options.libraryCount,
      libraryFileBytes: options.libraryFileBytes,
      peerCount: options.loadPeers,
      activeCount: options.loadActive,
      torrentMiB: options.loadTorrentMiB,
      timeoutMs: options.timeoutMs,
    })
    report.push(formatLoadSection(result))
    json.load = result
  }
  if (options.sections.includes('dashboard') && payload) {
    const rows = await runDashboardSection({ payload, timeoutMs: options.timeoutMs, rounds: options.dashboardRounds }).catch((err: unknown): DashboardRow[] => [{ mode: 'dashboard', ok: false, error: oneLine(err) }])
    report.push(formatDashboardSection(rows, payload.sizeBytes))
    json.dashboard = { sizeBytes: payload.sizeBytes, rows }
  }
  if (options.sections.includes('dashboard-idle')) {
    const result = await runDashboardIdleSection({ benchDir: options.benchDir, torrentCount: options.libraryCount, fileBytes: options.libraryFileBytes, cpuProfDir: options.cpuProfDir })
    report.push(formatDashboardIdleSection(result))
    json.dashboardIdle = result
  }
  if (options.sections.includes('dashboard-peers')) {
    const result = await runDashboardIdleSection({ benchDir: options.benchDir, torrentCount: options.libraryCount, fileBytes: options.libraryFileBytes, cpuProfDir: options.cpuProfDir, peerCount: 200, windowMs: 30_000 })
    report.push(formatDashboardIdleSection(result))
    json.dashboardPeers = result
  }
  if (options.sections.includes('parse')) {
    const rows = await runParseSection()
    report.push(formatParseSection(rows))
    json.parse = { rows }
  }
  if (options.sections.includes('encryption') && payload) {
    const result = await runEncryptionSection({ payload, timeoutMs: options.timeoutMs, rounds: options.encryptionRounds, cpuProfDir: options.cpuProfDir })
    report.push(formatEncryptionSection(result, payload.sizeBytes))
    json.encryption = { sizeBytes: payload.sizeBytes, ...result }
  }
  if (options.sections.includes('index')) {
    const result = await runIndexSection({ count: options.indexCount, dictCount: options.indexDictCount })
    report.push(formatIndexSection(result))
    json.index = result
  }
  if (options.sections.includes('utp')) {
    const rows = await runUtpSection({ sizeMiB: options.sizeMiB, timeoutMs: options.timeoutMs })
    report.push(formatUtpSection(rows, options.sizeMiB * MIB))
    json.utp = { sizeBytes: options.sizeMiB * MIB, rows }
  }
  if (options.sections.includes('crawl')) {
    const result = await runCrawlSection({ nodes: options.crawlNodes, torrents: options.crawlTorrents, timeoutMs: options.crawlTimeoutMs })
    report.push(formatCrawlSection(result))
    json.crawl = result
  }
  if (options.sections.includes('big')) {
    const rows = await runBigSection({
      benchDir: options.benchDir,
      timeoutMs: Math.max(options.timeoutMs, 600_000),
      cpuProfDir: options.cpuProfDir,
      only: options.bigOnly === 'files' ? '100,000 files' : options.bigOnly === 'pieces' ? '500,000 pieces' : undefined,
    })
    report.push(formatBigSection(rows))
    json.big = { rows }
  }
  console.log('')
  console.log(report.join('\n\n'))
  if (options.cpuProfDir) console.log(`\nCPU profiles of friendtorrent seed: ${options.cpuProfDir}`)
  if (options.jsonPath) writeFileSync(options.jsonPath, JSON.stringify(json, null, 2))
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})

/** `--big-only files|pieces`: one of the big section's two torrents. */
function parseBigOnly(value: string | undefined): 'files' | 'pieces' | undefined {
  if (value === undefined) return undefined
  if (value === 'files' || value === 'pieces') return value
  throw new Error(`--big-only must be "files" or "pieces", got "${value}"`)
}
