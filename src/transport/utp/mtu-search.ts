// Path MTU discovery for one uTP connection, as libutp and libtorrent do it:
// a binary search for the largest packet (UDP payload, uTP header included)
// between a floor known to pass and a ceiling (the outgoing link's MTU, or
// what the peer said it can receive). Ordinary packets are floor-sized; one
// packet at a time goes out padded to the midpoint as a probe (carrying no
// more data than the others, so one too big is resent without its padding
// and the stream never waits on it). A probe acknowledged
// raises the floor; a probe lost (fast retransmit, or a timeout with nothing
// else outstanding) lowers the ceiling and is not congestion. The search ends
// when floor and ceiling are within 16 bytes and starts again after 30
// minutes (libutp). Pure: the connection tells it what was sent, acked, lost.

/** 576 (the smallest MTU every IPv4 host takes) less the IPv4 and UDP headers: the floor's lowest value (libtorrent's). */
export const MIN_PACKET_BYTES = 548
/** Done when the bounds are this close (libutp). */
const DONE_WITHIN_BYTES = 16
const RESEARCH_AFTER_MS = 30 * 60_000
/** A probe goes out only when the window holds this many floor-sized packets, so losses around it tell (libtorrent). */
const PROBE_WINDOW_PACKETS = 3

export interface MtuSearchOptions {
  /** The search starts from min(floorBytes, ceilingBytes). */
  floorBytes: number
  ceilingBytes: number
  nowMs: number
}

export class MtuSearch {
  #startFloor: number
  #startCeiling: number
  #floor: number
  #ceiling: number
  #probeSeq = -1
  #probeBytes = 0
  #researchAtMs = Number.POSITIVE_INFINITY

  constructor(opts: MtuSearchOptions) {
    this.#startCeiling = Math.max(MIN_PACKET_BYTES, opts.ceilingBytes)
    this.#startFloor = Math.max(MIN_PACKET_BYTES, Math.min(opts.floorBytes, this.#startCeiling))
    this.#floor = this.#startFloor
    this.#ceiling = this.#startCeiling
    this.#update(opts.nowMs)
  }

  /** The largest packet known to pass: the size of every packet that is not a probe. */
  get floorBytes(): number {
    return this.#floor
  }

  get ceilingBytes(): number {
    return this.#ceiling
  }

  /** The probe in flight, or -1. */
  get probeSeq(): number {
    return this.#probeSeq
  }

  /** A new ceiling (the peer told us what it takes, or the route changed): the search starts over below it. */
  setCeiling(bytes: number, nowMs: number): void {
    this.#startCeiling = Math.max(MIN_PACKET_BYTES, bytes)
    this.#startFloor = Math.min(this.#startFloor, this.#startCeiling)
    this.#restart(nowMs)
  }

  /** The size to pad the next new packet to as a probe, or 0 when no probe may go out now. */
  probeBytes(windowBytes: number, nowMs: number): number {
    if (nowMs >= this.#researchAtMs) this.#restart(nowMs)
    if (this.#probeSeq === -1 && this.#floor < this.#ceiling && windowBytes > PROBE_WINDOW_PACKETS * this.#floor) {
      return (this.#floor + this.#ceiling) >> 1
    }
    return 0
  }

  /** A new packet of `bytes` went out as `seq`: a probe if it is larger than the floor. */
  handleSent(seq: number, bytes: number): void {
    if (this.#probeSeq === -1 && bytes > this.#floor && bytes <= this.#ceiling) {
      this.#probeSeq = seq
      this.#probeBytes = bytes
    }
  }

  /** `seq` was acknowledged. */
  handleAcked(seq: number, nowMs: number): void {
    if (seq !== this.#probeSeq) return
    this.#floor = Math.max(this.#floor, this.#probeBytes)
    this.#probeSeq = -1
    this.#update(nowMs)
  }

  /** `seq` is presumed lost. True when it was the probe: too big, rather than congestion. */
  handleLost(seq: number, nowMs: number): boolean {
    if (seq !== this.#probeSeq) return false
    this.#ceiling = this.#probeBytes - 1
    this.#probeSeq = -1
    this.#update(nowMs)
    return true
  }

  /**
   * The retransmission timer fired. If the probe was all that was outstanding
   * it was too big; otherwise it went down with the rest and is forgotten.
   */
  handleTimeout(onlyOutstandingSeq: number, nowMs: number): void {
    if (this.#probeSeq === -1) return
    if (onlyOutstandingSeq === this.#probeSeq) this.#ceiling = this.#probeBytes - 1
    this.#probeSeq = -1
    this.#update(nowMs)
  }

  #restart(nowMs: number): void {
    this.#floor = this.#startFloor
    this.#ceiling = this.#startCeiling
    this.#probeSeq = -1
    this.#researchAtMs = Number.POSITIVE_INFINITY
    this.#update(nowMs)
  }

  #update(nowMs: number): void {
    if (this.#ceiling - this.#floor <= DONE_WITHIN_BYTES) {
      this.#ceiling = this.#floor
      if (this.#researchAtMs === Number.POSITIVE_INFINITY) this.#researchAtMs = nowMs + RESEARCH_AFTER_MS
    }
  }
}
