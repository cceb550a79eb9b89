// `friendtorrent add <file.torrent | http(s) link | magnet | info hash>`.
// With a session running, the torrent is handed to it and we return at once.
// Otherwise a foreground add runs a session of its own (control socket
// included, so `list` and `pause` from another shell see it), adds the torrent
// to the library through it, shows progress, and exits 0 once every wanted
// piece is verified and its resume data saved; a later `seed` serves it
// without re-hashing. `--seed` keeps it seeding until Ctrl-C or a seed limit.
// A magnet or info hash the index holds (see `search`) is added from the
// stored info dict, at once, with no metadata fetch (index-lookup.ts).
// Composition only: the session does the work; nothing here builds a torrent.
import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseCommandLine } from './command-line.ts'
import { errorMessage, FriendError, parseAddress } from '../core/types.ts'
import type { PeerAddress } from '../core/types.ts'
import { parseTorrentFile } from '../metainfo/metainfo.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { notAnInfoHashNote, parseMagnetOrInfoHash } from '../metainfo/magnet.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { MAX_TORRENT_BYTES, overTorrentLimit } from '../metainfo/torrent-file.ts'
import { SELF_CONNECTION } from '../peer/peer-connection.ts'
import type { Session, TorrentSummary } from '../session/session.ts'
import { fetchTorrentUrl, isTorrentUrl } from '../session/torrent-url.ts'
import { formatBytes, formatEta, formatRate } from '../tui/format/format.ts'
import { ProgressReporter } from './add-progress.ts'
import { loadConfig, paths, resolveDownloadDir, resolveStateDir } from './config.ts'
import type { Config } from './config.ts'
import type { CliIo } from './io.ts'
import { ControlClient } from './control-client.ts'
import { controlSocketPath } from './session-control.ts'
import { hostSession } from './session-host.ts'
import { fromIndex, infoDictFromConfig } from './index-lookup.ts'

export const ADD_USAGE = `usage: friendtorrent add <file.torrent | http(s)://…/x.torrent | magnet:?xt=urn:btih:… | INFOHASH> [-o DIR] [--peer HOST:PORT ...] [--port N] [--seed]

  -o, --output DIR     save folder (default: config downloadDir, "downloads")
      --peer HOST:PORT connect to this peer too (repeatable)
      --port N         listen for peers on this port (default: config listenPort, 6881)
      --seed           keep seeding once complete, until Ctrl-C or the seed limits
  -q, --quiet          no progress lines, only the result
  -v, --verbose        also log peers, every announce and the session's log (DHT included)`

export async function runAdd(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('add', {
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      peer: { type: 'string', multiple: true },
      port: { type: 'string' },
      seed: { type: 'boolean' },
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
  const manualPeers: PeerAddress[] = (values.peer ?? []).map((p) => {
    try {
      return parseAddress(p)
    } catch (err) {
      throw new FriendError(`--peer ${errorMessage(err)}`)
    }
  })
  const config = await loadConfig(paths(io.env).configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  let listenPort: number | undefined
  if (values.port !== undefined) {
    listenPort = Number(values.port)
    if (!/^\d+$/.test(values.port) || listenPort > 65535) throw new FriendError(`--port must be 0-65535, got "${values.port}"`)
  }

  // Everything that can be wrong with the input is found before anything is written.
  let input = await readInput(positionals[0])
  if (input.kind === 'link') {
    const stored = await fromIndex(input.link, infoDictFromConfig(config, stateDir), (line) => io.err(`friendtorrent: warning: ${line}`))
    if (stored) {
      manualPeers.push(...input.link.peers)
      input = { kind: 'torrent', ...stored, target: positionals[0] }
      io.out(`${stored.meta.name}: info dict from the index (no metadata fetch)`)
    }
  }
  const saveDir = resolveDownloadDir(config, values.output, io.cwd)

  const running = await ControlClient.connect(controlSocketPath(stateDir))
  if (running) {
    try {
      return await handToSession(running, input, { io, saveDir })
    } finally {
      running.close()
    }
  }
  return runForeground(input, { io, config, stateDir, saveDir, listenPort, manualPeers, seed: Boolean(values.seed), quiet: Boolean(values.quiet), verbose: Boolean(values.verbose) })
}

/**
 * `path`: the .torrent's absolute path when it is a local file (a running
 * session reads it itself, so `data` is read here only when needed: see
 * torrentBytes). `meta` is parsed only when this process runs the torrent: a
 * running session parses what it is handed, and a 100,000-file torrent takes
 * a second to parse.
 */
type TorrentInput = { kind: 'torrent'; meta?: Metainfo; data?: Buffer; path?: string; target: string }
type Input = TorrentInput | { kind: 'link'; link: MagnetLink; text: string }

/** A session runs: it takes the torrent (or the magnet link, whose metadata it fetches) and we return at once. */
async function handToSession(session: ControlClient, input: Input, ctx: { io: CliIo; saveDir: string }): Promise<number> {
  type Added = { added: boolean; note?: string; summary: { name: string; state: string } }
  const add = (args: Record<string, unknown>) => session.call('add', { ...args, savePath: ctx.saveDir }) as Promise<Added>
  let result: Added
  if (input.kind === 'link') result = await add({ magnet: input.text })
  else if (input.path === undefined) result = await add({ torrentBase64: (await torrentBytes(input)).toString('base64') })
  else {
    // The path keeps megabytes of torrent off the control channel (and out of this process); the bytes go only if the session cannot read it.
    result = await add({ path: input.path }).catch(async (err: unknown) => {
      if (/^cannot read /.test(errorMessage(err))) return add({ torrentBase64: (await torrentBytes(input)).toString('base64') })
      throw new FriendError(`${input.target}: ${errorMessage(err)}`)
    })
  }
  ctx.io.out(result.added ? `added ${result.summary.name} to the running session (${result.summary.state}; save folder ${ctx.saveDir})` : `note: ${result.note}`)
  return 0
}

async function readInput(target: string): Promise<Input> {
  // Bare hashes too: 40 hex digits (v1), 32 base32 characters, and 64 hex digits (v2, BEP 52).
  if (/^magnet:/i.test(target) || /^(?:[0-9a-f]{40}|[0-9a-f]{64}|[a-z2-7]{32})$/i.test(target)) {
    try {
      return { kind: 'link', link: parseMagnetOrInfoHash(target), text: target }
    } catch (err) {
      throw new FriendError(errorMessage(err))
    }
  }
  if (isTorrentUrl(target)) return { kind: 'torrent', data: await fetchTorrentUrl(target), target }
  // A local file is looked at, not read: a running session reads it itself (10 MB for 500,000 pieces).
  await readable(target, () => stat(target).then((info) => {
    if (info.isDirectory()) throw new FriendError(`cannot read ${target}: it is a folder`)
    if (info.size > MAX_TORRENT_BYTES) throw new FriendError(overTorrentLimit(target, info.size))
  }))
  return { kind: 'torrent', path: resolve(target), target }
}

/** The .torrent's bytes: fetched already, or read from its file now (once). */
async function torrentBytes(input: TorrentInput): Promise<Buffer> {
  input.data ??= await readable(input.target, () => readFile(input.path!))
  return input.data
}

/** `look()`, with a failure to reach the file said in one line. */
async function readable<T>(target: string, look: () => Promise<T>): Promise<T> {
  try {
    return await look()
  } catch (err) {
    if (err instanceof FriendError) throw err
    throw new FriendError(`cannot read ${target}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file${notAnInfoHashNote(target)}` : errorMessage(err)}`)
  }
}

async function parsedMeta(input: TorrentInput): Promise<Metainfo> {
  if (input.meta) return input.meta
  const data = await torrentBytes(input)
  return parseTorrentFile(data).catch((err: unknown) => {
    throw new FriendError(`${input.target}: ${errorMessage(err)}`)
  })
}

interface ForegroundOptions {
  io: CliIo
  config: Config
  stateDir: string
  saveDir: string
  listenPort: number | undefined
  manualPeers: PeerAddress[]
  seed: boolean
  quiet: boolean
  verbose: boolean
}

type Outcome = { kind: 'complete' } | { kind: 'error'; message: string } | { kind: 'signal'; signal: NodeJS.Signals } | { kind: 'seedLimit'; reason: string }

/** No session runs: this process hosts one for the torrent, and leaves when it is done. */
async function runForeground(input: Input, opts: ForegroundOptions): Promise<number> {
  const { io, config, stateDir, saveDir } = opts
  if (input.kind === 'torrent') input = { ...input, meta: await parsedMeta(input) }
  let hash = input.kind === 'torrent' ? input.meta!.infoHashHex : input.link.infoHashHex
  let settle: ((o: Outcome) => void) | undefined
  let caught: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    caught ??= signal
    settle?.({ kind: 'signal', signal })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const hosted = await hostSession({
    config,
    stateDir,
    cwd: io.cwd,
    saveDir,
    download: true,
    listenPort: opts.listenPort,
    runOnlyAdded: true,
    // The session's log (added, resumed, tracker retries, the DHT's warnings) is for -v.
    onLog: opts.verbose ? (line) => io.err(line.text) : undefined,
  }).catch((err: unknown) => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    throw err
  })
  const { session } = hosted
  // A btmh magnet whose metadata turns out hybrid goes on under the v1 hash.
  session.on('infoHashChanged', (from, to) => from === hash && (hash = to))
  const summary = () => session.list().find((t) => t.infoHash === hash)
  const progress = new ProgressReporter(io, opts.quiet ? 0 : config.progressIntervalSeconds * 1000)
  let finished = false
  watch(session, () => hash, { io, verbose: opts.verbose, finished: () => finished, progress })

  // Each phase (download, then seeding with --seed) waits for its own outcome.
  const next = () =>
    new Promise<Outcome>((resolve) => {
      settle = resolve
      if (caught) resolve({ kind: 'signal', signal: caught })
    })
  session.on('complete', (s) => s.infoHash === hash && settle?.({ kind: 'complete' }))
  session.on('error', (s) => s.infoHash === hash && settle?.({ kind: 'error', message: s.error ?? 'failed' }))
  session.on('removed', (h) => h === hash && settle?.({ kind: 'error', message: 'removed from the library by another command' }))
  session.on('seedLimit', (s, reason) => s.infoHash === hash && settle?.({ kind: 'seedLimit', reason }))
  session.on('added', (s) => {
    if (input.kind === 'link' && s.infoHash === hash && s.state !== 'fetching metadata') {
      io.out(`metadata verified: ${s.name}; saved ${join(stateDir, 'torrents', `${hash}.torrent`)}`)
      io.out(header(session, s))
    }
  })

  try {
    const downloaded = next()
    await session.start()
    if (opts.manualPeers.length > 0) session.addPeers(hash, opts.manualPeers)
    const startedAt = Date.now()
    const added = input.kind === 'torrent' ? await session.add(await torrentBytes(input), saveDir) : await session.addMagnet(input.link, saveDir)
    const before = added.summary.downloadedBytes
    if (!added.added) io.out(`note: ${added.note} (save folder ${added.summary.savePath})`)
    if (input.kind === 'link' && added.summary.state === 'fetching metadata') io.out(`${added.summary.name}: fetching metadata from peers…`)
    else io.out(header(session, added.summary))
    progress.start(summary)
    let outcome = await downloaded
    progress.stop()
    if (outcome.kind === 'complete') {
      const s = summary() ?? added.summary
      const seconds = (Date.now() - startedAt) / 1000
      const fetched = s.downloadedBytes - before
      io.out(`done: ${s.name}, ${formatBytes(s.sizeBytes)} verified in ${seconds.toFixed(1)} s (${formatBytes(fetched)} fetched, ${formatRate(fetched / Math.max(seconds, 0.001))}); in the library, \`friendtorrent seed\` serves it`)
      if (!opts.seed) return await stop(0)
      io.out(`seeding ${s.name} until Ctrl-C${config.seedRatioLimit || config.seedTimeLimitMinutes ? ' or the seed limits' : ''}`)
      progress.start(summary)
      // A re-check asked for from another shell completes it again: it goes on seeding.
      outcome = await next()
      while (outcome.kind === 'complete') outcome = await next()
      progress.stop()
      // The download is done: stopping the seeding it was asked to keep up is a clean end.
      if (outcome.kind === 'signal') return await stop(0, `${outcome.signal}: stopped seeding ${s.name}`)
      if (outcome.kind === 'seedLimit') return await stop(0, `stopped seeding ${s.name}: ${outcome.reason}`)
    }
    if (outcome.kind === 'signal') {
      const s = summary()
      const where = s && s.state !== 'fetching metadata' ? `partial data kept in ${s.savePath}` : 'while fetching metadata'
      const code = outcome.signal === 'SIGINT' ? 130 : 143
      await stop(code)
      io.err(`friendtorrent: interrupted by ${outcome.signal}; ${where}`)
      return code
    }
    if (outcome.kind === 'error') {
      await stop(1)
      io.err(`friendtorrent: ${outcome.message}`)
      return 1
    }
    return await stop(0)
  } finally {
    progress.stop()
    finished = true
    await hosted.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  /** Stops the session cleanly (trackers told, resume data saved, files closed); a second Ctrl-C leaves at once. */
  async function stop(code: number, line?: string): Promise<number> {
    finished = true
    const forceExit = () => process.exit(130)
    process.once('SIGINT', forceExit)
    try {
      await hosted.close()
    } finally {
      process.off('SIGINT', forceExit)
    }
    if (line) io.out(line)
    return code
  }
}

function header(session: Session, s: TorrentSummary): string {
  const files = session.files(s.infoHash).length
  return `${s.name}: ${formatBytes(s.sizeBytes)} in ${files} file${files === 1 ? '' : 's'} → ${s.savePath}`
}

/** What is shown beside the progress: tracker trouble in the progress line, banned peers, and with -v every peer and announce. */
function watch(session: Session, hash: () => string, ctx: { io: CliIo; verbose: boolean; finished: () => boolean; progress: ProgressReporter }): void {
  const { io, verbose } = ctx
  let name = ''
  session.on('added', (s) => s.infoHash === hash() && (name = s.name))
  session.on('trackerError', (torrentName, info) => {
    if (torrentName === name || name === '') ctx.progress.trackerTrouble = info
  })
  session.on('trackerAnnounced', (h, { url, peers, intervalMs }) => {
    if (h !== hash()) return
    ctx.progress.trackerTrouble = undefined
    if (verbose && !ctx.finished()) io.err(`tracker ${url}: ${peers} peers, next announce in ${formatEta(intervalMs / 1000)}`)
  })
  // Not the outcome, but costs the user time or data: said without -v (the DHT's warnings are not: they go to the log).
  if (!verbose) session.on('warning', (message) => io.err(`friendtorrent: warning: ${message}`))
  let selfSeen = false
  session.on('peer', (h, event, key, reason) => {
    if (h !== hash() || ctx.finished()) return
    if (event === 'banned') return io.err(`friendtorrent: banned ${key}: ${reason}`)
    if (!verbose) return
    if (event === 'connected') return io.err(`peer ${key}: connected`)
    // The dial and the answer of one connection to ourselves: said once. Two seeds parting is not news.
    if (reason === SELF_CONNECTION) {
      if (!selfSeen) io.err(`peer ${key}: that is us (our own address, from a tracker or a peer); not dialled again`)
      selfSeen = true
      return
    }
    if (reason === 'both sides are seeds') return
    io.err(`peer ${key}: ${reason}`)
  })
}
