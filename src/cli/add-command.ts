// `friendtorrent add <file.torrent>` with no session running: downloads in the
// foreground with a progress display and exits 0 once every piece is verified
// and the files are closed. Composition only: the work is done by Torrent.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pLimit from 'p-limit'
import type { LimitFunction } from 'p-limit'
import { newPeerId } from '../core/peer-id.ts'
import { errorMessage, FriendError, parseAddress } from '../core/types.ts'
import type { PeerCandidate } from '../core/types.ts'
import { parseTorrentFile } from '../metainfo/metainfo.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { parseMagnetOrInfoHash } from '../metainfo/magnet.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { torrentFileBytes } from '../metainfo/torrent-file.ts'
import { DhtSource } from '../discovery/dht-source.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import { MetadataTask } from '../torrent/metadata-task.ts'
import { writeFileAtomic } from '../core/atomic-write.ts'
import { Listener } from '../session/listener.ts'
import type { TransportPolicy } from '../peer/dial.ts'
import { FileStorage } from '../storage/file-storage.ts'
import { Torrent } from '../torrent/torrent.ts'
import type { TorrentSnapshot } from '../torrent/torrent.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from '../tui/format/format.ts'
import { startConfiguredDht } from './start-dht.ts'
import { loadConfig, paths, peerOptions, resolveDownloadDir, resolveStateDir } from './config.ts'
import type { Config } from './config.ts'
import type { CliIo } from './io.ts'
import { ControlClient } from './control-client.ts'
import { controlSocketPath } from './session-control.ts'

export const ADD_USAGE = `usage: friendtorrent add <file.torrent | magnet:?xt=urn:btih:… | INFOHASH> [-o DIR] [--peer HOST:PORT ...] [--port N]

  -o, --output DIR     save folder (default: config downloadDir, "downloads")
      --peer HOST:PORT connect to this peer too (repeatable)
      --port N         listen for peers on this port (default: config listenPort, 6881)
  -q, --quiet          no progress lines, only the result
  -v, --verbose        also log peers connecting and leaving, and every announce`

export async function runAdd(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      peer: { type: 'string', multiple: true },
      port: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    io.out(ADD_USAGE)
    return 0
  }
  if (positionals.length !== 1) throw new FriendError(`add takes one torrent, got ${positionals.length}; see friendtorrent add --help`)
  const target = positionals[0]
  const manualPeers: PeerCandidate[] = (values.peer ?? []).map((p) => ({ ...parseAddress(p), source: 'manual' as const }))
  const where = paths(io.env)
  const config = await loadConfig(where.configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  let listenPort = config.listenPort
  if (values.port !== undefined) {
    listenPort = Number(values.port)
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) throw new FriendError(`--port must be 0-65535, got "${values.port}"`)
  }

  // Everything that can be wrong with the input is found before anything is written.
  const input = await readInput(target)
  const saveDir = resolveDownloadDir(config, values.output, io.cwd)

  const session = await ControlClient.connect(controlSocketPath(stateDir))
  if (session) {
    try {
      return await handToSession(session, input, { io, saveDir })
    } finally {
      session.close()
    }
  }

  const listener = new Listener(undefined, { utp: config.utp, tcp: config.tcp })
  let port: number
  try {
    port = await listener.listen(listenPort)
  } catch {
    port = await listener.listen(0)
  }
  const peerId = newPeerId()
  const dialLimit = pLimit(config.maxHalfOpenConnections)
  const dht = await startConfiguredDht(config, stateDir, port, (line) => io.err(`friendtorrent: ${line}`), listener.dhtSocket())
  const dhtSource = (infoHash: Buffer, isPrivate: boolean) =>
    dht && !isPrivate ? [new DhtSource({ node: dht, infoHash, port, private: isPrivate, announce: true })] : []

  let interrupted: ((signal: NodeJS.Signals) => void) | undefined
  const onSignal = (signal: NodeJS.Signals) => interrupted?.(signal)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const closeAll = async () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await listener.close()
    await dht?.stop()
  }

  try {
    let meta: Metainfo
    let handedPeers: PeerCandidate[] = []
    if (input.kind === 'torrent') {
      meta = input.meta
    } else {
      const fetched = await fetchMetadata(input.link, { io, peerId, port, transports: listener.transports, dialLimit, manualPeers, sources: dhtSource(input.link.infoHash, false), quiet: Boolean(values.quiet), setInterrupt: (fn) => (interrupted = fn) })
      if (fetched.code !== 0) {
        io.err(`friendtorrent: ${fetched.message}`)
        return fetched.code
      }
      meta = fetched.meta!
      handedPeers = fetched.peers!
      const saved = await saveTorrentFile(meta, join(stateDir, 'torrents'))
      io.out(`metadata verified: ${meta.name}; saved ${saved}`)
    }
    return await download(meta, { io, config, saveDir, port, transports: listener.transports, peerId, dialLimit, listener, peers: [...manualPeers, ...handedPeers], sources: dhtSource(meta.infoHash, meta.private), quiet: Boolean(values.quiet), verbose: Boolean(values.verbose), setInterrupt: (fn) => (interrupted = fn) })
  } finally {
    await closeAll()
  }
}

type Input = { kind: 'torrent'; meta: Metainfo; data: Buffer } | { kind: 'link'; link: MagnetLink; text: string }

/** A session runs: it takes the torrent (or the magnet link, whose metadata it fetches) and we return at once. */
async function handToSession(session: ControlClient, input: Input, ctx: { io: CliIo; saveDir: string }): Promise<number> {
  const args = input.kind === 'torrent' ? { torrentBase64: input.data.toString('base64') } : { magnet: input.text }
  const result = (await session.call('add', { ...args, savePath: ctx.saveDir })) as { added: boolean; note?: string; summary: { name: string; state: string } }
  ctx.io.out(result.added ? `added ${result.summary.name} to the running session (${result.summary.state}; save folder ${ctx.saveDir})` : `note: ${result.note}`)
  return 0
}

async function readInput(target: string): Promise<Input> {
  // Bare hashes too: 40 hex digits (v1), 32 base32 characters, and 64 hex digits (v2, refused by name).
  if (/^magnet:/i.test(target) || /^(?:[0-9a-f]{40}|[0-9a-f]{64}|[a-z2-7]{32})$/i.test(target)) {
    try {
      return { kind: 'link', link: parseMagnetOrInfoHash(target), text: target }
    } catch (err) {
      throw new FriendError(errorMessage(err))
    }
  }
  let data: Buffer
  try {
    data = await readFile(target)
  } catch (err) {
    throw new FriendError(`cannot read ${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)}`)
  }
  const meta = await parseTorrentFile(data).catch((err: unknown) => {
    throw new FriendError(`${target}: ${errorMessage(err)}`)
  })
  return { kind: 'torrent', meta, data }
}

interface PhaseContext {
  io: CliIo
  peerId: Buffer
  port: number
  transports: TransportPolicy
  dialLimit: LimitFunction
  sources: PeerSource[]
  quiet: boolean
  setInterrupt(fn: (signal: NodeJS.Signals) => void): void
}

/** BEP 9: the info dict from peers found through the link's trackers, x.pe, --peer and the DHT. */
async function fetchMetadata(
  link: MagnetLink,
  ctx: PhaseContext & { manualPeers: PeerCandidate[] },
): Promise<{ code: number; message?: string; meta?: Metainfo; peers?: PeerCandidate[] }> {
  const { io } = ctx
  const task = new MetadataTask({ link, peerId: ctx.peerId, listenPort: ctx.port, transports: ctx.transports, dialLimit: ctx.dialLimit, sources: ctx.sources })
  io.out(`${link.name ?? link.infoHashHex}: fetching metadata from peers…`)
  const timer = ctx.quiet ? undefined : setInterval(() => io.out(`fetching metadata: peers ${task.connectedPeers}/${task.knownPeers}`), 5000)
  timer?.unref()
  try {
    return await new Promise((resolve) => {
      task.on('metadata', (meta, peers) => resolve({ code: 0, meta, peers }))
      task.on('error', (message) => resolve({ code: 1, message }))
      task.on('trackerError', ({ url, message, retryAtMs }) =>
        io.err(`friendtorrent: tracker ${url}: ${message}; retrying in ${formatEta((retryAtMs - Date.now()) / 1000)}`),
      )
      ctx.setInterrupt((signal) => resolve({ code: signal === 'SIGINT' ? 130 : 143, message: `interrupted by ${signal} while fetching metadata` }))
      task.start()
      task.addPeers(ctx.manualPeers)
    })
  } finally {
    if (timer) clearInterval(timer)
    await task.stop()
  }
}

/** Keeps the fetched metadata as a .torrent in the state folder (written atomically). */
async function saveTorrentFile(meta: Metainfo, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const file = join(dir, `${meta.infoHashHex}.torrent`)
  await writeFileAtomic(file, torrentFileBytes(meta))
  return file
}

async function download(
  meta: Metainfo,
  ctx: PhaseContext & { config: Config; saveDir: string; listener: Listener; peers: PeerCandidate[]; verbose: boolean },
): Promise<number> {
  const { io, config, saveDir } = ctx
  let storage: FileStorage
  try {
    storage = await FileStorage.open(meta, saveDir)
  } catch (err) {
    throw new FriendError(`cannot prepare files in ${saveDir}: ${errorMessage(err)}`)
  }
  const torrent = new Torrent({
    meta,
    storage,
    peerId: ctx.peerId,
    listenPort: ctx.port,
    // One torrent in the foreground: the global and per-torrent limits both apply to it.
    maxConnections: Math.min(config.maxConnectionsPerTorrent, config.maxConnections),
    ...peerOptions(config),
    transports: ctx.transports,
    dialLimit: ctx.dialLimit,
    sources: ctx.sources,
  })
  const unregister = ctx.listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))

  const progress = new ProgressReporter(io, ctx.quiet ? 0 : config.progressIntervalSeconds * 1000)
  const startedAt = Date.now()
  const outcome = new Promise<{ code: number; message?: string }>((resolve) => {
    torrent.on('complete', () => resolve({ code: 0 }))
    torrent.on('error', (message) => resolve({ code: 1, message }))
    torrent.on('peerBanned', (host, reason) => io.err(`friendtorrent: banned ${host}: ${reason}`))
    torrent.on('trackerError', ({ url, message, retryAtMs }) =>
      io.err(`friendtorrent: tracker ${url}: ${message}; retrying in ${formatEta((retryAtMs - Date.now()) / 1000)}`),
    )
    if (ctx.verbose) {
      torrent.on('trackerAnnounced', ({ url, peers, intervalMs }) => io.err(`tracker ${url}: ${peers} peers, next announce in ${formatEta(intervalMs / 1000)}`))
      torrent.on('peerConnected', (key) => io.err(`peer ${key}: connected`))
      torrent.on('peerDisconnected', (key, reason) => io.err(`peer ${key}: ${reason}`))
      torrent.on('peerFailed', (key, reason) => io.err(`peer ${key}: ${reason}`))
    }
    ctx.setInterrupt((signal) => resolve({ code: signal === 'SIGINT' ? 130 : 143, message: `interrupted by ${signal}; partial data kept in ${saveDir}` }))
  })
  io.out(`${meta.name}: ${formatBytes(meta.length)} in ${meta.files.length} file${meta.files.length === 1 ? '' : 's'}, ${meta.pieceCount} pieces → ${saveDir}`)
  progress.start(() => torrent.snapshot())
  torrent.addPeers(ctx.peers)
  await torrent.start()
  const result = await outcome
  progress.stop()
  const final = torrent.snapshot()
  // A second Ctrl-C while stopping leaves at once.
  const forceExit = () => process.exit(130)
  process.once('SIGINT', forceExit)
  await torrent.stop()
  unregister()
  process.off('SIGINT', forceExit)
  if (result.code === 0) {
    const seconds = (Date.now() - startedAt) / 1000
    io.out(`done: ${meta.name}, ${formatBytes(meta.length)} verified in ${seconds.toFixed(1)} s (${formatBytes(final.downloadedBytes)} fetched, ${formatRate(final.downloadedBytes / Math.max(seconds, 0.001))})`)
  } else {
    io.err(`friendtorrent: ${result.message}`)
  }
  return result.code
}

/** A live line on a TTY, a plain line every few seconds otherwise. */
class ProgressReporter {
  readonly #io: CliIo
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #live = false

  constructor(io: CliIo, intervalMs: number) {
    this.#io = io
    this.#intervalMs = intervalMs
  }

  start(snapshot: () => TorrentSnapshot): void {
    if (this.#intervalMs === 0) return
    this.#live = this.#io.isTTY
    const every = this.#live ? 500 : this.#intervalMs
    this.#timer = setInterval(() => {
      const line = progressLine(snapshot())
      if (this.#live) this.#io.write(`\r\x1b[K${line}`)
      else this.#io.out(line)
    }, every)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    if (this.#live) this.#io.write('\r\x1b[K')
  }
}

export function progressLine(s: TorrentSnapshot): string {
  if (s.state === 'checking') return `checking ${s.name}: ${formatPercent(s.progress)} verified so far`
  return [
    formatPercent(s.progress),
    `${formatBytes(s.verifiedBytes)}/${formatBytes(s.sizeBytes)}`,
    `↓ ${formatRate(s.downloadRate)}`,
    `peers ${s.connectedPeers}/${s.knownPeers}`,
    `ETA ${formatEta(s.etaSeconds)}`,
  ].join('  ')
}
