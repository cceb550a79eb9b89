// A uTP connection's packets that arrived ahead of a missing one, kept by
// sequence number until the gap fills, and the selective ACK that tells the
// sender which ones we hold. Pure: no socket, no clock.
import { seqDiff, writeSack } from './utp-packet.ts'

export class ReorderBuffer {
  readonly #slots: (Buffer | undefined)[]
  readonly #mask: number
  /** Payload bytes held. */
  bufferedBytes = 0
  /** Packets held. */
  count = 0

  /** `size`: a power of two, the furthest ahead of the next expected packet one may be. */
  constructor(readonly size: number) {
    this.#slots = new Array(size)
    this.#mask = size - 1
  }

  has(seqNr: number): boolean {
    return this.#slots[seqNr & this.#mask] !== undefined
  }

  /** Keeps `payload` (a view into its datagram, not copied) unless one is already held for `seqNr`. */
  store(seqNr: number, payload: Buffer): void {
    const slot = seqNr & this.#mask
    if (this.#slots[slot] !== undefined) return
    this.#slots[slot] = payload
    this.bufferedBytes += payload.length
    this.count++
  }

  /** Removes and returns the payload held for `seqNr`, if any. */
  take(seqNr: number): Buffer | undefined {
    if (this.count === 0) return undefined
    const slot = seqNr & this.#mask
    const payload = this.#slots[slot]
    if (payload === undefined) return undefined
    this.#slots[slot] = undefined
    this.bufferedBytes -= payload.length
    this.count--
    return payload
  }

  /** Bitmask bytes (a multiple of 4, at most `maxBytes`) a selective ACK after `ackNr` needs; 0 when nothing is held. */
  sackBytes(ackNr: number, maxBytes: number): number {
    if (this.count === 0) return 0
    let last = 0
    for (let i = 0; i < maxBytes * 8; i++) if (this.has((ackNr + 2 + i) & 0xffff)) last = i + 1
    return Math.min(maxBytes, Math.ceil(last / 32) * 4)
  }

  writeSack(out: Buffer, offset: number, lengthBytes: number, ackNr: number): void {
    writeSack(out, offset, lengthBytes, ackNr, (s) => this.has(s) && seqDiff(s, ackNr) > 0)
  }

  clear(): void {
    this.#slots.fill(undefined)
    this.bufferedBytes = 0
    this.count = 0
  }
}
