// The receiving half of a uTP connection: the cumulative ack_nr, the reorder
// ring of packets that arrived ahead of it, the peer's FIN, and the receive
// window we advertise. Payload goes to the stream in order, each byte once.
// Pure: the socket feeds it DATA and FIN packets and writes what it says.
import { ReorderBuffer } from './reorder-buffer.ts'
import { ST_FIN, seqDiff, type UtpPacketView } from './utp-packet.ts'

/** What we advertise while nothing is buffered. */
export const RECV_WINDOW_BYTES = 4 * 1024 * 1024

export class ReceivePath {
  /** The last sequence number delivered in order: what our packets acknowledge. */
  ackNr = 0
  /** Packets ahead of ackNr; a STATE's selective ACK is written from it. */
  readonly reorder: ReorderBuffer
  readonly #ring: number
  #eofSeq = -1
  /** The peer's FIN was delivered: the stream has ended. */
  ended = false
  #lastAdvertised = RECV_WINDOW_BYTES

  constructor(ring: number) {
    this.#ring = ring
    this.reorder = new ReorderBuffer(ring)
  }

  /**
   * A DATA or FIN packet: payload now in order goes to `push`, then null when
   * the peer's FIN is reached. Returns true when this packet ended the stream.
   */
  handleData(p: UtpPacketView, buf: Buffer, push: (chunk: Buffer | null) => void): boolean {
    if (p.type === ST_FIN && this.#eofSeq === -1) this.#eofSeq = p.seqNr
    const d = seqDiff(p.seqNr, (this.ackNr + 1) & 0xffff)
    if (d < 0 || d >= this.#ring) return false
    if (this.#eofSeq !== -1 && seqDiff(p.seqNr, this.#eofSeq) > 0) return false
    if (d > 0) {
      this.reorder.store(p.seqNr, buf.subarray(p.payloadOffset))
      return false
    }
    let endedNow = this.#deliver(p.seqNr, buf.subarray(p.payloadOffset), push)
    for (;;) {
      const next = (this.ackNr + 1) & 0xffff
      const payload = this.reorder.take(next)
      if (payload === undefined) break
      if (this.#deliver(next, payload, push)) endedNow = true
    }
    return endedNow
  }

  #deliver(seq: number, payload: Buffer, push: (chunk: Buffer | null) => void): boolean {
    this.ackNr = seq
    if (payload.length > 0 && !this.ended) push(payload)
    if (seq === this.#eofSeq && !this.ended) {
      this.ended = true
      push(null)
      return true
    }
    return false
  }

  /** The window we would advertise now, given what the stream's consumer has not read yet. */
  advertisedWindow(readableLength: number): number {
    return Math.max(0, RECV_WINDOW_BYTES - this.reorder.bufferedBytes - readableLength)
  }

  /** The window for a packet going out now, remembered for windowReopened. */
  windowToAdvertise(readableLength: number): number {
    this.#lastAdvertised = this.advertisedWindow(readableLength)
    return this.#lastAdvertised
  }

  /** The consumer read enough that a window we advertised as (nearly) closed is open again: worth an ACK. */
  windowReopened(readableLength: number): boolean {
    return this.#lastAdvertised < RECV_WINDOW_BYTES / 2 && this.advertisedWindow(readableLength) >= RECV_WINDOW_BYTES / 2
  }

  clear(): void {
    this.reorder.clear()
  }
}
