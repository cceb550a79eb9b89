// A uTP connection's sent packets awaiting their ACK, by sequence number: the
// bytes in flight, the packets marked for resending, and the round-trip
// samples their ACKs give (Karn's rule). Pure: no socket, no clock; the
// connection decides when a packet is lost and when it goes out again.

export interface OutPacket {
  /** The header and its extensions, refreshed in place for each transmission. */
  header: Buffer
  /** The datagram: `header`, then views of the payload bytes as written (not copied). */
  parts: Buffer[]
  payloadBytes: number
  sentAtMs: number
  transmissions: number
  /** Counted in the bytes in flight (false once a timeout marks it for resending). */
  inFlight: boolean
  needResend: boolean
  fastResent: boolean
  /** An MTU probe's padding (EXT_PADDING) follows the header: resent without it. */
  padded: boolean
}

export class SendRing {
  readonly #slots: (OutPacket | undefined)[]
  readonly #mask: number
  /** Payload bytes sent and neither acknowledged nor presumed lost. */
  inFlightBytes = 0
  /** Packets marked for resending, so a flush scans the ring only when there are some. */
  resendPending = 0

  /** `size`: a power of two, the most packets that may await an ACK. */
  constructor(readonly size: number) {
    this.#slots = new Array(size)
    this.#mask = size - 1
  }

  get(seqNr: number): OutPacket | undefined {
    return this.#slots[seqNr & this.#mask]
  }

  put(seqNr: number, o: OutPacket): void {
    this.#slots[seqNr & this.#mask] = o
  }

  /**
   * Drops an acknowledged packet; returns its payload bytes. A packet sent once
   * and never presumed lost times the round trip: `rttSample` gets it.
   */
  ack(seqNr: number, nowMs: number, rttSample: (ms: number) => void): number {
    const slot = seqNr & this.#mask
    const o = this.#slots[slot]
    if (!o) return 0
    this.#slots[slot] = undefined
    if (o.inFlight) this.inFlightBytes -= o.payloadBytes
    if (o.needResend) this.resendPending--
    if (o.transmissions === 1 && !o.needResend) rttSample(nowMs - o.sentAtMs)
    return o.payloadBytes
  }

  /** Lost by fast retransmit: resend it, still counted in flight. */
  markLost(o: OutPacket): void {
    o.fastResent = true
    o.needResend = true
    this.resendPending++
  }

  /** A timeout: presumed lost and no longer in flight. */
  markTimedOut(o: OutPacket): void {
    if (o.inFlight) this.inFlightBytes -= o.payloadBytes
    if (!o.needResend) this.resendPending++
    o.inFlight = false
    o.needResend = true
  }

  /** A timeout: every packet from `from` up to (not including) `to` is presumed lost. */
  markAllTimedOut(from: number, to: number): void {
    for (let s = from; s !== to; s = (s + 1) & 0xffff) {
      const o = this.get(s)
      if (o) this.markTimedOut(o)
    }
  }

  /** It goes out (again) at `nowMs`. */
  markSent(o: OutPacket, nowMs: number): void {
    if (!o.inFlight) this.inFlightBytes += o.payloadBytes
    if (o.needResend) this.resendPending--
    o.inFlight = true
    o.needResend = false
    o.transmissions++
    o.sentAtMs = nowMs
  }

  clear(): void {
    this.#slots.fill(undefined)
    this.inFlightBytes = 0
    this.resendPending = 0
  }
}
