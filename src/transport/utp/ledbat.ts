// LEDBAT congestion control and retransmission timing for one uTP connection
// (BEP 29, RFC 6817), as libutp and libtorrent run it.
// Pure: fed acks, delay samples, losses and timeouts, on an injected clock; it
// never sends a packet. The connection asks it how many bytes may be in flight.
//
// What the window weighs — re-check all of these when changing a rule:
// - one-way queuing delay = the peer's timestamp difference minus the lowest
//   one seen over the last minutes (base delay, kept per minute);
// - slow start (window grows by what was acked) until loss or delay near target;
// - then at most GAIN_BYTES_PER_RTT more per RTT, scaled by (target − delay)/target;
// - past the target the window shrinks by (delay/target − 1) of itself per RTT,
//   at most half (LEDBAT++'s multiplicative decrease: an additive 3000 B/RTT
//   would take minutes to give back a window grown in slow start): uTP yields;
// - no growth while the window is not being used;
// - all in bytes, so packets of any size (MTU discovery changes them) weigh
//   what they carry; the window never drops below one packet;
// - halving on loss, at most once per 100 ms; one packet after a timeout;
// - the peer's advertised window, a zero window re-probed after a timeout.
import type { Clock } from '../../core/clock.ts'

export const TARGET_DELAY_US = 100_000
export const GAIN_BYTES_PER_RTT = 3000
/** libutp keeps 13 one-minute minima; the base delay is the lowest of them. */
const BASE_HISTORY_MINUTES = 13
/** The current delay is the lowest of the last few samples, which smooths one late packet. */
const CURRENT_DELAY_SAMPLES = 3
const LOSS_DECAY_INTERVAL_MS = 100
const INITIAL_RTO_MS = 1000
const MAX_RTO_MS = 60_000
/** No growth unless the window was full within this long. */
const WINDOW_USED_WITHIN_MS = 1000

export interface LedbatOptions {
  clock: Clock
  /** Largest payload per packet. */
  mssBytes: number
  /** Lower bound for the retransmission timeout (BEP 29 leaves 500 ms–1 s). */
  minRtoMs?: number
  /** Upper bound for the congestion window. */
  maxWindowBytes?: number
  initialWindowBytes?: number
  targetDelayUs?: number
}

export class Ledbat {
  readonly #clock: Clock
  #mss: number
  readonly #minRtoMs: number
  readonly #maxWindow: number
  readonly #target: number
  #cwnd: number
  #ssthresh = Number.POSITIVE_INFINITY
  #slowStart = true
  #lastDecayMs = Number.NEGATIVE_INFINITY
  #lastWindowFullMs: number

  // Base delay: one minimum per minute, in a ring.
  readonly #baseMinutes: number[] = []
  #baseMinuteStartMs = Number.NEGATIVE_INFINITY
  readonly #recent: number[] = []

  #rttMs = 0
  #rttVarMs = 0
  #hasRtt = false
  #rtoMs = INITIAL_RTO_MS
  #timeouts = 0

  #peerWindow = Number.POSITIVE_INFINITY
  #zeroWindowProbeAtMs = Number.POSITIVE_INFINITY

  constructor(opts: LedbatOptions) {
    this.#clock = opts.clock
    this.#mss = opts.mssBytes
    this.#minRtoMs = opts.minRtoMs ?? 500
    this.#maxWindow = opts.maxWindowBytes ?? 4 * 1024 * 1024
    this.#target = opts.targetDelayUs ?? TARGET_DELAY_US
    this.#cwnd = opts.initialWindowBytes ?? 2 * this.#mss
    this.#lastWindowFullMs = opts.clock.now()
  }

  /** The congestion window in bytes. */
  get windowBytes(): number {
    return this.#cwnd
  }

  get slowStart(): boolean {
    return this.#slowStart
  }

  get rtoMs(): number {
    return this.#rtoMs
  }

  get rttMs(): number {
    return this.#rttMs
  }

  /** Timeouts in a row since the last ack that moved things forward. */
  get consecutiveTimeouts(): number {
    return this.#timeouts
  }

  /** Queuing delay above the base, in µs (0 before any sample). */
  get queuingDelayUs(): number {
    if (this.#recent.length === 0) return 0
    const base = this.#baseDelay()
    let lowest = Number.POSITIVE_INFINITY
    for (const s of this.#recent) lowest = Math.min(lowest, (s - base) >>> 0)
    return lowest
  }

  /**
   * Bytes that may be in flight now: the smaller of our window and the peer's.
   * A peer window of 0 allows nothing until a probe falls due, then one packet.
   */
  sendWindowBytes(): number {
    if (this.#peerWindow === 0) return this.#clock.now() >= this.#zeroWindowProbeAtMs ? this.#mss : 0
    return Math.min(this.#cwnd, this.#peerWindow)
  }

  /** The packet size changed (MTU discovery): the window never holds less than one packet (libtorrent). */
  setMss(bytes: number): void {
    this.#mss = bytes
    if (this.#cwnd < bytes) this.#cwnd = bytes
  }

  /** The connection could not send because the window was full: growth is earned. */
  handleWindowFull(): void {
    this.#lastWindowFullMs = this.#clock.now()
  }

  /** The peer's advertised receive window from any packet it sent. */
  handlePeerWindow(bytes: number): void {
    if (bytes === 0) {
      if (this.#peerWindow !== 0) this.#zeroWindowProbeAtMs = this.#clock.now() + this.#rtoMs
    } else {
      this.#zeroWindowProbeAtMs = Number.POSITIVE_INFINITY
    }
    this.#peerWindow = bytes
  }

  /** A zero-window probe went out; the next one waits another timeout. */
  handleProbeSent(): void {
    if (this.#peerWindow === 0) this.#zeroWindowProbeAtMs = this.#clock.now() + this.#rtoMs
  }

  /**
   * The peer's one-way delay measurement (its timestamp difference, µs, taken
   * from any packet it sent). 0 means "none".
   */
  handleDelaySample(delayUs: number): void {
    if (delayUs === 0) return
    const now = this.#clock.now()
    if (now - this.#baseMinuteStartMs >= 60_000 || this.#baseMinutes.length === 0) {
      this.#baseMinutes.push(delayUs)
      if (this.#baseMinutes.length > BASE_HISTORY_MINUTES) this.#baseMinutes.shift()
      this.#baseMinuteStartMs = now
    } else {
      const last = this.#baseMinutes.length - 1
      if (wrappedLess(delayUs, this.#baseMinutes[last])) this.#baseMinutes[last] = delayUs
    }
    this.#recent.push(delayUs)
    if (this.#recent.length > CURRENT_DELAY_SAMPLES) this.#recent.shift()
  }

  /** An RTT measured on a packet sent only once (Karn), in ms. */
  handleRttSample(rttMs: number): void {
    if (!this.#hasRtt) {
      this.#rttMs = rttMs
      this.#rttVarMs = rttMs / 2
      this.#hasRtt = true
    } else {
      this.#rttVarMs += (Math.abs(this.#rttMs - rttMs) - this.#rttVarMs) / 4
      this.#rttMs += (rttMs - this.#rttMs) / 8
    }
    this.#rtoMs = Math.max(this.#rttMs + 4 * this.#rttVarMs, this.#minRtoMs)
  }

  /** `bytes` of new data were acknowledged (0 for a SYN or FIN: progress all the same). */
  handleAck(bytes: number): void {
    this.#timeouts = 0
    if (this.#hasRtt) this.#rtoMs = Math.max(this.#rttMs + 4 * this.#rttVarMs, this.#minRtoMs)
    if (bytes <= 0) return
    const now = this.#clock.now()
    const delay = this.queuingDelayUs
    const windowFactor = Math.min(bytes, this.#cwnd) / Math.max(this.#cwnd, bytes)
    const delayFactor = (this.#target - delay) / this.#target
    let gain = delayFactor >= 0
      ? GAIN_BYTES_PER_RTT * windowFactor * delayFactor
      : -Math.min(0.5, -delayFactor) * Math.min(bytes, this.#cwnd)
    if (gain > 0 && now - this.#lastWindowFullMs > WINDOW_USED_WITHIN_MS) gain = 0
    const ledbatWindow = Math.max(this.#mss, this.#cwnd + gain)
    if (this.#slowStart) {
      const ssWindow = this.#cwnd + bytes
      if (ssWindow > this.#ssthresh) {
        this.#slowStart = false
        this.#cwnd = ledbatWindow
      } else if (delay > this.#target * 0.9) {
        this.#slowStart = false
        this.#ssthresh = this.#cwnd
        this.#cwnd = ledbatWindow
      } else {
        this.#cwnd = now - this.#lastWindowFullMs > WINDOW_USED_WITHIN_MS ? ledbatWindow : Math.max(ssWindow, ledbatWindow)
      }
    } else {
      this.#cwnd = ledbatWindow
    }
    this.#cwnd = Math.min(this.#cwnd, this.#maxWindow)
  }

  /** A packet was lost (three later ones acknowledged): halve, at most once per 100 ms. */
  handleLoss(): void {
    const now = this.#clock.now()
    if (now - this.#lastDecayMs < LOSS_DECAY_INTERVAL_MS) return
    this.#lastDecayMs = now
    this.#cwnd = Math.max(this.#cwnd / 2, this.#mss)
    this.#ssthresh = this.#cwnd
    this.#slowStart = false
  }

  /**
   * The retransmission timer fired with packets outstanding: back to one
   * packet, the timeout doubles. Returns the number of timeouts in a row.
   */
  handleTimeout(): number {
    this.#timeouts++
    this.#ssthresh = Math.max(this.#cwnd / 2, 2 * this.#mss)
    this.#cwnd = this.#mss
    this.#slowStart = true
    this.#lastDecayMs = this.#clock.now()
    this.#rtoMs = Math.min(this.#rtoMs * 2, MAX_RTO_MS)
    return this.#timeouts
  }

  #baseDelay(): number {
    let base = this.#baseMinutes[0]
    for (const m of this.#baseMinutes) if (wrappedLess(m, base)) base = m
    return base
  }
}

/** a < b for 32-bit µs values that may have wrapped (the peer's clock is arbitrary). */
function wrappedLess(a: number, b: number): boolean {
  return ((b - a) >>> 0) !== 0 && ((b - a) >>> 0) < 0x80000000
}
