// `friendtorrent tracker`: a small open HTTP + UDP tracker (bittorrent-tracker's
// Server) for a group of friends, in the foreground, logging each announce
// event until SIGINT/SIGTERM. Never binds beyond the address it is given
// (bar loopback for the other IP family), and never keeps running on a half-bound port.
import { networkInterfaces } from 'node:os'
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Server } from 'bittorrent-tracker'
import { errorMessage, FriendError } from '../core/types.ts'
import { parseCommandLine } from './command-line.ts'
import type { CliIo } from './io.ts'

export const TRACKER_USAGE = `usage: friendtorrent tracker [--port N] [--host ADDRESS] [-v]

      --port N        HTTP and UDP port (default 8000)
      --host ADDRESS  IP address to listen on (default 0.0.0.0, every IPv4 interface; :: for IPv6 too;
                      127.0.0.1 for this machine only)
  -v, --verbose       also log periodic re-announces and rejected requests
  stats at http://HOST:PORT/stats; stops on Ctrl-C`

export const DEFAULT_TRACKER_PORT = 8000
export const DEFAULT_TRACKER_HOST = '0.0.0.0'

/** bittorrent-tracker's event names, as logged. */
const LOGGED_EVENTS = ['start', 'complete', 'stop', 'pause'] as const
const INFO_HASH_PREFIX_CHARS = 8

interface BindHosts {
  http: string
  udp: string
  udp6: string
  /** The family of `udp6` (or `udp`) is not the one asked for: failing to bind it is only a note. */
  otherFamily: 'udp' | 'udp6'
  /**
   * bittorrent-tracker sets SO_REUSEADDR on its UDP sockets, which hides a busy
   * UDP port. Off for IPv4 hosts; a dual-stack :: socket needs it to share the port with udp4.
   */
  reuseAddr: boolean
}

export async function runTracker(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('tracker', {
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    io.out(TRACKER_USAGE)
    return 0
  }
  if (positionals.length > 0) throw new FriendError(`tracker takes no arguments, got "${positionals[0]}"; see friendtorrent tracker --help`)
  let port = DEFAULT_TRACKER_PORT
  if (values.port !== undefined) {
    port = Number(values.port)
    if (!/^\d+$/.test(values.port) || port > 65535) throw new FriendError(`--port must be 0-65535, got "${values.port}"`)
  }
  const host = values.host === 'localhost' ? '127.0.0.1' : (values.host ?? DEFAULT_TRACKER_HOST)
  const hosts = bindHosts(host)
  const verbose = Boolean(values.verbose)

  // Loaded only when used (with its HTTP stack), so `add` does not pay for it in memory.
  const { Server } = await import('bittorrent-tracker')
  const server = new Server({ udp: { reuseAddr: hosts.reuseAddr }, http: true, ws: false, stats: true })
  let running = false
  server.on('error', (err: Error) => {
    // While binding, each socket's own error is reported below; later ones keep the tracker up.
    if (running) io.err(`friendtorrent: tracker: ${errorMessage(err)}`)
  })
  server.on('warning', (err: Error) => {
    if (verbose) io.err(`${clock()} rejected: ${errorMessage(err)}`)
  })

  const bound = {
    http: whenBound(server.http),
    udp: whenBound(server.udp4),
    udp6: whenBound(server.udp6),
  }
  server.listen({ http: port, udp: port }, { http: hosts.http, udp: hosts.udp, udp6: hosts.udp6 })
  const results = {
    http: await bound.http,
    udp: await bound.udp,
    udp6: await bound.udp6,
  }
  const fatal = (['http', 'udp', 'udp6'] as const).find((key) => key !== hosts.otherFamily && results[key] !== undefined)
  if (fatal) {
    await closeServer(server)
    throw new FriendError(bindError(results[fatal]!, hosts[fatal], port, fatal === 'http' ? 'tcp' : 'udp'))
  }
  const other = results[hosts.otherFamily]
  if (other) io.err(`note: no UDP on ${hosts[hosts.otherFamily]} (${errorMessage(other)}); the tracker runs without it`)
  running = true

  const httpPort = (server.http.address() as AddressInfo).port
  const mainUdp = hosts.otherFamily === 'udp' ? server.udp6 : server.udp4
  const udpPort = (mainUdp.address() as AddressInfo).port
  const shown = urlHost(publicHost(host))
  io.out(
    `tracker running: http://${shown}:${httpPort}/announce udp://${shown}:${udpPort}` +
      ` (listening on ${host}; stats at http://${shown}:${httpPort}/stats; Ctrl-C stops)`,
  )

  const logEvent = (event: string) => (addr: string, params: { info_hash?: string }) => {
    const infoHash = String(params.info_hash ?? '')
    const swarm = server.torrents[infoHash]
    const counts = swarm ? ` (${swarm.complete ?? 0} seeding, ${swarm.incomplete ?? 0} downloading)` : ''
    io.out(`${clock()} ${event.padEnd(8)} ${infoHash.slice(0, INFO_HASH_PREFIX_CHARS)} ${addr}${counts}`)
  }
  for (const event of verbose ? [...LOGGED_EVENTS, 'update'] : LOGGED_EVENTS) server.on(event, logEvent(event))

  let onSignal: (signal: NodeJS.Signals) => void = () => {}
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  io.out(`${clock()} ${signal}: stopping the tracker`)
  await closeServer(server)
  return 0
}

/** The address given for its family; the other family's UDP socket goes on its loopback or wildcard. */
function bindHosts(host: string): BindHosts {
  switch (isIP(host)) {
    case 4:
      // Even for 0.0.0.0: HTTP then serves IPv4 only, and so does UDP, bar IPv6 loopback.
      return { http: host, udp: host, udp6: '::1', otherFamily: 'udp6', reuseAddr: false }
    case 6:
      return { http: host, udp: host === '::' ? '0.0.0.0' : '127.0.0.1', udp6: host, otherFamily: 'udp', reuseAddr: true }
    default:
      throw new FriendError(`--host must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got "${host}"`)
  }
}

/** Resolves with the bind error, or undefined once listening. */
function whenBound(socket: NodeJS.EventEmitter): Promise<(Error & { code?: string }) | undefined> {
  return new Promise((resolve) => {
    const onListening = (): void => {
      socket.off('error', onError)
      resolve(undefined)
    }
    const onError = (err: Error): void => {
      socket.off('listening', onListening)
      resolve(err)
    }
    socket.once('listening', onListening)
    socket.once('error', onError)
  })
}

function bindError(err: Error & { code?: string }, where: string, port: number, protocol: string): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} (${protocol}) is already in use on ${where}; stop whatever uses it or choose another with --port`
    case 'EACCES':
      return `port ${port} (${protocol}) needs more privileges; choose one above 1023 with --port`
    case 'EADDRNOTAVAIL':
      return `${where} is not an address of this machine; use 0.0.0.0, 127.0.0.1 or one of its own addresses with --host`
    default:
      return `cannot listen on ${where} port ${port} (${protocol}): ${errorMessage(err)}`
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // close() waits for idle keep-alive connections, which would hold the process open.
    server.http?.closeAllConnections?.()
    server.close(() => resolve())
  })
}

/** For a wildcard bind, the address friends would use: the first non-internal one. */
function publicHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? [])
  const external = all.filter((a) => !a.internal)
  const pick = external.find((a) => a.family === 'IPv4') ?? (host === '::' ? external.find((a) => a.family === 'IPv6' && !a.address.startsWith('fe80')) : undefined)
  return pick?.address ?? '127.0.0.1'
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8)
}
