// Trackers on 127.0.0.1 for tests: bittorrent-tracker's Server in-process
// (HTTP and UDP on one port), Debian's opentracker as a child process, and a
// bad HTTP tracker answering every announce with the same fixed body.
// Never listens beyond loopback; close() releases every socket and process.
import { once } from 'node:events'
import { chmodSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { Server } from 'bittorrent-tracker'
import { ManagedProcess } from './managed-process.ts'
import { freePort, tempDir, waitUntil } from './net.ts'

export interface TestTracker {
  /** http://127.0.0.1:PORT/announce (or http://[::1]:PORT/announce) */
  httpUrl: string
  /** udp://127.0.0.1:PORT */
  udpUrl: string
  port: number
  server: Server
  /** Peers that announced with left=0 for this info hash (hex). */
  seederCount(infoHashHex: string): number
  /** Every peer the tracker currently lists for this info hash (hex). */
  peerCount(infoHashHex: string): number
  /** Resolves once `count` seeders are listed; rejects naming the hash after `ms`. */
  waitForSeeders(infoHashHex: string, count: number, ms: number): Promise<void>
  close(): Promise<void>
}

export interface StartTrackerOptions {
  /** The announce interval the tracker tells clients to use. */
  intervalMs?: number
  /** Where HTTP listens (default 127.0.0.1); "::1" makes an IPv6 tracker (http://[::1]:PORT), whose compact replies carry peers6. */
  host?: '127.0.0.1' | '::1'
}

const DEFAULT_INTERVAL_MS = 30_000

function listenOnce(server: Server, port: number, httpHost: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening)
      reject(err)
    }
    const onListening = (): void => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    // The server always opens a udp6 socket too; ::1 keeps it on loopback.
    // Its listen() takes per-protocol ports and hosts as objects, which the ambient type omits.
    const listen = server.listen.bind(server) as (ports: object, hosts: object) => void
    listen({ http: port, udp: port }, { http: httpHost, udp: '127.0.0.1', udp6: '::1' })
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // close() only closes the listening socket; idle keep-alive connections
    // from clients would hold the process open.
    server.http?.closeAllConnections?.()
    server.close(() => resolve())
  })
}

/** bittorrent-tracker's Server with HTTP and UDP on the same loopback port. */
export async function startTracker(options: StartTrackerOptions = {}): Promise<TestTracker> {
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const server = new Server({
      udp: true,
      http: true,
      ws: false,
      stats: false,
      interval: options.intervalMs ?? DEFAULT_INTERVAL_MS,
    })
    const port = await freePort()
    try {
      await listenOnce(server, port, options.host ?? '127.0.0.1')
    } catch (err) {
      lastError = err
      await closeServer(server)
      continue
    }
    // A late socket error must not crash the test process; it would show up as a failed announce.
    server.on('error', () => {})
    server.on('warning', () => {})
    const swarm = (infoHashHex: string): any => server.torrents[infoHashHex.toLowerCase()]
    const seederCount = (infoHashHex: string): number => swarm(infoHashHex)?.complete ?? 0
    const peerCount = (infoHashHex: string): number => {
      const s = swarm(infoHashHex)
      return s ? (s.complete ?? 0) + (s.incomplete ?? 0) : 0
    }
    const hostInUrl = options.host === '::1' ? '[::1]' : '127.0.0.1'
    return {
      httpUrl: `http://${hostInUrl}:${port}/announce`,
      udpUrl: `udp://127.0.0.1:${port}`,
      port,
      server,
      seederCount,
      peerCount,
      waitForSeeders: (infoHashHex, count, ms) =>
        waitUntil(
          () => seederCount(infoHashHex) >= count,
          ms,
          `${count} seeder(s) of ${infoHashHex} to announce to the tracker on port ${port}`,
        ),
      close: () => closeServer(server),
    }
  }
  throw new Error(`could not start bittorrent-tracker on 127.0.0.1: ${lastError instanceof Error ? lastError.message : String(lastError)}`)
}

export interface Opentracker {
  httpUrl: string
  udpUrl: string
  port: number
  pid: number
  /** Replaces the whitelist (40-hex info hashes) and makes opentracker reload it. */
  setWhitelist(infoHashesHex: string[]): Promise<void>
  /** Seeders opentracker reports for a hash, by HTTP scrape. */
  scrapeSeeders(infoHashHex: string): Promise<number>
  logs(): string
  close(): Promise<void>
}

function hexToPercent(hex: string): string {
  return hex.replace(/../g, (byte) => `%${byte}`)
}

/**
 * Debian's opentracker is built whitelist-only; it chroots into its folder and
 * drops to `nobody`, so that folder must be world-readable. Its announce
 * interval is ~30 min: start seeders first and wait for a scrape to show them.
 */
export async function startOpentracker(whitelist: string[]): Promise<Opentracker> {
  const dir = tempDir('opentracker')
  chmodSync(dir.path, 0o755)
  const port = await freePort()
  const whitelistPath = join(dir.path, 'whitelist.txt')
  const writeWhitelist = (hashes: string[]): void => {
    writeFileSync(whitelistPath, hashes.map((h) => h.toLowerCase()).join('\n') + '\n', { mode: 0o644 })
  }
  writeWhitelist(whitelist)
  const configPath = join(dir.path, 'opentracker.conf')
  writeFileSync(
    configPath,
    [
      `listen.tcp_udp 127.0.0.1:${port}`,
      // Read after the chroot into tracker.rootdir, so the path is relative to it.
      'access.whitelist /whitelist.txt',
      `tracker.rootdir ${dir.path}`,
      'tracker.user nobody',
      '',
    ].join('\n'),
    { mode: 0o644 },
  )
  const proc = new ManagedProcess('opentracker', 'opentracker', ['-f', configPath], { env: process.env, cwd: dir.path })
  const base = `http://127.0.0.1:${port}`
  const close = async (): Promise<void> => {
    await proc.stop()
    await dir.cleanup()
  }
  try {
    await waitUntil(
      async () => {
        if (!proc.running) throw new Error(`opentracker exited: ${proc.tail(5)}`)
        const res = await fetch(`${base}/stats?mode=version`)
        await res.arrayBuffer()
        return true
      },
      5000,
      `opentracker to answer on ${base}`,
    )
  } catch (err) {
    await close()
    throw err
  }
  let current = new Set(whitelist.map((h) => h.toLowerCase()))
  /**
   * A plain announce (a stopped one is not checked against the list, so it
   * proves nothing), then a stopped one to take the probe peer out again.
   */
  const isAuthorized = async (infoHashHex: string): Promise<boolean> => {
    const peerId = hexToPercent('2d4654303030302d' + 'ee'.repeat(12))
    const announce = (event: string) =>
      fetch(`${base}/announce?info_hash=${hexToPercent(infoHashHex)}&peer_id=${peerId}&port=1&uploaded=0&downloaded=0&left=0&numwant=0&compact=1${event}`)
    const res = await announce('')
    const authorized = !/not authorized/.test(Buffer.from(await res.arrayBuffer()).toString('latin1'))
    if (authorized) await (await announce('&event=stopped')).arrayBuffer()
    return authorized
  }
  const scrapeSeeders = async (infoHashHex: string): Promise<number> => {
    const res = await fetch(`${base}/scrape?info_hash=${hexToPercent(infoHashHex.toLowerCase())}`)
    const body = Buffer.from(await res.arrayBuffer()).toString('latin1')
    const m = /8:completei(\d+)e/.exec(body)
    return m ? Number(m[1]) : 0
  }
  return {
    httpUrl: `${base}/announce`,
    udpUrl: `udp://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    async setWhitelist(hashes) {
      const wanted = new Set(hashes.map((h) => h.toLowerCase()))
      const changed = [...new Set([...wanted, ...current])].filter((h) => wanted.has(h) !== current.has(h))
      writeWhitelist(hashes)
      current = wanted
      if (!proc.running) return
      proc.child.kill('SIGHUP')
      // opentracker reloads the list in a background thread with no acknowledgement: ask it about
      // every hash whose standing changed until each is answered as the new list says.
      await waitUntil(
        async () => {
          for (const hash of changed) if ((await isAuthorized(hash)) !== wanted.has(hash)) return false
          return true
        },
        10_000,
        `opentracker to reload its whitelist on port ${port}`,
      )
    },
    scrapeSeeders,
    logs: () => proc.logs(),
    close,
  }
}

/** A tiny HTTP "tracker" answering every request with `body`; counts connections still open. */
export async function fixedReplyTracker(body: string | undefined): Promise<{ url: string; openSockets: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = http.createServer((_req, res) => {
    if (body !== undefined) res.end(body) // undefined: never answer
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/announce`,
    openSockets: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
