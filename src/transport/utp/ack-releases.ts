// The release callbacks of written chunks, each waiting until the packet that
// carried the chunk's last byte, and every packet before it, is acknowledged:
// until then a resend may read the chunk's bytes (packets hold views, not
// copies). Pure: the connection says how far the cumulative ACK has come.

import type { ChunkRelease } from './chunk-queue.ts'
import { seqDiff } from './utp-packet.ts'

export class AckReleases {
  #seqs: number[] = []
  #fns: ChunkRelease[] = []
  #head = 0

  get size(): number {
    return this.#fns.length - this.#head
  }

  /** `releases` of chunks whose last byte went out in packet `seqNr` (sequence numbers only grow here). */
  add(seqNr: number, releases: readonly ChunkRelease[]): void {
    for (const release of releases) {
      this.#seqs.push(seqNr)
      this.#fns.push(release)
    }
  }

  /** Calls the callbacks of packets before `sndUna`, the oldest packet not yet acknowledged. */
  ackedBefore(sndUna: number): void {
    while (this.#head < this.#fns.length && seqDiff(sndUna, this.#seqs[this.#head]) > 0) {
      const release = this.#fns[this.#head]
      this.#head++
      release()
    }
    if (this.#head === this.#fns.length) this.#reset()
    else if (this.#head > 1024) {
      this.#seqs = this.#seqs.slice(this.#head)
      this.#fns = this.#fns.slice(this.#head)
      this.#head = 0
    }
  }

  /** The connection is gone: every callback gets `err`. */
  clear(err: Error): void {
    const fns = this.#fns.slice(this.#head)
    this.#reset()
    for (const release of fns) release(err)
  }

  #reset(): void {
    this.#seqs = []
    this.#fns = []
    this.#head = 0
  }
}
