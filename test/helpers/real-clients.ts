// Drives Debian's aria2c, transmission-daemon, rtorrent and qbittorrent-nox on
// 127.0.0.1 (DHT/LSD/PEX/UPnP off, all state in temp folders) for interop tests
// and the benchmark. A seeder helper resolves only once the client itself says
// its data is verified. Never kills a PID it did not start; never leaves one running.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants as fsConstants, mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { delimiter, join, resolve } from 'node:path'
import type { TestContext } from 'node:test'
import { readInfoHash } from '../../fixtures/make-fixtures.ts'
import { ManagedProcess } from './managed-process.ts'
import { freePort, tempDir, type TempDir } from './net.ts'

/** The Debian package that ships each binary, for the message when one is missing. */
const APT_PACKAGE: Record<string, string> = {
  aria2c: 'aria2',
  'transmission-daemon': 'transmission-daemon',
  'transmission-remote': 'transmission-cli',
  'transmission-cli': 'transmission-cli',
  'qbittorrent-nox': 'qbittorrent-nox',
  rtorrent: 'rtorrent',
  opentracker: 'opentracker',
  mktorrent: 'mktorrent',
  tmux: 'tmux',
}

export function hasBinary(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), fsConstants.X_OK)
      return true
    } catch {
      // not in this PATH entry
    }
  }
  return false
}

/** One line naming what to install, or undefined when every binary is present. */
export function missingBinariesMessage(names: string[]): string | undefined {
  const missing = names.filter((name) => !hasBinary(name))
  if (missing.length === 0) return undefined
  const packages = [...new Set(missing.map((name) => APT_PACKAGE[name] ?? name))]
  return `${missing.join(', ')} not found on PATH: apt-get install -y ${packages.join(' ')}`
}

/**
 * Returns true when every binary exists. Otherwise, under CI (env CI set) it
 * throws so the test fails loudly; elsewhere it marks the test skipped and
 * returns false, and the caller must return at once.
 */
export function requireBinaries(t: TestContext, names: string[]): boolean {
  const message = missingBinariesMessage(names)
  if (message === undefined) return true
  if (process.env.CI) throw new Error(message)
  t.skip(message)
  return false
}

const DEFAULT_READY_TIMEOUT_MS = 60_000

export interface ClientHandle {
  pid: number
  /** The BitTorrent listen port on 127.0.0.1. */
  port: number
  /** Kills the client by its own PID (TERM, then KILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>
  /** The client's recent console output and log file, for failure messages. */
  logs(): string
}

/** Env for a client: its home and XDG folders in `stateDir`, no proxies (everything is loopback). */
function clientEnv(stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^(https?|all|ftp)_proxy$/i.test(key)) delete env[key]
  }
  const home = join(stateDir, 'home')
  mkdirSync(home, { recursive: true })
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  }
}

/** Thrown by a readiness check when the client reports a failure that waiting will not fix. */
class ClientFailedError extends Error {}

const READY_POLL_INTERVAL_MS = 200

/**
 * Polls `ready` while the process lives. Rejects at once if the client exits or
 * reports a failure, else after `timeoutMs`; the message ends with its log tail.
 */
async function waitReady(proc: ManagedProcess, ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    if (!proc.running) throw new Error(`${what}: the client exited with ${await proc.exited}\n${proc.tail()}`)
    try {
      if (await ready()) return
      lastError = undefined
    } catch (err) {
      if (err instanceof ClientFailedError) throw new Error(`${what}: ${err.message}\n${proc.tail()}`)
      // Until its RPC listens, a client refuses connections; that is not a failure yet.
      lastError = err
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? String(lastError)})`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}\n${proc.tail()}`)
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, READY_POLL_INTERVAL_MS))
  }
}

/** Runs `fn`; on failure stops the process and removes its state before rethrowing. */
async function orCleanUp<T>(proc: ManagedProcess, state: TempDir, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    await proc.stop()
    await state.cleanup()
    throw err
  }
}

// ---------------------------------------------------------------- aria2c

export interface Aria2Options {
  torrentPath: string
  dataDir: string
  port?: number
  /** How long a seeder may take to verify its data; default 60 s. */
  readyTimeoutMs?: number
  extraArgs?: string[]
  /** The address its peer sockets use (default 127.0.0.1); "::1" for IPv6 loopback. */
  host?: '127.0.0.1' | '::1'
}

export interface Aria2LeecherHandle extends ClientHandle {
  /** Resolves with aria2c's exit code (0: every piece downloaded and verified). */
  exited: Promise<number>
}

export interface Aria2SeederHandle extends Aria2LeecherHandle {
  rpcPort: number
  /** aria2.tellActive (or tellStopped) fields of the torrent, via JSON-RPC. */
  status(): Promise<Record<string, string> | undefined>
}

const ARIA2_STATUS_KEYS = ['gid', 'status', 'totalLength', 'completedLength', 'verifiedLength', 'verifyIntegrityPending', 'seeder', 'errorMessage', 'numSeeders', 'connections']

function aria2Args(options: Aria2Options, port: number): string[] {
  return [
    '--no-conf=true',
    `--dir=${resolve(options.dataDir)}`,
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    `--disable-ipv6=${options.host === '::1' ? 'false' : 'true'}`,
    `--listen-port=${port}`,
    `--interface=${options.host ?? '127.0.0.1'}`,
    `--bt-external-ip=${options.host ?? '127.0.0.1'}`,
    // aria2c cannot be told to re-announce; a short interval stands in.
    '--bt-tracker-interval=5',
    '--bt-tracker-connect-timeout=5',
    '--bt-tracker-timeout=10',
    // If the test process dies, aria2c follows it.
    `--stop-with-process=${process.pid}`,
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--console-log-level=notice',
    '--enable-color=false',
    '--summary-interval=0',
    '--download-result=hide',
  ]
}

/** aria2c seeding `dataDir` once its --check-integrity pass has verified every piece. */
export async function startAria2Seeder(options: Aria2Options): Promise<Aria2SeederHandle> {
  const state = tempDir('aria2-seeder')
  const port = options.port ?? (await freePort())
  const rpcPort = await freePort()
  const rpcSecret = randomBytes(12).toString('hex')
  const args = [
    ...aria2Args(options, port),
    '--check-integrity=true',
    '--bt-seed-unverified=false',
    // 0.0: seed regardless of share ratio, until stopped.
    '--seed-ratio=0.0',
    '--enable-rpc=true',
    `--rpc-listen-port=${rpcPort}`,
    '--rpc-listen-all=false',
    `--rpc-secret=${rpcSecret}`,
    ...(options.extraArgs ?? []),
    resolve(options.torrentPath),
  ]
  const proc = new ManagedProcess('aria2c seeder', 'aria2c', args, { env: clientEnv(state.path), cwd: state.path })
  const rpc = async (method: string, params: unknown[]): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${rpcPort}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'ft', method, params: [`token:${rpcSecret}`, ...params] }),
    })
    const body = (await res.json()) as { result?: unknown; error?: { message: string } }
    if (body.error) throw new Error(`aria2 ${method}: ${body.error.message}`)
    return body.result
  }
  const status = async (): Promise<Record<string, string> | undefined> => {
    const active = (await rpc('aria2.tellActive', [ARIA2_STATUS_KEYS])) as Record<string, string>[]
    if (active.length > 0) return active[0]
    const waiting = (await rpc('aria2.tellWaiting', [0, 1, ARIA2_STATUS_KEYS])) as Record<string, string>[]
    if (waiting.length > 0) return waiting[0]
    const stopped = (await rpc('aria2.tellStopped', [0, 1, ARIA2_STATUS_KEYS])) as Record<string, string>[]
    return stopped[0]
  }
  const handle: Aria2SeederHandle = {
    pid: proc.pid,
    port,
    rpcPort,
    exited: proc.exited,
    status,
    stop: async () => {
      await proc.stop()
      await state.cleanup()
    },
    logs: () => proc.logs(),
  }
  return orCleanUp(proc, state, async () => {
    await waitReady(
      proc,
      async () => {
        const s = await status()
        if (s?.status === 'error') throw new ClientFailedError(`aria2c reports an error: ${s.errorMessage ?? 'unknown'}`)
        // verifiedLength/verifyIntegrityPending are present only while the check runs.
        return (
          s?.seeder === 'true' &&
          s.totalLength === s.completedLength &&
          s.verifiedLength === undefined &&
          s.verifyIntegrityPending === undefined
        )
      },
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      `aria2c to verify ${options.torrentPath} and seed it`,
    )
    return handle
  })
}

/**
 * aria2c downloading into `dataDir`. It verifies each piece as it arrives and
 * exits by itself when done (--seed-time=0); no RPC, since that keeps it running.
 */
export async function startAria2Leecher(options: Aria2Options): Promise<Aria2LeecherHandle> {
  const state = tempDir('aria2-leecher')
  const port = options.port ?? (await freePort())
  const args = [...aria2Args(options, port), '--seed-time=0', ...(options.extraArgs ?? []), resolve(options.torrentPath)]
  const proc = new ManagedProcess('aria2c leecher', 'aria2c', args, { env: clientEnv(state.path), cwd: state.path })
  return {
    pid: proc.pid,
    port,
    exited: proc.exited,
    stop: async () => {
      await proc.stop()
      await state.cleanup()
    },
    logs: () => proc.logs(),
  }
}

// ---------------------------------------------------------------- transmission

export interface TransmissionOptions {
  torrentPath: string
  dataDir: string
  port?: number
  readyTimeoutMs?: number
  /** settings.json `encryption`: 0 prefers plaintext (default), 1 prefers encryption, 2 requires it. */
  encryption?: 0 | 1 | 2
  /** Transmission's `utp-enabled` (default false). */
  utp?: boolean
}

export interface TransmissionHandle extends ClientHandle {
  rpcPort: number
  /** Calls the daemon's JSON RPC (handles the X-Transmission-Session-Id handshake). */
  rpc(method: string, args?: Record<string, unknown>): Promise<any>
  /** Makes it announce now (transmission-remote --reannounce). */
  reannounce(): Promise<void>
}

function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<string> {
  return new Promise<string>((resolvePromise, reject) => {
    execFile(command, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`))
      else resolvePromise(stdout)
    })
  })
}

// Transmission's torrent status codes (libtransmission tr_torrent_activity).
const TR_STATUS_SEED = 6
// tr_stat error 3 is local (e.g. files missing or unwritable); 1 and 2 are tracker warnings/errors that a retry may clear.
const TR_STAT_LOCAL_ERROR = 3

/** A running daemon with the torrent added; the caller decides what to wait for. */
interface TransmissionDaemon {
  proc: ManagedProcess
  handle: TransmissionHandle
  /** The torrent's fields from torrent-get, or undefined while the daemon does not list it yet. */
  torrent(fields: string[]): Promise<Record<string, any> | undefined>
}

/**
 * Starts transmission-daemon on 127.0.0.1 (DHT/LPD/PEX/uTP/port forwarding off,
 * encryption 0 = plaintext preferred) and adds the torrent with `dataDir` as its
 * download dir. On failure nothing is left running.
 */
async function launchTransmission(options: TransmissionOptions, role: string): Promise<TransmissionDaemon> {
  const state = tempDir(`transmission-${role}`)
  const configDir = join(state.path, 'config')
  mkdirSync(configDir, { recursive: true })
  const port = options.port ?? (await freePort())
  const rpcPort = await freePort()
  const dataDir = resolve(options.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const infoHash = await readInfoHash(options.torrentPath)
  const settings = {
    'bind-address-ipv4': '127.0.0.1',
    'bind-address-ipv6': '::1',
    'peer-port': port,
    'peer-port-random-on-start': false,
    'rpc-enabled': true,
    'rpc-bind-address': '127.0.0.1',
    'rpc-port': rpcPort,
    'rpc-authentication-required': false,
    'rpc-whitelist-enabled': false,
    'rpc-host-whitelist-enabled': false,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': options.utp ?? false,
    'port-forwarding-enabled': false,
    encryption: options.encryption ?? 0,
    'download-dir': dataDir,
    'incomplete-dir-enabled': false,
    'watch-dir-enabled': false,
    'start-added-torrents': true,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'speed-limit-up-enabled': false,
    'speed-limit-down-enabled': false,
    'alt-speed-enabled': false,
    'script-torrent-done-enabled': false,
    'message-level': 2,
  }
  writeFileSync(join(configDir, 'settings.json'), JSON.stringify(settings, null, 2))
  const env = clientEnv(state.path)
  const proc = new ManagedProcess(`transmission-daemon ${role}`, 'transmission-daemon', ['-f', '-g', configDir], { env, cwd: state.path })
  let sessionId = ''
  const rpc = async (method: string, args: Record<string, unknown> = {}): Promise<any> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await fetch(`http://127.0.0.1:${rpcPort}/transmission/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-transmission-session-id': sessionId },
        body: JSON.stringify({ method, arguments: args }),
      })
      if (res.status === 409) {
        // CSRF guard: the first answer carries the session id to send back.
        sessionId = res.headers.get('x-transmission-session-id') ?? ''
        await res.arrayBuffer()
        continue
      }
      const body = (await res.json()) as { result: string; arguments: any }
      if (body.result !== 'success') throw new Error(`transmission ${method}: ${body.result}`)
      return body.arguments
    }
    throw new Error(`transmission ${method}: the daemon kept refusing the session id`)
  }
  // RPC accepts an info hash wherever it takes a torrent id.
  const torrent = async (fields: string[]): Promise<Record<string, any> | undefined> =>
    ((await rpc('torrent-get', { ids: [infoHash], fields })) as { torrents: Record<string, any>[] }).torrents[0]
  const handle: TransmissionHandle = {
    pid: proc.pid,
    port,
    rpcPort,
    rpc,
    reannounce: async () => {
      await runTool('transmission-remote', [`127.0.0.1:${rpcPort}`, '-t', 'all', '--reannounce'], env)
    },
    stop: async () => {
      await proc.stop()
      await state.cleanup()
    },
    logs: () => proc.logs(),
  }
  return orCleanUp(proc, state, async () => {
    await waitReady(proc, async () => (await rpc('session-get')) !== undefined, 15_000, `transmission-daemon RPC on port ${rpcPort}`)
    await runTool('transmission-remote', [`127.0.0.1:${rpcPort}`, '-a', resolve(options.torrentPath), '-w', dataDir], env)
    return { proc, handle, torrent }
  })
}

/** Polls the torrent until `done` says so; a local error (tr_stat error 3) fails at once. */
async function waitTransmissionTorrent(
  daemon: TransmissionDaemon,
  fields: string[],
  done: (t: Record<string, any>) => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  let last: Record<string, any> | undefined
  try {
    await waitReady(
      daemon.proc,
      async () => {
        last = await daemon.torrent(['error', 'errorString', ...fields])
        if (!last) return false
        if (last.error === TR_STAT_LOCAL_ERROR) throw new ClientFailedError(`transmission reports: ${last.errorString}`)
        return done(last)
      },
      timeoutMs,
      what,
    )
  } catch (err) {
    const seen = last ? `last seen: ${fields.map((f) => `${f} ${JSON.stringify(last![f])}`).join(', ')}` : 'torrent never listed'
    const message = (err as Error).message
    const cut = message.includes('\n') ? message.indexOf('\n') : message.length
    throw new Error(`${message.slice(0, cut)} (${seen})${message.slice(cut)}`)
  }
}

/**
 * transmission-daemon seeding `dataDir`. Transmission 3.00 never dials
 * 127.0.0.0/8 peers, so the leecher must connect to it; it keys peers by IP,
 * so use one daemon per download.
 */
export async function startTransmissionSeeder(options: TransmissionOptions): Promise<TransmissionHandle> {
  const daemon = await launchTransmission(options, 'seeder')
  try {
    await waitTransmissionTorrent(
      daemon,
      ['status', 'haveValid', 'sizeWhenDone', 'leftUntilDone'],
      (t) => t.status === TR_STATUS_SEED && t.leftUntilDone === 0 && t.haveValid === t.sizeWhenDone,
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      `transmission to verify ${options.torrentPath} and seed it`,
    )
  } catch (err) {
    await daemon.handle.stop()
    throw err
  }
  return daemon.handle
}

export interface TransmissionLeecherHandle extends TransmissionHandle {
  /** percentDone (0..1) of its torrent, via RPC. */
  progress(): Promise<number>
  /** Resolves once every byte is downloaded and verified; rejects after `timeoutMs`, or at once if the daemon exits or reports a local error. */
  waitComplete(timeoutMs: number): Promise<void>
}

/**
 * transmission-daemon downloading into `dataDir` (created if missing). Transmission
 * 3.00 never dials 127.0.0.0/8 peers, so on loopback it gets data only from a
 * seeder that connects to it (e.g. one that hears of it from a tracker).
 */
export async function startTransmissionLeecher(options: TransmissionOptions): Promise<TransmissionLeecherHandle> {
  const daemon = await launchTransmission(options, 'leecher')
  return {
    ...daemon.handle,
    progress: async () => {
      const t = await daemon.torrent(['percentDone'])
      if (!t) throw new Error(`transmission-daemon on RPC port ${daemon.handle.rpcPort} does not list ${options.torrentPath}`)
      return t.percentDone as number
    },
    waitComplete: (timeoutMs) =>
      waitTransmissionTorrent(
        daemon,
        ['percentDone', 'leftUntilDone', 'status'],
        (t) => t.percentDone === 1 && t.leftUntilDone === 0,
        timeoutMs,
        `transmission to download ${options.torrentPath}`,
      ),
  }
}

// ---------------------------------------------------------------- rtorrent

export interface RtorrentOptions {
  torrentPath: string
  dataDir: string
  port?: number
  readyTimeoutMs?: number
  /** protocol.encryption.set (default allow_incoming,try_outgoing,enable_retry; e.g. require,require_RC4,allow_incoming,try_outgoing). */
  encryption?: string
}

export interface RtorrentHandle extends ClientHandle {
  /** Unix socket of its SCGI XML-RPC interface. */
  socketPath: string
  /** Calls an XML-RPC method with string parameters; returns the scalar values of the answer, flattened. */
  call(method: string, params?: string[]): Promise<string[]>
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function xmlUnescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
}

/** XML-RPC over SCGI on a unix socket (what `network.scgi.open_local` serves). */
export function scgiXmlRpc(socketPath: string, method: string, params: string[] = []): Promise<string[]> {
  const body =
    `<?xml version="1.0"?><methodCall><methodName>${xmlEscape(method)}</methodName><params>` +
    params.map((p) => `<param><value><string>${xmlEscape(p)}</string></value></param>`).join('') +
    '</params></methodCall>'
  // SCGI: a netstring of NUL-separated headers, CONTENT_LENGTH first, then the body.
  const headers = `CONTENT_LENGTH\0${Buffer.byteLength(body)}\0SCGI\x001\0`
  return new Promise<string[]>((resolvePromise, reject) => {
    const socket = connect(socketPath)
    const chunks: Buffer[] = []
    socket.setTimeout(10_000, () => socket.destroy(new Error(`rtorrent ${method}: no answer within 10 s`)))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.once('error', reject)
    socket.once('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.includes('<fault>')) {
        const message = /<name>faultString<\/name>\s*<value><string>([^<]*)<\/string>/.exec(text)?.[1] ?? text
        reject(new Error(`rtorrent ${method}: ${xmlUnescape(message)}`))
        return
      }
      const values: string[] = []
      for (const m of text.matchAll(/<(string|i4|i8|int|boolean|double)>([^<]*)<\/\1>|<(string)\/>/g)) {
        values.push(m[3] ? '' : xmlUnescape(m[2]))
      }
      resolvePromise(values)
    })
    socket.end(`${Buffer.byteLength(headers)}:${headers},${body}`)
  })
}

const RTORRENT_FIELDS = ['d.hash=', 'd.complete=', 'd.hashing=', 'd.is_active=', 'd.completed_bytes=', 'd.size_bytes=', 'd.message=']

/** rtorrent with the torrent loaded and started: seeding what it has in `dataDir`, downloading the rest. */
async function launchRtorrent(options: RtorrentOptions): Promise<{ proc: ManagedProcess; state: TempDir; handle: RtorrentHandle; status(): Promise<string[] | undefined> }> {
  const state = tempDir('rtorrent')
  const sessionDir = join(state.path, 'session')
  mkdirSync(sessionDir, { recursive: true })
  const port = options.port ?? (await freePort())
  const socketPath = join(state.path, 'rpc.sock')
  const logPath = join(state.path, 'rtorrent.log')
  const quote = (p: string): string => `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
  const rc = [
    'system.daemon.set = true',
    `session.path.set = ${quote(sessionDir)}`,
    `directory.default.set = ${quote(resolve(options.dataDir))}`,
    `network.port_range.set = ${port}-${port}`,
    'network.port_random.set = no',
    'network.bind_address.set = 127.0.0.1',
    'network.local_address.set = 127.0.0.1',
    `network.scgi.open_local = ${quote(socketPath)}`,
    'dht.mode.set = disable',
    'protocol.pex.set = no',
    'trackers.use_udp.set = yes',
    `protocol.encryption.set = ${options.encryption ?? 'allow_incoming,try_outgoing,enable_retry'}`,
    // Debian's default of -1 makes a seeding rtorrent open no connections at all.
    'throttle.min_peers.seed.set = 0',
    'throttle.max_peers.seed.set = 100',
    'throttle.max_uploads.set = 100',
    'throttle.max_uploads.global.set = 100',
    'throttle.global_up.max_rate.set = 0',
    'throttle.global_down.max_rate.set = 0',
    `log.open_file = "main", ${quote(logPath)}`,
    'log.add_output = "info", "main"',
    `load.start_verbose = ${quote(resolve(options.torrentPath))}`,
    '',
  ].join('\n')
  const rcPath = join(state.path, 'rtorrent.rc')
  writeFileSync(rcPath, rc)
  const proc = new ManagedProcess('rtorrent', 'rtorrent', ['-n', '-o', `import=${rcPath}`], {
    env: { ...clientEnv(state.path), TERM: 'dumb' },
    cwd: state.path,
    logFiles: [logPath],
  })
  const infoHash = (await readInfoHash(options.torrentPath)).toUpperCase()
  const call = (method: string, params: string[] = []): Promise<string[]> => scgiXmlRpc(socketPath, method, params)
  const handle: RtorrentHandle = {
    pid: proc.pid,
    port,
    socketPath,
    call,
    stop: async () => {
      await proc.stop()
      await state.cleanup()
    },
    logs: () => proc.logs(),
  }
  /** [hash, complete, hashing, active, completed bytes, size bytes, message] of the torrent, once listed. */
  const status = async (): Promise<string[] | undefined> => {
    const values = await call('d.multicall2', ['', 'main', ...RTORRENT_FIELDS])
    for (let i = 0; i + RTORRENT_FIELDS.length <= values.length; i += RTORRENT_FIELDS.length) {
      if (values[i] === infoHash) return values.slice(i, i + RTORRENT_FIELDS.length)
    }
    return undefined
  }
  return { proc, state, handle, status }
}

/** rtorrent seeding `dataDir`, resolved once it has hashed the data and reports it complete and active. */
export async function startRtorrentSeeder(options: RtorrentOptions): Promise<RtorrentHandle> {
  const { proc, state, handle, status } = await launchRtorrent(options)
  return orCleanUp(proc, state, async () => {
    await waitReady(
      proc,
      async () => {
        const s = await status()
        if (!s) return false
        const [, complete, hashing, active, completedBytes, sizeBytes] = s
        return complete === '1' && hashing === '0' && active === '1' && completedBytes === sizeBytes
      },
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      `rtorrent to hash ${options.torrentPath} and seed it`,
    )
    return handle
  })
}

export interface RtorrentLeecherHandle extends RtorrentHandle {
  /** Resolves once rtorrent reports every byte downloaded and hash-checked. */
  waitComplete(timeoutMs: number): Promise<void>
}

/** rtorrent downloading into `dataDir`, resolved once its RPC lists the torrent. */
export async function startRtorrentLeecher(options: RtorrentOptions): Promise<RtorrentLeecherHandle> {
  mkdirSync(options.dataDir, { recursive: true })
  const { proc, state, handle, status } = await launchRtorrent(options)
  return orCleanUp(proc, state, async () => {
    await waitReady(proc, async () => (await status()) !== undefined, 15_000, `rtorrent to load ${options.torrentPath}`)
    return {
      ...handle,
      waitComplete: async (timeoutMs) => {
        let last: string[] | undefined
        await waitReady(
          proc,
          async () => {
            last = await status()
            return last?.[1] === '1' && last[2] === '0'
          },
          timeoutMs,
          `rtorrent to download ${options.torrentPath}`,
        )
      },
    }
  })
}

// ---------------------------------------------------------------- qBittorrent

export interface QbittorrentOptions {
  /** Profile folder to use (kept on stop); default a temp folder removed on stop. */
  profileDir?: string
  port?: number
  /** Session\\Encryption: 0 allows (default), 1 requires, 2 forbids. */
  encryption?: 0 | 1 | 2
  /** Peer transports (`Session\BTProtocol`): TCP by default; UTP has no TCP at all, so a transfer proves uTP. */
  protocol?: 'TCP' | 'UTP' | 'Both'
}

/** The fields of /api/v2/torrents/info we use. */
export interface QbTorrentInfo {
  hash: string
  name: string
  state: string
  progress: number
  save_path: string
  size: number
  downloaded: number
  dlspeed: number
  num_seeds: number
}

export interface QbittorrentHandle extends ClientHandle {
  webPort: number
  /** Adds a .torrent with `savePath` as its save folder; resolves with its info hash once listed. */
  addTorrent(torrentPath: string, savePath: string): Promise<string>
  info(infoHash?: string): Promise<QbTorrentInfo[]>
  /** Resolves once the torrent has verified all data and is seeding (state uploading/stalledUP). */
  waitSeeding(infoHash: string, timeoutMs: number): Promise<QbTorrentInfo>
  /** Resolves once progress reaches 1; libtorrent counts only hash-checked pieces. */
  waitComplete(infoHash: string, timeoutMs: number): Promise<QbTorrentInfo>
}

const QB_SEEDING_STATES = new Set(['uploading', 'stalledUP', 'forcedUP', 'queuedUP'])
const QB_ERROR_STATES = new Set(['error', 'missingFiles'])
const QB_STOP_GRACE_MS = 2000

/** qbittorrent-nox with its Web UI on 127.0.0.1 (no auth from localhost); seeds or leeches what you add. */
export async function startQbittorrent(options: QbittorrentOptions = {}): Promise<QbittorrentHandle> {
  const state = tempDir('qbittorrent')
  const profileDir = options.profileDir ? resolve(options.profileDir) : join(state.path, 'profile')
  const configDir = join(profileDir, 'qBittorrent', 'config')
  mkdirSync(configDir, { recursive: true })
  const port = options.port ?? (await freePort())
  const webPort = await freePort()
  const conf = [
    '[LegalNotice]',
    'Accepted=true',
    '',
    '[BitTorrent]',
    `Session\\Port=${port}`,
    'Session\\Interface=lo',
    'Session\\InterfaceName=lo',
    'Session\\InterfaceAddress=127.0.0.1',
    'Session\\DHTEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\LSDEnabled=false',
    `Session\\BTProtocol=${options.protocol ?? 'TCP'}`,
    `Session\\Encryption=${options.encryption ?? 0}`,
    // libtorrent allows one connection per IP otherwise, and every peer here is 127.0.0.1.
    'Session\\MultiConnectionsPerIp=true',
    'Session\\QueueingSystemEnabled=false',
    'Session\\GlobalMaxRatio=-1',
    'Session\\AddTrackersEnabled=false',
    `Session\\DefaultSavePath=${join(state.path, 'downloads')}`,
    '',
    '[Preferences]',
    'Connection\\ResolvePeerCountries=false',
    'Connection\\UPnP=false',
    'General\\Locale=en',
    'WebUI\\Enabled=true',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${webPort}`,
    'WebUI\\LocalHostAuth=false',
    'WebUI\\HostHeaderValidation=false',
    'WebUI\\CSRFProtection=false',
    '',
  ].join('\n')
  writeFileSync(join(configDir, 'qBittorrent.conf'), conf)
  const proc = new ManagedProcess('qbittorrent-nox', 'qbittorrent-nox', [`--profile=${profileDir}`], {
    env: clientEnv(state.path),
    cwd: state.path,
    logFiles: [join(profileDir, 'qBittorrent', 'data', 'logs', 'qbittorrent.log')],
  })
  const base = `http://127.0.0.1:${webPort}/api/v2`
  const info = async (infoHash?: string): Promise<QbTorrentInfo[]> => {
    const res = await fetch(`${base}/torrents/info${infoHash ? `?hashes=${infoHash.toLowerCase()}` : ''}`)
    if (!res.ok) throw new Error(`qBittorrent torrents/info: HTTP ${res.status}`)
    return (await res.json()) as QbTorrentInfo[]
  }
  const waitFor = async (infoHash: string, timeoutMs: number, what: string, done: (t: QbTorrentInfo) => boolean): Promise<QbTorrentInfo> => {
    let last: QbTorrentInfo | undefined
    try {
      await waitReady(
        proc,
        async () => {
          last = (await info(infoHash))[0]
          if (last && QB_ERROR_STATES.has(last.state)) throw new ClientFailedError(`qBittorrent reports state ${last.state}`)
          return last !== undefined && done(last)
        },
        timeoutMs,
        what,
      )
    } catch (err) {
      const seen = last ? `last seen: state ${last.state}, progress ${last.progress}` : 'never listed'
      throw new Error(`${(err as Error).message.replace('\n', ` (${seen})\n`)}`)
    }
    return last as QbTorrentInfo
  }
  const handle: QbittorrentHandle = {
    pid: proc.pid,
    port,
    webPort,
    info,
    async addTorrent(torrentPath, savePath) {
      const infoHash = await readInfoHash(torrentPath)
      const form = new FormData()
      form.append('torrents', new Blob([await readFile(torrentPath)]), 'file.torrent')
      form.append('savepath', resolve(savePath))
      form.append('paused', 'false')
      const res = await fetch(`${base}/torrents/add`, { method: 'POST', body: form })
      const text = (await res.text()).trim()
      if (!res.ok || text !== 'Ok.') throw new Error(`qBittorrent refused ${torrentPath}: HTTP ${res.status} ${text}`)
      await waitFor(infoHash, 10_000, `qBittorrent to list ${infoHash}`, () => true)
      return infoHash
    },
    waitSeeding: (infoHash, timeoutMs) =>
      waitFor(infoHash, timeoutMs, `qBittorrent to verify ${infoHash} and seed it`, (t) => t.progress === 1 && QB_SEEDING_STATES.has(t.state)),
    waitComplete: (infoHash, timeoutMs) => waitFor(infoHash, timeoutMs, `qBittorrent to complete ${infoHash}`, (t) => t.progress === 1),
    stop: async () => {
      // libtorrent may wait ~5 s on a UDP tracker's answer to its "stopped" announce; nothing here needs it.
      await proc.stop(QB_STOP_GRACE_MS)
      await state.cleanup()
    },
    logs: () => proc.logs(),
  }
  return orCleanUp(proc, state, async () => {
    await waitReady(
      proc,
      async () => {
        const res = await fetch(`${base}/app/version`)
        await res.arrayBuffer()
        return res.ok
      },
      15_000,
      `qBittorrent Web API on port ${webPort}`,
    )
    return handle
  })
}

/** qbittorrent-nox seeding `dataDir`, resolved once it reports the data verified and is uploading. */
export async function startQbittorrentSeeder(options: {
  torrentPath: string
  dataDir: string
  readyTimeoutMs?: number
  encryption?: 0 | 1 | 2
  protocol?: QbittorrentOptions['protocol']
}): Promise<QbittorrentHandle> {
  const qb = await startQbittorrent({ encryption: options.encryption, protocol: options.protocol })
  try {
    const infoHash = await qb.addTorrent(options.torrentPath, options.dataDir)
    await qb.waitSeeding(infoHash, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS)
    return qb
  } catch (err) {
    await qb.stop()
    throw err
  }
}
