// Which sent packets a uTP connection learns are lost before any timeout
// (fast retransmit): one with three or more packets after it selectively
// acknowledged (a resent one again only once two round trips have passed),
// and the oldest unacknowledged one at the third duplicate ACK. Marks them in
// the send ring; the connection resends them and tells congestion control.
import type { SendRing } from './send-ring.ts'
import { seqDiff } from './utp-packet.ts'

const DUP_ACKS_FOR_LOSS = 3

export class FastRetransmit {
  #dupAcks = 0
  #lastAckSeen = -1

  /**
   * After a selective ACK whose highest acknowledged packet is `highest`: marks
   * lost, from it down to `sndUna`, each packet with DUP_ACKS_FOR_LOSS or more
   * acknowledged after it, calling `onLost` with each one's sequence number.
   */
  scanSack(out: SendRing, highest: number, sndUna: number, rttMs: number, now: number, onLost: (seq: number) => void): void {
    let above = 0
    // A resent packet still missing two round trips later was lost again.
    const again = Math.max(2 * rttMs, 10)
    for (let s = highest; seqDiff(s, sndUna) >= 0; s = (s - 1) & 0xffff) {
      const o = out.get(s)
      if (!o) above++
      else if (above >= DUP_ACKS_FOR_LOSS && !o.needResend && (!o.fastResent || now - o.sentAtMs > again)) {
        out.markLost(o)
        onLost(s)
      }
    }
  }

  /**
   * Counts duplicate ACKs (the same ack_nr in a STATE, nothing new acknowledged,
   * data outstanding): at the third, marks the packet at `sndUna` lost and
   * returns true (false when it was already being resent). `progressed`: the
   * cumulative ACK moved, which resets the count.
   */
  handleAck(out: SendRing, ackNr: number, duplicateCandidate: boolean, progressed: boolean, sndUna: number): boolean {
    let lost = false
    if (!progressed && duplicateCandidate && ackNr === this.#lastAckSeen) {
      if (++this.#dupAcks === DUP_ACKS_FOR_LOSS) {
        const o = out.get(sndUna)
        if (o && !o.fastResent && !o.needResend) {
          out.markLost(o)
          lost = true
        }
      }
    } else if (progressed) {
      this.#dupAcks = 0
    }
    this.#lastAckSeen = ackNr
    return lost
  }
}
