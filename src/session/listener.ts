// The session's listen port: TCP, and UDP on the same number shared by uTP
// and the DHT. Reads each incoming handshake, over either transport, and
// routes the connection to the torrent with that info hash; connections for
// unknown torrents, or that do not speak BitTorrent, are closed.
// A connection that does not open with "\x13BitTorrent protocol" is taken for
// MSE (src/transport): its SKEY is found among the routed info hashes by
// HASH('req2', SKEY), and the torrent gets an EncryptedSocket.
// It never keeps a routed socket: the torrent owns it from then on.
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import type { Clock } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { canonicalHost } from '../core/address.ts'
import { Decoder } from '../wire/decoder.ts'
import type { DecodedItem } from '../wire/decoder.ts'
import type { Handshake } from '../wire/handshake.ts'
import { EncryptedSocket } from '../transport/encrypted-socket.ts'
import { EncryptionPolicy } from '../transport/encryption-policy.ts'
import { req2 } from '../transport/mse-crypto.ts'
import { MseError, MseResponder } from '../transport/mse-handshake.ts'
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
/** How a plain BitTorrent handshake begins: anything else is taken for MSE. */
const PROTOCOL_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')])

export type IncomingHandler = (socket: PeerSocket, decoder: Decoder, handshake: Handshake, rest: DecodedItem[]) => void

export interface ListenerEvents {
  /** A connection was closed before routing; `reason` says why. */
  rejected: [remote: string, reason: string]
}

export class Listener extends TypedEmitter<ListenerEvents> {
  readonly #server: Server
  readonly #handlers = new Map<string, IncomingHandler>()
  /** HASH('req2', info hash) → info hash, to find an MSE initiator's torrent. */
  readonly #byReq2 = new Map<string, Buffer>()
  readonly #encryption: EncryptionPolicy
  readonly #useUtp: boolean
  readonly #useTcp: boolean
  #utp: UtpManager | undefined
  #transports: TransportPolicy
  readonly #pending = new Set<PeerSocket>()
  readonly #clock: Clock
  readonly #maxPending: number
  readonly #maxPendingPerHost: number
  readonly #pendingPerHost = new Map<string, number>()
  #port = 0

  /** `encryption`: which of plain and MSE connections to accept (default: both). */
  constructor(clock: Clock = systemClock, opts: { maxPendingHandshakes?: number; maxPendingHandshakesPerHost?: number; encryption?: EncryptionPolicy; utp?: boolean; tcp?: boolean } = {}) {
    super()
    this.#encryption = opts.encryption ?? new EncryptionPolicy('prefer')
    this.#useUtp = opts.utp ?? true
    this.#useTcp = opts.tcp ?? true
    this.#transports = new TransportPolicy({ tcp: this.#useTcp })
    this.#clock = clock
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
   * Listens on `port`, or the next free one of the ten after it when busy;
   * port 0 asks the OS for any free port.
   */
  async listen(port: number, host?: string): Promise<number> {
    const tries = port === 0 ? [0] : Array.from({ length: 10 }, (_, i) => port + i).filter((p) => p <= 65535)
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
    const req2Key = req2(infoHash).toString('hex')
    this.#handlers.set(key, handler)
    this.#byReq2.set(req2Key, Buffer.from(infoHash))
    return () => {
      if (this.#handlers.get(key) !== handler) return
      this.#handlers.delete(key)
      this.#byReq2.delete(req2Key)
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
    // A dual-stack port sees IPv4 peers as ::ffff:a.b.c.d: one name per host, the plain one.
    const host = canonicalHost(socket.remoteAddress ?? '?')
    const remote = host.includes(':') ? `[${host}]:${socket.remotePort}` : `${host}:${socket.remotePort}`
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
    /** What the handshake is read from: the socket, then an EncryptedSocket over it after MSE. */
    let stream: PeerSocket = socket
    let kind: 'unknown' | 'plain' | 'mse' = 'unknown'
    let head = Buffer.alloc(0)
    let responder: MseResponder | undefined
    let cleaned = false
    const cleanup = () => {
      if (cleaned) return
      cleaned = true
      timer.cancel()
      if (this.#pending.delete(socket)) {
        const left = (this.#pendingPerHost.get(host) ?? 1) - 1
        if (left > 0) this.#pendingPerHost.set(host, left)
        else this.#pendingPerHost.delete(host)
      }
      socket.off('data', onData)
      stream.off('data', onDecrypted)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    const reject = (reason: string) => {
      if (cleaned) return
      cleanup()
      socket.destroy()
      this.emit('rejected', remote, reason)
    }
    const refuse = (reason: string) => {
      reject(reason)
      this.#encryption.refused(host, reason)
    }
    const onError = (err: Error) => reject(`socket error: ${err.message}`)
    const onClose = () => reject('closed before handshake')
    const decode = (chunk: Buffer) => {
      let items: DecodedItem[]
      try {
        items = decoder.push(chunk)
      } catch (err) {
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
      stream.pause()
      const { type: _type, ...handshake } = first
      handler(stream, decoder, handshake, items.slice(1))
    }
    const onDecrypted = (chunk: Buffer) => decode(chunk)
    const startMse = () => {
      if (!this.#encryption.acceptsMse) return refuse('refused an encrypted connection: encryption is off')
      const early = head
      head = Buffer.alloc(0)
      this.#encryption.keyPair().then(
        (keys) => {
          if (cleaned) return
          responder = new MseResponder({
            keys,
            deferSecret: true,
            findSkey: (hash) => this.#byReq2.get(hash.toString('hex')),
            select: (provide) => this.#encryption.select(provide),
          })
          pushMse(Buffer.concat([early, head]))
        },
        (err: unknown) => reject(`cannot make a DH key: ${(err as Error).message}`),
      )
    }
    let secretQueued = false
    const pushMse = (chunk: Buffer) => stepMse(() => responder!.push(chunk))
    const stepMse = (advance: () => Buffer[]) => {
      if (cleaned) return
      let out: Buffer[]
      try {
        out = advance()
      } catch (err) {
        const message = (err as Error).message
        if (err instanceof MseError && /do not accept/.test(message)) refuse(`refused: ${message} (encryption: ${this.#encryption.mode})`)
        else reject(`encryption handshake: ${message}`)
        return
      }
      for (const bytes of out) socket.write(bytes)
      if (responder!.needsSecret && !secretQueued) {
        secretQueued = true
        // The DH secret waits its turn, so a burst of handshakes cannot stall the event loop.
        this.#encryption.budget.run(() => stepMse(() => responder!.computeSecret()))
      }
      const result = responder!.result
      if (!result) return
      socket.off('data', onData)
      const encrypted = new EncryptedSocket(socket, { ciphers: result, readInner: true })
      stream = encrypted
      encrypted.on('data', onDecrypted)
      decode(result.initialPayload)
      if (!cleaned && result.rest.length > 0) {
        result.decrypt?.updateInPlace(result.rest)
        decode(result.rest)
      }
    }
    const onData = (chunk: Buffer) => {
      if (kind === 'plain') return decode(chunk)
      if (kind === 'mse') {
        if (responder) pushMse(chunk)
        else head = Buffer.concat([head, chunk]) // the DH key is being made
        return
      }
      head = Buffer.concat([head, chunk])
      const n = Math.min(head.length, PROTOCOL_PREFIX.length)
      if (!head.subarray(0, n).equals(PROTOCOL_PREFIX.subarray(0, n))) {
        kind = 'mse'
        return startMse()
      }
      if (n < PROTOCOL_PREFIX.length) return
      kind = 'plain'
      if (!this.#encryption.acceptsPlaintext) return refuse('refused a plaintext connection: encryption is required')
      const first = head
      head = Buffer.alloc(0)
      decode(first)
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
  }
}
