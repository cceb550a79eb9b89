// Reaching a peer: uTP first, then TCP (libtorrent's order) after a short
// head start, remembering per peer which worked so the next dial goes
// straight to it. What runs over the stream (plain or MSE) is dial.ts's.
// TCP reads land in one buffer the caller reuses for every socket it dials
// (each read is handled synchronously, one at a time), so a download at
// hundreds of MB/s makes no garbage per read.
import { connect, isIPv4 } from 'node:net'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { errorMessage } from '../core/types.ts'
import type { PeerSocket, TransportKind } from '../transport/peer-socket.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import type { UtpManager } from '../transport/utp/utp-manager.ts'
import type { UtpSocket } from '../transport/utp/utp-socket.ts'

/** A connected byte stream and how it was reached. */
export interface Connected {
  socket: PeerSocket
  kind: TransportKind
}

/** Peers whose working transport is remembered; the oldest is forgotten past this. */
const REMEMBERED_PEERS = 10_000

/** Which transports outgoing connections may use (config `utp`, `tcp`), and what worked per peer. */
export class TransportPolicy {
  readonly utp: UtpManager | undefined
  readonly tcp: boolean
  readonly #worked = new Map<string, TransportKind>()

  constructor(opts: { utp?: UtpManager; tcp: boolean }) {
    this.utp = opts.utp
    this.tcp = opts.tcp
  }

  /** Transports to try for `host:port`, in order. */
  order(host: string, port: number): TransportKind[] {
    const reaches = this.utp?.reaches
    const utp = reaches && (isIPv4(host) ? reaches.ipv4 : reaches.ipv6) ? (['utp'] as const) : []
    const tcp = this.tcp ? (['tcp'] as const) : []
    return this.#worked.get(`${host}:${port}`) === 'tcp' ? [...tcp, ...utp] : [...utp, ...tcp]
  }

  remember(host: string, port: number, kind: TransportKind): void {
    const key = `${host}:${port}`
    this.#worked.delete(key)
    this.#worked.set(key, kind)
    if (this.#worked.size > REMEMBERED_PEERS) this.#worked.delete(this.#worked.keys().next().value!)
  }

  /** What another peer said (PEX flag 0x04); what we found ourselves wins. */
  hint(host: string, port: number, kind: TransportKind): void {
    if (!this.#worked.has(`${host}:${port}`)) this.remember(host, port, kind)
  }

  remembered(host: string, port: number): TransportKind | undefined {
    return this.#worked.get(`${host}:${port}`)
  }
}

/** TCP only: what a caller without a session's listener gets. */
const TCP_ONLY = new TransportPolicy({ tcp: true })

export interface DialOptions {
  host: string
  port: number
  timeoutMs: number
  readBuffer: Buffer
  clock: Clock
  /** Sockets still connecting, so an owner that stops can destroy them. */
  pending: Set<PeerSocket>
  /** uTP and TCP as configured; TCP alone when omitted. */
  transports?: TransportPolicy
  /** MSE: the policy and the torrent's info hash (SKEY). Without it, plaintext. */
  encryption?: { policy: EncryptionPolicy; infoHash: Buffer }
}

/**
 * TCP reads land in the reused `readBuffer` and go to `onTcpChunk` (a view:
 * copy what outlives the call); a uTP stream keeps its reads until someone
 * listens for 'data'.
 */
export type TcpChunkHandler = (chunk: Buffer) => void

/**
 * uTP's head start: TCP is tried too once uTP has not connected within this
 * long (a peer without uTP never answers its SYN), or at once if uTP fails.
 * The first to connect wins; the other is closed at that moment, still
 * connecting, so one dial never leaves two connections with a peer (and no
 * handshake is ever sent over the loser).
 */
export const UTP_HEAD_START_MS = 500

export function connectTransport(opts: DialOptions, onTcpChunk: TcpChunkHandler): Promise<Connected> {
  const policy = opts.transports ?? TCP_ONLY
  const order = policy.order(opts.host, opts.port)
  if (order.length === 0) return Promise.reject(new Error(`no transport to reach ${opts.host}:${opts.port} (uTP is off or its socket cannot reach this address family, and TCP is off)`))
  return new Promise((resolve, reject) => {
    const failures: string[] = []
    let settled = false
    let started = 0
    let failed = 0
    let headStart: TimerHandle | undefined
    let utpSocket: PeerSocket | undefined
    let tcpSocket: PeerSocket | undefined
    const attempt = (kind: TransportKind) => {
      started++
      const dialing = kind === 'utp' ? dialUtp(opts, policy.utp!, (s) => (utpSocket = s)) : dialTcp(opts, onTcpChunk, (s) => (tcpSocket = s))
      dialing.then(
        (dialed) => {
          if (settled) {
            dialed.destroy()
            return
          }
          settled = true
          headStart?.cancel()
          // The other transport, if still connecting, gives up now.
          const loser = kind === 'utp' ? tcpSocket : utpSocket
          if (loser && loser !== dialed) loser.destroy()
          policy.remember(opts.host, opts.port, kind)
          resolve({ socket: dialed, kind })
        },
        (err: unknown) => {
          failures.push(`${kind === 'utp' ? 'uTP' : 'TCP'}: ${errorMessage(err)}`)
          failed++
          if (settled) return
          // The host refused TCP and uTP has had its head start unanswered: the peer is gone, free the slot now.
          if (kind === 'tcp' && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' && started === order.length && failed < started) {
            utpSocket?.destroy()
            return
          }
          if (started < order.length) {
            headStart?.cancel()
            attempt(order[started])
          } else if (failed === started) {
            settled = true
            reject(new Error(`connect to ${opts.host}:${opts.port} failed (${failures.join('; ')})`))
          }
        },
      )
    }
    attempt(order[0])
    if (order.length > 1) {
      headStart = opts.clock.setTimeout(() => {
        // A peer that answered our SYN (even with "not now") speaks uTP: let uTP run its course.
        if ((utpSocket as UtpSocket | undefined)?.answered && order[0] === 'utp') return
        if (!settled && started < order.length) attempt(order[started])
      }, UTP_HEAD_START_MS)
    }
  })
}

function dialUtp(opts: DialOptions, utp: UtpManager, onSocket: (socket: PeerSocket) => void): Promise<PeerSocket> {
  return new Promise((resolve, reject) => {
    const socket = utp.connect(opts.host, opts.port)
    onSocket(socket)
    opts.pending.add(socket)
    const timer = opts.clock.setTimeout(() => fail(new Error('timed out')), opts.timeoutMs)
    const fail = (err: Error) => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.off('connect', onConnect)
      socket.off('error', fail)
      socket.off('close', onClose)
      socket.destroy()
      reject(err)
    }
    const onClose = () => fail(new Error('given up'))
    const onConnect = () => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.off('error', fail)
      socket.off('close', onClose)
      // Reads wait in the stream until someone listens for 'data'.
      resolve(socket)
    }
    socket.once('connect', onConnect)
    socket.once('error', fail)
    socket.once('close', onClose)
  })
}

function dialTcp(opts: DialOptions, onChunk: TcpChunkHandler, onSocket: (socket: PeerSocket) => void): Promise<PeerSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: opts.host,
      port: opts.port,
      onread: {
        buffer: opts.readBuffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          onChunk(Buffer.from(buffer.buffer, buffer.byteOffset, bytes))
          return true
        },
      },
    })
    onSocket(socket)
    opts.pending.add(socket)
    const timer = opts.clock.setTimeout(() => {
      opts.pending.delete(socket)
      socket.destroy()
      reject(new Error('timed out'))
    }, opts.timeoutMs)
    // Destroyed while connecting (uTP won, or the owner stopped): give up at once.
    const onClose = () => {
      timer.cancel()
      opts.pending.delete(socket)
      reject(new Error('given up'))
    }
    socket.once('close', onClose)
    socket.once('connect', () => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.removeAllListeners('error')
      socket.off('close', onClose)
      resolve(socket)
    })
    socket.once('error', (err) => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.destroy()
      reject(err)
    })
  })
}
