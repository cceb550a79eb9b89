// One uTP connection (BEP 29) as a node Duplex, so a PeerConnection takes it
// where it takes a TCP socket: write/cork/destroy, 'data'/'end'/'close',
// writableLength and 'drain' for backpressure, remoteAddress/remotePort.
// It owns the connection's state and its send path: sequence numbers, the send
// ring (retransmission, timeouts; fast-retransmit.ts finds losses from ACKs),
// MTU probes and the LEDBAT controller. What was written waits in its
// WriteQueue, what arrives goes through its ReceivePath, and out-packets.ts
// writes the bytes of what it sends. It never owns
// a UDP socket or a timer: its UtpHost sends datagrams, batches its flushes
// (one per event-loop turn, so a burst of packets gets one ACK) and ticks it.
import { Duplex } from 'node:stream'
import type { Clock } from '../../core/clock.ts'
import { Ledbat } from './ledbat.ts'
import { MtuSearch } from './mtu-search.ts'
import { udpPayloadFor } from './route-mtu.ts'
import {
  HEADER_LENGTH, ST_DATA, ST_FIN, ST_RESET, ST_STATE, ST_SYN, MIN_PROBE_EXTENSIONS_BYTES,
  forEachSacked, refreshHeader, seqDiff,
} from './utp-packet.ts'
import { ReceivePath } from './receive-path.ts'
import type { ChunkRelease } from './chunk-queue.ts'
import { controlPacket, newPacketHeader, unpaddedHeader } from './out-packets.ts'
import { WriteQueue } from './write-queue.ts'
import { FastRetransmit } from './fast-retransmit.ts'
import { SendRing, type OutPacket } from './send-ring.ts'
import type { PacketType, UtpPacketView } from './utp-packet.ts'

/**
 * Packets (UDP payload, uTP header included) start at this size, or the
 * route's ceiling if lower, and stay there when the route is unknown; MTU
 * discovery searches upwards from it.
 */
export const SAFE_PACKET_BYTES = 1400
const SAFE_MSS = SAFE_PACKET_BYTES - HEADER_LENGTH
export { MAX_RECEIVE_DATAGRAM } from './out-packets.ts'
/** Sequence numbers kept in the send and reorder rings (a power of two). */
const RING = 2048
/** The congestion window's cap, whatever the packet size. */
const MAX_WINDOW_BYTES = 8 * 1024 * 1024
const KEEPALIVE_MS = 29_000
/** Timeouts in a row before giving up: a SYN sooner, so a dial falls back to TCP quickly. */
const MAX_SYN_TIMEOUTS = 1
const MAX_DATA_TIMEOUTS = 6

export interface UtpHost {
  readonly clock: Clock
  /** Current time in µs, wrapped to 32 bits. */
  nowUs(): number
  /** One datagram, gathered from `parts` (sendmsg's iovec: no copy). */
  send(parts: Buffer | Buffer[], port: number, address: string): void
  /** Asks for flush() on the next turn of the event loop (once, however often asked). */
  requestFlush(socket: UtpSocket): void
  /** The connection is over: drop it from the demultiplexer. */
  forget(socket: UtpSocket): void
}

type State = 'syn-sent' | 'connected' | 'closed'

export interface UtpSocketInit {
  host: UtpHost
  remoteAddress: string
  remotePort: number
  recvId: number
  sendId: number
  /** Outgoing: we send the SYN. Incoming: the SYN's sequence number, which we acknowledge. */
  outgoing: boolean
  synSeqNr?: number
  initialSeqNr: number
  /** The largest packet the outgoing link carries unfragmented (RouteMtu); undefined when unknown. */
  routeCeilingBytes?: number
  /** Incoming: the SYN's EXT_MAX_DATAGRAM (0 when it had none). */
  peerMaxDatagram?: number
}

export class UtpSocket extends Duplex {
  readonly transport = 'utp' as const
  readonly remoteAddress: string
  readonly remotePort: number
  readonly remoteFamily: string
  readonly recvId: number
  readonly sendId: number
  readonly outgoing: boolean
  readonly #host: UtpHost
  readonly #cc: Ledbat
  readonly #mtu: MtuSearch
  /** The route's ceiling; the peer's EXT_MAX_DATAGRAM may raise the search's above Ethernet's up to it. */
  readonly #routeCeiling: number
  /** Incoming: our STATEs carry EXT_MAX_DATAGRAM until the peer shows it has our answer to its SYN. */
  #advertiseMaxDatagram: boolean
  #state: State

  #seqNr: number
  #sndUna: number
  readonly #out = new SendRing(RING)
  #rtoAtMs = Number.POSITIVE_INFINITY
  readonly #fastRetransmit = new FastRetransmit()
  #synRetriesOnFin = 0
  #answered = false

  readonly #writes = new WriteQueue()
  #wantFin = false
  #finalCb: ((err?: Error | null) => void) | undefined
  #finSeq = -1

  readonly #rx = new ReceivePath(RING)
  #replyMicro = 0
  #needAck = false
  #lastSentMs: number
  #lastReceivedMs: number

  constructor(init: UtpSocketInit) {
    super({ allowHalfOpen: false, decodeStrings: true })
    this.#host = init.host
    this.remoteAddress = init.remoteAddress
    this.remotePort = init.remotePort
    this.remoteFamily = init.remoteAddress.includes(':') ? 'IPv6' : 'IPv4'
    this.recvId = init.recvId
    this.sendId = init.sendId
    this.outgoing = init.outgoing
    this.#cc = new Ledbat({ clock: init.host.clock, mssBytes: SAFE_MSS, maxWindowBytes: MAX_WINDOW_BYTES })
    this.#routeCeiling = init.routeCeilingBytes ?? SAFE_PACKET_BYTES
    this.#advertiseMaxDatagram = !init.outgoing
    this.#mtu = new MtuSearch({ floorBytes: SAFE_PACKET_BYTES, ceilingBytes: this.#ceilingFor(init.peerMaxDatagram ?? 0), nowMs: init.host.clock.now() })
    this.#cc.setMss(this.#mtu.floorBytes - HEADER_LENGTH)
    this.#seqNr = init.initialSeqNr & 0xffff
    this.#sndUna = this.#seqNr
    const now = init.host.clock.now()
    this.#lastSentMs = now
    this.#lastReceivedMs = now
    if (init.outgoing) {
      this.#state = 'syn-sent'
      // BEP 29: the SYN carries our receive id; everything after it our send id.
      this.#sendNew(ST_SYN, 0, init.recvId)
    } else {
      this.#state = 'connected'
      this.#rx.ackNr = init.synSeqNr! & 0xffff
      this.#needAck = true
      this.#host.requestFlush(this)
    }
  }

  get connected(): boolean {
    return this.#state === 'connected'
  }

  /** The remote sent us anything at all: it speaks uTP, even if it has not accepted yet. */
  get answered(): boolean {
    return this.#answered
  }

  /** Round-trip time estimate in ms, for the peers view. */
  get rttMs(): number {
    return this.#cc.rttMs
  }

  get congestionWindowBytes(): number {
    return this.#cc.windowBytes
  }

  /** Counters for diagnosis and the benchmark: packets resent, and how many of those after a timeout. */
  readonly stats = { packetsSent: 0, resends: 0, timeouts: 0, fastResends: 0 }

  /** LEDBAT's current estimate of our queuing delay, µs. */
  get queuingDelayUs(): number {
    return this.#cc.queuingDelayUs
  }

  get inFlightBytes(): number {
    return this.#out.inFlightBytes
  }

  /** MTU discovery's bounds: every packet but a probe is `floorBytes` (UDP payload, header included). */
  get packetBytes(): { floorBytes: number; ceilingBytes: number } {
    return { floorBytes: this.#mtu.floorBytes, ceilingBytes: this.#mtu.ceilingBytes }
  }

  /** Without the peer's word, no more than an Ethernet frame carries: real clients read datagrams into ~1500 bytes. */
  #ceilingFor(peerMaxDatagram: number): number {
    const limit = peerMaxDatagram > 0 ? peerMaxDatagram : udpPayloadFor(this.remoteAddress, 1500)
    return Math.min(this.#routeCeiling, limit)
  }

  #packetSizeChanged(): void {
    this.#cc.setMss(this.#mtu.floorBytes - HEADER_LENGTH)
  }

  /** No-ops that net.Socket callers make. uTP has no Nagle: writes are batched per event-loop turn. */
  setNoDelay(_noDelay?: boolean): this {
    return this
  }

  setKeepAlive(_enable?: boolean, _delayMs?: number): this {
    return this
  }

  // --- Duplex ---------------------------------------------------------------

  override _read(): void {
    // The consumer drained what we pushed: if our advertised window was closed, open it.
    if (this.#state === 'connected' && this.#rx.windowReopened(this.readableLength)) {
      this.#needAck = true
      this.#host.requestFlush(this)
    }
  }

  /**
   * As net.Socket's, except for when a Buffer's callback runs: once every byte
   * of it is in packets the peer acknowledged (or the connection closed, with an
   * error), so the writer may reuse the buffer then. Back-pressure is unchanged.
   */
  override write(chunk: unknown, encodingOrCb?: BufferEncoding | ChunkRelease, cb?: ChunkRelease): boolean {
    const release = typeof encodingOrCb === 'function' ? encodingOrCb : cb
    if (!release || !Buffer.isBuffer(chunk) || this.#writes.holds(chunk)) return super.write(chunk, encodingOrCb as BufferEncoding, cb)
    if (this.destroyed) {
      process.nextTick(release, new Error('uTP connection closed'))
      return false
    }
    this.#writes.hold(chunk, release)
    return super.write(chunk)
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#writes.enqueue(chunk)
    this.#afterEnqueue(cb)
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    for (const c of chunks) this.#writes.enqueue(c.chunk)
    this.#afterEnqueue(cb)
  }

  /** end(): a FIN follows the queued data; 'finish' waits for the peer to acknowledge all of it. */
  override _final(cb: (err?: Error | null) => void): void {
    this.#wantFin = true
    this.#finalCb = cb
    this.#host.requestFlush(this)
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.#state !== 'closed') {
      // A clean close (everything sent and acknowledged) ends with a FIN, anything else with a RESET.
      const clean = this.#state === 'connected' && this.#writes.bytes === 0 && this.#sndUna === this.#seqNr
      if (this.#state === 'connected' && !(clean && this.#finSeq !== -1)) this.#sendControl(clean ? ST_FIN : ST_RESET)
      this.#close()
    }
    // Chunks that never reached the queue (still in the Writable's buffer) are released too.
    this.#writes.clearAll(err ?? new Error('uTP connection closed'))
    const final = this.#finalCb
    this.#finalCb = undefined
    final?.(err ?? new Error('uTP connection closed'))
    cb(err)
  }

  #afterEnqueue(cb: (err?: Error | null) => void): void {
    if (this.#state === 'closed') {
      cb(new Error('uTP connection closed'))
      return
    }
    this.#host.requestFlush(this)
    this.#writes.accept(cb)
  }

  // --- receiving --------------------------------------------------------------

  /** One datagram for this connection, already parsed into `p`. */
  handlePacket(p: UtpPacketView, buf: Buffer): void {
    if (this.#state === 'closed') return
    const clock = this.#host.clock
    this.#answered = true
    this.#lastReceivedMs = clock.now()
    if (p.timestampUs !== 0) this.#replyMicro = (this.#host.nowUs() - p.timestampUs) >>> 0
    if (p.type === ST_RESET) {
      this.destroy(Object.assign(new Error(this.#state === 'syn-sent' ? 'uTP connection refused' : 'uTP connection reset by peer'), { code: this.#state === 'syn-sent' ? 'ECONNREFUSED' : 'ECONNRESET' }))
      return
    }
    if (p.type === ST_SYN) {
      // Our SYN-ACK was lost: say it again.
      if (!this.outgoing) this.#needAck = true
      this.#host.requestFlush(this)
      return
    }
    this.#advertiseMaxDatagram = false
    this.#cc.handlePeerWindow(p.wndSize)
    if (this.#state === 'syn-sent') {
      // libtorrent sometimes answers a SYN with a FIN (its session was not ready for it) and
      // accepts the same SYN sent again: send it again now rather than after a timeout.
      if (p.type === ST_FIN && this.#synRetriesOnFin++ < 2) {
        const syn = this.#out.get(this.#sndUna)
        if (syn) this.#transmit(syn, clock.now())
        return
      }
      if (p.type !== ST_STATE) return
      // libutp numbering: the SYN-ACK carries the sequence number its first data packet will use.
      this.#rx.ackNr = (p.seqNr - 1) & 0xffff
      this.#state = 'connected'
      if (p.maxDatagram > 0) {
        this.#mtu.setCeiling(this.#ceilingFor(p.maxDatagram), clock.now())
        this.#packetSizeChanged()
      }
      this.#handleAck(p, buf)
      this.emit('connect')
      this.#host.requestFlush(this)
      return
    }
    this.#handleAck(p, buf)
    if (p.type === ST_DATA || p.type === ST_FIN) this.#handleData(p, buf)
    this.#host.requestFlush(this)
  }

  #handleAck(p: UtpPacketView, buf: Buffer): void {
    this.#cc.handleDelaySample(p.timestampDiffUs)
    const now = this.#host.clock.now()
    let acked = 0
    let progressed = false
    // Cumulative: everything up to ack_nr (ignored if it acknowledges what we never sent).
    const span = seqDiff(p.ackNr, this.#sndUna) + 1
    if (span > 0 && seqDiff(this.#seqNr, p.ackNr) > 0) {
      for (let i = 0; i < span; i++) acked += this.#ackOne((this.#sndUna + i) & 0xffff, now)
    }
    let lost = false
    if (p.sackLength > 0 && seqDiff(p.ackNr, this.#sndUna) >= -1) {
      let highest = -1
      forEachSacked(buf, p.sackOffset, p.sackLength, p.ackNr, (s) => {
        if (seqDiff(s, this.#seqNr) >= 0) return
        acked += this.#ackOne(s, now)
        if (highest === -1 || seqDiff(s, highest) > 0) highest = s
      })
      // Fast retransmit: a packet with three or more acknowledged after it is lost.
      if (highest !== -1) this.#fastRetransmit.scanSack(this.#out, highest, this.#sndUna, this.#cc.rttMs, now, (s) => {
        if (!this.#probeLost(s, now)) lost = true
      })
    }
    const before = this.#sndUna
    while (this.#sndUna !== this.#seqNr && !this.#out.get(this.#sndUna)) this.#sndUna = (this.#sndUna + 1) & 0xffff
    if (this.#sndUna !== before) {
      progressed = true
      this.#writes.ackedBefore(this.#sndUna)
    }
    // Duplicate ACKs: the same ack_nr three times with data outstanding.
    const dupLost = this.#fastRetransmit.handleAck(this.#out, p.ackNr, p.type === ST_STATE && this.#sndUna !== this.#seqNr, progressed, this.#sndUna)
    if (dupLost && !this.#probeLost(this.#sndUna, now)) lost = true
    if (lost) {
      this.stats.fastResends++
      this.#cc.handleLoss()
    }
    if (acked > 0 || progressed) {
      this.#cc.handleAck(acked)
      this.#rtoAtMs = this.#sndUna === this.#seqNr ? Number.POSITIVE_INFINITY : now + this.#cc.rtoMs
    }
    if (this.#finSeq !== -1 && this.#sndUna === this.#seqNr) {
      const final = this.#finalCb
      this.#finalCb = undefined
      final?.()
      if (this.#rx.ended) this.#close()
    }
  }

  /** Drops one acknowledged packet from the send ring; returns its payload bytes. */
  #ackOne(seq: number, now: number): number {
    if (seq === this.#mtu.probeSeq && this.#out.get(seq)) {
      this.#mtu.handleAcked(seq, now)
      this.#packetSizeChanged()
    }
    return this.#out.ack(seq, now, this.#rttSample)
  }

  /** A lost MTU probe was too big, not a sign of congestion (libtorrent): true when `seq` was it. */
  #probeLost(seq: number, now: number): boolean {
    if (!this.#mtu.handleLost(seq, now)) return false
    this.#packetSizeChanged()
    return true
  }

  readonly #rttSample = (ms: number): void => this.#cc.handleRttSample(ms)

  #handleData(p: UtpPacketView, buf: Buffer): void {
    this.#needAck = true
    if (this.#rx.handleData(p, buf, this.#push) && this.#finSeq !== -1 && this.#sndUna === this.#seqNr) this.#close()
  }

  readonly #push = (chunk: Buffer | null): void => {
    this.push(chunk)
  }

  // --- sending ----------------------------------------------------------------

  /** Sends what the windows allow: resends first, then new data, then a FIN, then an ACK if still owed. */
  flush(): void {
    if (this.#state !== 'connected') return
    const now = this.#host.clock.now()
    let sent = false
    for (let s = this.#sndUna; this.#out.resendPending > 0 && s !== this.#seqNr; s = (s + 1) & 0xffff) {
      const o = this.#out.get(s)
      if (!o || !o.needResend) continue
      if (!o.inFlight) {
        const window = this.#cc.sendWindowBytes()
        if (window === 0 || (this.#out.inFlightBytes > 0 && this.#out.inFlightBytes + o.payloadBytes > window)) break
      }
      this.#transmit(o, now)
      sent = true
    }
    while (this.#writes.bytes > 0 && seqDiff(this.#seqNr, this.#sndUna) < RING - 1) {
      const window = this.#cc.sendWindowBytes()
      const size = Math.min(this.#mtu.floorBytes - HEADER_LENGTH, this.#writes.bytes)
      if (window === 0 || (this.#out.inFlightBytes > 0 && this.#out.inFlightBytes + size > window)) {
        this.#cc.handleWindowFull()
        break
      }
      this.#cc.handleProbeSent()
      this.#sendNew(ST_DATA, size, this.sendId)
      sent = true
    }
    if (this.#wantFin && this.#finSeq === -1 && this.#writes.bytes === 0) {
      this.#finSeq = this.#seqNr
      this.#sendNew(ST_FIN, 0, this.sendId)
      sent = true
    }
    this.#writes.resumeWriter()
    // Data packets carry the cumulative ACK; a selective one needs a STATE of its own.
    if (this.#needAck && (!sent || this.#rx.reorder.count > 0)) this.#sendControl(ST_STATE)
    this.#needAck = false
  }

  /** The manager's tick: retransmission timeout, keep-alive, zero-window probe. */
  tick(now: number): void {
    if (this.#state === 'closed') return
    if (this.#sndUna !== this.#seqNr && now >= this.#rtoAtMs) {
      const timeouts = this.#cc.handleTimeout()
      this.stats.timeouts++
      this.#mtu.handleTimeout(seqDiff(this.#seqNr, this.#sndUna) === 1 ? this.#sndUna : -1, now)
      this.#packetSizeChanged()
      if (timeouts > (this.#state === 'syn-sent' ? MAX_SYN_TIMEOUTS : MAX_DATA_TIMEOUTS)) {
        this.destroy(Object.assign(new Error(this.#state === 'syn-sent' ? `uTP connect to ${this.remoteAddress}:${this.remotePort} timed out` : 'uTP connection timed out'), { code: 'ETIMEDOUT' }))
        return
      }
      // Everything outstanding is presumed lost: resend as the (now one-packet) window allows.
      this.#out.markAllTimedOut(this.#sndUna, this.#seqNr)
      this.#rtoAtMs = now + this.#cc.rtoMs
      if (this.#state === 'syn-sent') {
        const syn = this.#out.get(this.#sndUna)
        if (syn) this.#transmit(syn, now)
        return
      }
    }
    if (this.#state !== 'connected') return
    if (now - this.#lastSentMs >= KEEPALIVE_MS) this.#needAck = true
    if (this.#needAck || this.#writes.bytes > 0 || this.#sndUna !== this.#seqNr) this.flush()
  }

  /** A packet that takes a sequence number and waits in the send ring for its ACK. */
  #sendNew(type: PacketType, payloadBytes: number, connectionId: number): void {
    const now = this.#host.clock.now()
    // A data packet may be padded into an MTU probe, which then carries less data if it must.
    const probe = type === ST_DATA ? this.#mtu.probeBytes(this.#cc.windowBytes, now) : 0
    if (probe > 0) payloadBytes = Math.min(payloadBytes, probe - HEADER_LENGTH - MIN_PROBE_EXTENSIONS_BYTES)
    const buf = newPacketHeader(type, connectionId, this.#seqNr, this.#rx.ackNr, payloadBytes, probe)
    const parts: Buffer[] = [buf]
    if (payloadBytes > 0) this.#writes.take(parts, payloadBytes, this.#seqNr)
    if (probe > 0) this.#mtu.handleSent(this.#seqNr, buf.length + payloadBytes)
    const o: OutPacket = { header: buf, parts, payloadBytes, sentAtMs: 0, transmissions: 0, inFlight: false, needResend: false, fastResent: false, padded: probe > 0 }
    this.#out.put(this.#seqNr, o)
    this.#seqNr = (this.#seqNr + 1) & 0xffff
    if (this.#rtoAtMs === Number.POSITIVE_INFINITY) this.#rtoAtMs = now + this.#cc.rtoMs
    this.#transmit(o, now)
  }

  #transmit(o: OutPacket, now: number): void {
    if (o.padded && o.transmissions > 0) {
      o.header = o.parts[0] = unpaddedHeader(o.header)
      o.padded = false
    }
    refreshHeader(o.header, this.#host.nowUs(), this.#replyMicro, this.#rx.windowToAdvertise(this.readableLength), this.#rx.ackNr)
    this.#out.markSent(o, now)
    this.stats.packetsSent++
    if (o.transmissions > 1) this.stats.resends++
    this.#lastSentMs = now
    this.#host.send(o.parts, this.remotePort, this.remoteAddress)
  }

  /** A STATE (with a selective ACK when packets wait out of order), or a one-off FIN/RESET on close. */
  #sendControl(type: PacketType): void {
    const fields = { connectionId: this.sendId, timestampUs: this.#host.nowUs(), timestampDiffUs: this.#replyMicro, wndSize: this.#rx.windowToAdvertise(this.readableLength), seqNr: this.#seqNr, ackNr: this.#rx.ackNr }
    // Our answer to a SYN says how large a datagram we take, before any selective ACK.
    const buf = controlPacket(type, fields, this.#rx.reorder, this.#advertiseMaxDatagram)
    this.#lastSentMs = this.#host.clock.now()
    this.#host.send(buf, this.remotePort, this.remoteAddress)
  }

  #close(): void {
    if (this.#state === 'closed') return
    // The ACK of the peer's FIN goes out before we forget the connection.
    if (this.#needAck && this.#state === 'connected') this.#sendControl(ST_STATE)
    this.#state = 'closed'
    this.#out.clear()
    this.#rx.clear()
    this.#writes.clearQueued()
    this.#host.forget(this)
    if (!this.destroyed) this.destroy()
  }
}
