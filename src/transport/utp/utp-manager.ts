// The one UDP socket of a session's listen port, shared by uTP and the DHT.
// Datagrams are told apart by their first byte: a uTP header (version 1, type
// 0–4) goes to the connection with that id and sender, a SYN makes a new
// incoming connection, anything else (bencoded KRPC begins with 'd') goes to
// the other-datagram listeners (the DHT, through UdpShare's socket).
// One tick timer drives every connection's timeouts; flushes (and so ACKs)
// are batched to one per event-loop turn. Never decodes peer-wire bytes.
// Dual-stack: unless told an IPv4 host, the socket is IPv6 with IPv4 mapped
// in, so one port serves both families. Addresses are kept in their plain
// form (1.2.3.4, not ::ffff:1.2.3.4) on the way in and mapped on the way out.
import { createSocket } from 'node:dgram'
import type { RemoteInfo, Socket as DgramSocket } from 'node:dgram'
import { randomInt } from 'node:crypto'
import { isIPv4 } from 'node:net'
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { monotonicMs, systemClock } from '../../core/clock.ts'
import { TypedEmitter } from '../../core/typed-emitter.ts'
import { HEADER_LENGTH, ST_RESET, ST_SYN, emptyView, looksLikeUtp, parsePacket, writeHeader } from './utp-packet.ts'
import { RouteMtu } from './route-mtu.ts'
import { UtpSocket } from './utp-socket.ts'
import type { UtpHost } from './utp-socket.ts'

const TICK_MS = 50
export const DEFAULT_MAX_UTP_CONNECTIONS = 2000

export interface UtpManagerEvents {
  /** An incoming connection: its SYN was answered. Whoever listens owns the socket. */
  connection: [socket: UtpSocket]
  /** A datagram that is not uTP (a DHT message, say). */
  datagram: [msg: Buffer, rinfo: RemoteInfo]
  /** The UDP socket failed (bind errors are thrown by bind()). */
  error: [error: Error]
}

export interface UtpManagerOptions {
  clock?: Clock
  /** Incoming SYNs are answered only while this is true (config `utp`). */
  acceptIncoming?: boolean
  maxConnections?: number
  /** Where each connection's packet-size ceiling comes from (the outgoing link's MTU). */
  routes?: RouteMtu
}

const ignoreSendError = (): void => {}
/** Bind errors that mean the machine has no IPv6 (then IPv4 alone is bound). */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL'])
const IPV4_MAPPED = '::ffff:'

export class UtpManager extends TypedEmitter<UtpManagerEvents> implements UtpHost {
  readonly clock: Clock
  readonly #udp: DgramSocket
  readonly #byRecvId = new Map<number, UtpSocket[]>()
  readonly #dirty = new Set<UtpSocket>()
  readonly #view = emptyView()
  readonly #maxConnections: number
  readonly #routes: RouteMtu
  #count = 0
  #flushScheduled = false
  #tick: TimerHandle | undefined
  #closed = false
  acceptIncoming: boolean
  /** The socket is IPv6: IPv4 addresses are mapped when sending. */
  readonly #ipv6: boolean
  /** ...and takes IPv4 too (dual-stack). */
  readonly #dualStack: boolean

  /**
   * Binds a UDP socket on `port` (0 for any) and manages it: IPv4 only for an
   * IPv4 `host`, IPv6 only for an IPv6 one, both for none or "::" (IPv4 alone
   * where the machine has no IPv6).
   */
  static async open(port: number, host?: string, opts: UtpManagerOptions = {}): Promise<UtpManager> {
    const bind = async (type: 'udp4' | 'udp6'): Promise<DgramSocket> => {
      const udp = createSocket({ type, ipv6Only: type === 'udp6' && host !== undefined && host !== '::', recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 })
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject)
        udp.bind(port, host, () => {
          udp.off('error', reject)
          resolve()
        })
      }).catch((err: Error) => {
        udp.close()
        throw err
      })
      return udp
    }
    const family = host !== undefined && isIPv4(host) ? 'udp4' : 'udp6'
    let udp: DgramSocket
    try {
      udp = await bind(family).catch((err: NodeJS.ErrnoException) => {
        if (family === 'udp6' && host === undefined && NO_IPV6.has(err.code ?? '')) return bind('udp4')
        throw err
      })
    } catch (err) {
      throw new Error(`cannot bind UDP port ${port} for uTP and the DHT: ${(err as Error).message}`)
    }
    return new UtpManager(udp, opts)
  }

  constructor(udp: DgramSocket, opts: UtpManagerOptions = {}) {
    super()
    this.#udp = udp
    this.clock = opts.clock ?? systemClock
    this.acceptIncoming = opts.acceptIncoming ?? true
    this.#maxConnections = opts.maxConnections ?? DEFAULT_MAX_UTP_CONNECTIONS
    this.#routes = opts.routes ?? new RouteMtu()
    const bound = udp.address()
    this.#ipv6 = bound.family === 'IPv6'
    this.#dualStack = this.#ipv6 && bound.address === '::'
    udp.on('message', (msg, rinfo) => this.handleDatagram(msg, rinfo))
    udp.on('error', (err) => this.emit('error', err))
  }

  get port(): number {
    return this.#udp.address().port
  }

  get connectionCount(): number {
    return this.#count
  }

  /** Which address families this socket reaches. */
  get reaches(): { ipv4: boolean; ipv6: boolean } {
    return { ipv4: !this.#ipv6 || this.#dualStack, ipv6: this.#ipv6 }
  }

  /** A non-uTP datagram (the DHT's) to `address`, in its plain form. */
  sendDatagram(buf: Buffer, offset: number, length: number, port: number, address: string, cb: (err: Error | null) => void): void {
    if (this.#closed) return cb(new Error('uTP is closed'))
    this.#udp.send(buf, offset, length, port, this.#outbound(address), (err) => cb(err ?? null))
  }

  /** The bound address and port. */
  address(): { address: string; family: string; port: number } {
    return this.#udp.address()
  }

  /** Opens an outgoing connection; the socket emits 'connect' or 'error'. */
  connect(host: string, port: number): UtpSocket {
    if (this.#closed) throw new Error('uTP is closed')
    let recvId = 0
    for (let tries = 0; tries < 64; tries++) {
      recvId = randomInt(0, 0x10000)
      // BEP 29: we receive on recvId and send on recvId + 1; neither may clash with a connection to this peer.
      if (!this.#find(recvId, host, port) && !this.#find((recvId + 1) & 0xffff, host, port)) break
    }
    const socket = new UtpSocket({ host: this, remoteAddress: host, remotePort: port, recvId, sendId: (recvId + 1) & 0xffff, outgoing: true, initialSeqNr: 1, routeCeilingBytes: this.#routes.packetCeilingFor(host) })
    this.#add(socket)
    return socket
  }

  handleDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed) return
    // rinfo is this datagram's own object: the plain IPv4 form goes in place.
    if (this.#dualStack && rinfo.address.startsWith(IPV4_MAPPED)) {
      rinfo.address = rinfo.address.slice(IPV4_MAPPED.length)
      rinfo.family = 'IPv4'
    }
    if (!looksLikeUtp(msg)) {
      this.emit('datagram', msg, rinfo)
      return
    }
    const p = this.#view
    if (parsePacket(msg, p) !== undefined) return
    const id = p.connectionId
    if (p.type === ST_RESET) {
      // A RESET may carry either of our ids (libutp looks up both).
      const s = this.#find(id, rinfo.address, rinfo.port) ?? this.#findBySendId(id, rinfo.address, rinfo.port)
      s?.handlePacket(p, msg)
      return
    }
    if (p.type === ST_SYN) {
      const existing = this.#find((id + 1) & 0xffff, rinfo.address, rinfo.port)
      if (existing) {
        if (!existing.outgoing) existing.handlePacket(p, msg)
        return
      }
      if (!this.acceptIncoming || this.#count >= this.#maxConnections || this.listenerCount('connection') === 0) {
        this.#sendReset(rinfo, id, p.seqNr)
        return
      }
      const socket = new UtpSocket({
        host: this, remoteAddress: rinfo.address, remotePort: rinfo.port, recvId: (id + 1) & 0xffff, sendId: id, outgoing: false, synSeqNr: p.seqNr, initialSeqNr: randomInt(0, 0x10000),
        routeCeilingBytes: this.#routes.packetCeilingFor(rinfo.address), peerMaxDatagram: p.maxDatagram,
      })
      this.#add(socket)
      this.emit('connection', socket)
      return
    }
    const s = this.#find(id, rinfo.address, rinfo.port)
    if (s) s.handlePacket(p, msg)
    else this.#sendReset(rinfo, id, p.seqNr)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    for (const list of [...this.#byRecvId.values()]) for (const s of [...list]) s.destroy()
    this.#closed = true
    this.#tick?.cancel()
    this.#tick = undefined
    await new Promise<void>((resolve) => this.#udp.close(() => resolve()))
  }

  // --- UtpHost ---------------------------------------------------------------

  nowUs(): number {
    return Math.floor(monotonicMs() * 1000) >>> 0
  }

  send(parts: Buffer | Buffer[], port: number, address: string): void {
    if (!this.#closed) this.#udp.send(parts, port, this.#outbound(address), ignoreSendError)
  }

  /** An IPv6 socket cannot send to a plain IPv4 address (EINVAL): it takes the mapped form. */
  #outbound(address: string): string {
    return this.#ipv6 && !address.includes(':') ? IPV4_MAPPED + address : address
  }

  requestFlush(socket: UtpSocket): void {
    this.#dirty.add(socket)
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(this.#flushAll)
  }

  forget(socket: UtpSocket): void {
    const list = this.#byRecvId.get(socket.recvId)
    const i = list?.indexOf(socket) ?? -1
    if (i < 0) return
    list!.splice(i, 1)
    if (list!.length === 0) this.#byRecvId.delete(socket.recvId)
    this.#dirty.delete(socket)
    if (--this.#count === 0) {
      this.#tick?.cancel()
      this.#tick = undefined
    }
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false
    for (const s of this.#dirty) {
      this.#dirty.delete(s)
      s.flush()
    }
  }

  #add(socket: UtpSocket): void {
    const list = this.#byRecvId.get(socket.recvId)
    if (list) list.push(socket)
    else this.#byRecvId.set(socket.recvId, [socket])
    if (this.#count++ === 0) this.#tick = this.clock.setInterval(() => this.#onTick(), TICK_MS)
  }

  #onTick(): void {
    const now = this.clock.now()
    for (const list of this.#byRecvId.values()) for (const s of [...list]) s.tick(now)
  }

  #find(recvId: number, address: string, port: number): UtpSocket | undefined {
    const list = this.#byRecvId.get(recvId)
    if (!list) return undefined
    for (const s of list) if (s.remotePort === port && s.remoteAddress === address) return s
    return undefined
  }

  #findBySendId(sendId: number, address: string, port: number): UtpSocket | undefined {
    const s = this.#find((sendId + 1) & 0xffff, address, port) ?? this.#find((sendId - 1) & 0xffff, address, port)
    return s && s.sendId === sendId ? s : undefined
  }

  #sendReset(rinfo: RemoteInfo, connectionId: number, seqNr: number): void {
    const buf = Buffer.allocUnsafe(HEADER_LENGTH)
    writeHeader(buf, { type: ST_RESET, connectionId, timestampUs: this.nowUs(), timestampDiffUs: 0, wndSize: 0, seqNr: randomInt(0, 0x10000), ackNr: seqNr })
    this.send(buf, rinfo.port, rinfo.address)
  }
}
