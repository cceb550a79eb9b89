// The session's listen port: TCP, and UDP on the same number shared by uTP
// and the DHT. Reads each incoming handshake, over either transport, and
// routes the connection to the torrent with that info hash; connections for
// unknown torrents, or that do not speak BitTorrent, are closed.
// It never keeps a routed socket: the torrent owns it from then on.
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import type { Clock } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { Decoder } from '../wire/decoder.ts'
import type { DecodedItem } from '../wire/decoder.ts'
import type { Handshake } from '../wire/handshake.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import { UtpManager } from '../transport/utp/utp-manager.ts'
import { DhtSocket } from '../transport/utp/dht-socket.ts'
import { TransportPolicy } from '../peer/dial.ts'

const HANDSHAKE_TIMEOUT_MS = 10_000
/** Connections still owing their handshake at once; more are closed on arrival, so a flood of silent sockets holds little. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 64
/** Of those, from one address: one host cannot take every place and shut honest peers out. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_HOST = 8
const MAX_MESSAGE_LENGTH = 1024 * 1024 + 16

export type IncomingHandler = (socket: PeerSocket, decoder: Decoder, handshake: Handshake, rest: DecodedItem[]) => void

export interface ListenerEvents {
  /** A connection was closed before routing; `reason` says why. */
  rejected: [remote: string, reason: string]
}

export class Listener extends TypedEmitter<ListenerEvents> {
  readonly #server: Server
  readonly #handlers = new Map<string, IncomingHandler>()
  readonly #pending = new Set<PeerSocket>()
  readonly #clock: Clock
  readonly #maxPending: number
  readonly #maxPendingPerHost: number
  readonly #pendingPerHost = new Map<string, number>()
  readonly #useUtp: boolean
  readonly #useTcp: boolean
  #utp: UtpManager | undefined
  #transports: TransportPolicy
  #port = 0

  constructor(clock: Clock = systemClock, opts: { maxPendingHandshakes?: number; maxPendingHandshakesPerHost?: number; utp?: boolean; tcp?: boolean } = {}) {
    super()
    this.#clock = clock
    this.#useUtp = opts.utp ?? true
    this.#useTcp = opts.tcp ?? true
    this.#transports = new TransportPolicy({ tcp: this.#useTcp })
    this.#maxPending = opts.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES
    this.#maxPendingPerHost = opts.maxPendingHandshakesPerHost ?? DEFAULT_MAX_PENDING_HANDSHAKES_PER_HOST
    this.#server = createServer((socket) => {
      if (this.#useTcp) this.#handleConnection(socket)
      else {
        socket.destroy()
        this.emit('rejected', `${socket.remoteAddress}:${socket.remotePort}`, 'TCP is turned off (config tcp: false)')
      }
    })
  }

  /**
   * Listens on `port` (TCP, and UDP for uTP and the DHT), or the next one of
   * the ten after it where both are free; port 0 asks the OS for any free port.
   */
  async listen(port: number, host?: string): Promise<number> {
    const tries = port === 0 ? [0, 0, 0] : Array.from({ length: 10 }, (_, i) => port + i).filter((p) => p <= 65535)
    let lastError: Error | undefined
    for (const p of tries) {
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => {
            this.#server.off('listening', onListening)
            reject(err)
          }
          const onListening = () => {
            this.#server.off('error', onError)
            resolve()
          }
          this.#server.once('error', onError)
          this.#server.once('listening', onListening)
          this.#server.listen(p, host)
        })
        const addr = this.#server.address()
        this.#port = typeof addr === 'object' && addr ? addr.port : p
      } catch (err) {
        lastError = err as Error
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break
        continue
      }
      try {
        this.#utp = await UtpManager.open(this.#port, host, { clock: this.#clock, acceptIncoming: this.#useUtp })
      } catch (err) {
        // TCP is free here and UDP is not: give the TCP port back and try the next.
        lastError = err as Error
        await new Promise<void>((resolve) => this.#server.close(() => resolve()))
        continue
      }
      this.#utp.on('connection', (socket) => this.#handleConnection(socket))
      this.#utp.on('error', () => {}) // send errors (an unreachable peer) are per datagram; bind errors were thrown above
      this.#transports = new TransportPolicy({ utp: this.#useUtp ? this.#utp : undefined, tcp: this.#useTcp })
      return this.#port
    }
    throw new Error(`cannot listen for peers on port ${port}: ${lastError?.message ?? 'unknown error'}`)
  }

  get port(): number {
    return this.#port
  }

  /** How outgoing connections are made: uTP and TCP as configured, sharing this port's UDP socket. */
  get transports(): TransportPolicy {
    return this.#transports
  }

  /** The shared UDP port as a dgram-like socket for bittorrent-dht; undefined before listen(). */
  dhtSocket(): DhtSocket | undefined {
    return this.#utp ? new DhtSocket(this.#utp) : undefined
  }

  /** Routes handshakes for `infoHash` to `handler` until the returned function is called. */
  register(infoHash: Buffer, handler: IncomingHandler): () => void {
    const key = infoHash.toString('hex')
    this.#handlers.set(key, handler)
    return () => {
      if (this.#handlers.get(key) === handler) this.#handlers.delete(key)
    }
  }

  async close(): Promise<void> {
    for (const s of this.#pending) s.destroy()
    this.#pending.clear()
    this.#pendingPerHost.clear()
    await this.#utp?.close()
    this.#utp = undefined
    if (!this.#server.listening) return
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #handleConnection(socket: PeerSocket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    const host = socket.remoteAddress ?? '?'
    const fromHost = this.#pendingPerHost.get(host) ?? 0
    if (this.#pending.size >= this.#maxPending || fromHost >= this.#maxPendingPerHost) {
      socket.destroy()
      this.emit('rejected', remote, fromHost >= this.#maxPendingPerHost ? `${fromHost} connections from ${host} are already waiting to handshake` : `${this.#maxPending} connections are already waiting to handshake`)
      return
    }
    this.#pendingPerHost.set(host, fromHost + 1)
    const decoder = new Decoder({ maxMessageLength: MAX_MESSAGE_LENGTH, expectHandshake: true, reuseBuffers: true })
    this.#pending.add(socket)
    const timer = this.#clock.setTimeout(() => reject('no handshake within 10 s'), HANDSHAKE_TIMEOUT_MS)
    const cleanup = () => {
      timer.cancel()
      if (this.#pending.delete(socket)) {
        const left = (this.#pendingPerHost.get(host) ?? 1) - 1
        if (left > 0) this.#pendingPerHost.set(host, left)
        else this.#pendingPerHost.delete(host)
      }
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    const reject = (reason: string) => {
      cleanup()
      socket.destroy()
      this.emit('rejected', remote, reason)
    }
    const onError = (err: Error) => reject(`socket error: ${err.message}`)
    const onClose = () => reject('closed before handshake')
    const onData = (chunk: Buffer) => {
      let items: DecodedItem[]
      try {
        items = decoder.push(chunk)
      } catch (err) {
        // e.g. an MSE-encrypted handshake (aria2c tries one first): close cleanly, it retries in plain text.
        reject((err as Error).message)
        return
      }
      if (items.length === 0) return
      const first = items[0]
      if (first.type !== 'handshake') {
        reject('first message was not a handshake')
        return
      }
      const handler = this.#handlers.get(first.infoHash.toString('hex'))
      if (!handler) {
        reject(`no torrent with info hash ${first.infoHash.toString('hex')}`)
        return
      }
      cleanup()
      socket.pause()
      const { type: _type, ...handshake } = first
      handler(socket, decoder, handshake, items.slice(1))
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
  }
}
