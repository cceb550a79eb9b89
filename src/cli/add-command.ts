// `friendtorrent add <file.torrent>` with no session running: downloads in the
// foreground with a progress display and exits 0 once every piece is verified
// and the files are closed. Composition only: the work is done by Torrent.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import pLimit from 'p-limit'
import { newPeerId } from '../core/peer-id.ts'
import { errorMessage, FriendError, parseAddress } from '../core/types.ts'
import type { PeerCandidate } from '../core/types.ts'
import { parseTorrentFile } from '../metainfo/metainfo.ts'
import { Listener } from '../session/listener.ts'
import { FileStorage } from '../storage/file-storage.ts'
import { Torrent } from '../torrent/torrent.ts'
import type { TorrentSnapshot } from '../torrent/torrent.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from '../tui/format/format.ts'
import { loadConfig, paths, resolveDownloadDir } from './config.ts'
import type { CliIo } from './io.ts'

export const ADD_USAGE = `usage: friendtorrent add <file.torrent> [-o DIR] [--peer HOST:PORT ...] [--port N]

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
  if (/^magnet:/i.test(target) || /^[0-9a-f]{40}$/i.test(target)) {
    throw new FriendError('magnet links and bare info hashes are not supported yet (no DHT/metadata exchange in this version): pass a .torrent file')
  }
  const manualPeers: PeerCandidate[] = (values.peer ?? []).map((p) => ({ ...parseAddress(p), source: 'manual' as const }))
  const config = await loadConfig(paths(io.env).configFile)
  let listenPort = config.listenPort
  if (values.port !== undefined) {
    listenPort = Number(values.port)
    if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65535) throw new FriendError(`--port must be 0-65535, got "${values.port}"`)
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
  const saveDir = resolveDownloadDir(config, values.output, io.cwd)

  const listener = new Listener()
  let port: number
  try {
    port = await listener.listen(listenPort)
  } catch {
    port = await listener.listen(0)
  }
  let storage: FileStorage
  try {
    storage = await FileStorage.open(meta, saveDir)
  } catch (err) {
    await listener.close()
    throw new FriendError(`cannot prepare files in ${saveDir}: ${errorMessage(err)}`)
  }
  const torrent = new Torrent({
    meta,
    storage,
    peerId: newPeerId(),
    listenPort: port,
    // One torrent in the foreground: the global and per-torrent limits both apply to it.
    maxConnections: Math.min(config.maxConnectionsPerTorrent, config.maxConnections),
    dialLimit: pLimit(config.maxHalfOpenConnections),
    connectTimeoutMs: config.connectTimeoutSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    maxStrikes: config.maxStrikes,
  })
  const unregister = listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))

  const progress = new ProgressReporter(io, values.quiet ? 0 : config.progressIntervalSeconds * 1000)
  const startedAt = Date.now()
  const outcome = new Promise<{ code: number; message?: string }>((resolve) => {
    torrent.on('complete', () => resolve({ code: 0 }))
    torrent.on('error', (message) => resolve({ code: 1, message }))
    torrent.on('peerBanned', (host, reason) => io.err(`friendtorrent: banned ${host}: ${reason}`))
    torrent.on('trackerError', ({ url, message, retryAtMs }) =>
      io.err(`friendtorrent: tracker ${url}: ${message}; retrying in ${formatEta((retryAtMs - Date.now()) / 1000)}`),
    )
    if (values.verbose) {
      torrent.on('trackerAnnounced', ({ url, peers, intervalMs }) => io.err(`tracker ${url}: ${peers} peers, next announce in ${formatEta(intervalMs / 1000)}`))
      torrent.on('peerConnected', (key) => io.err(`peer ${key}: connected`))
      torrent.on('peerDisconnected', (key, reason) => io.err(`peer ${key}: ${reason}`))
      torrent.on('peerFailed', (key, reason) => io.err(`peer ${key}: ${reason}`))
    }
    const onSignal = (signal: NodeJS.Signals) => resolve({ code: signal === 'SIGINT' ? 130 : 143, message: `interrupted by ${signal}; partial data kept in ${saveDir}` })
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
  io.out(`${meta.name}: ${formatBytes(meta.length)} in ${meta.files.length} file${meta.files.length === 1 ? '' : 's'}, ${meta.pieceCount} pieces → ${saveDir}`)
  progress.start(() => torrent.snapshot())
  torrent.addPeers(manualPeers)
  await torrent.start()
  const result = await outcome
  progress.stop()
  const final = torrent.snapshot()
  // A second Ctrl-C while stopping leaves at once.
  const forceExit = () => process.exit(130)
  process.once('SIGINT', forceExit)
  await torrent.stop()
  unregister()
  await listener.close()
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
