// The block requests we have outstanding at one peer: each remembered with
// when it was sent until its block, a reject, a cancel or a choke, and written
// as request frames all in one buffer. Pure.
//
// Kept in a ring of typed arrays, oldest first, not in a Map of objects: a
// request lives a round trip, long enough for V8 to promote a Map entry (and a
// key past 2^30, a heap number) to the old generation, where every block of a
// fast download left garbage for the next full GC (issue 15). Peers answer
// mostly in order, so a block is found at the head; one taken from the middle
// leaves a hole that is skipped, and the holes are squeezed out when the ring
// is full.
import type { BlockRef } from '../core/types.ts'

const INITIAL_SLOTS = 64

export class OutstandingRequests {
  #index = new Uint32Array(INITIAL_SLOTS)
  #begin = new Uint32Array(INITIAL_SLOTS)
  /** 0 marks a hole: a request taken out of order (a real block is never empty). */
  #length = new Uint32Array(INITIAL_SLOTS)
  #sentAt = new Float64Array(INITIAL_SLOTS)
  /** The oldest slot in use; when #span > 0 it is never a hole. */
  #head = 0
  /** Slots from the head to the newest, holes included. */
  #span = 0
  #live = 0

  get size(): number {
    return this.#live
  }

  /** Remembers `blocks` as sent at `nowMs`; returns their request messages, one buffer. */
  add(blocks: BlockRef[], nowMs: number): Buffer {
    const frames = Buffer.allocUnsafe(17 * blocks.length)
    let off = 0
    for (const b of blocks) {
      // <len=0013><id=6><index><begin><length>
      frames.writeUInt32BE(13, off)
      frames[off + 4] = 6
      frames.writeUInt32BE(b.index, off + 5)
      frames.writeUInt32BE(b.begin, off + 9)
      frames.writeUInt32BE(b.length, off + 13)
      off += 17
      this.#push(b.index, b.begin, b.length, nowMs)
    }
    return frames
  }

  /**
   * The request for the block at (index, begin), forgotten; undefined when we
   * had none. With `length`, only a request of that length is taken (a block
   * of another size leaves the request outstanding).
   */
  take(index: number, begin: number, length?: number): BlockRef | undefined {
    const slot = this.#find(index, begin)
    if (slot < 0) return undefined
    const found = this.#length[slot]
    if (length !== undefined && length !== found) return undefined
    this.#remove(slot)
    return { index, begin, length: found }
  }

  /** Forgets one request; false when it was not outstanding. */
  delete(block: BlockRef): boolean {
    const slot = this.#find(block.index, block.begin)
    if (slot < 0) return false
    this.#remove(slot)
    return true
  }

  /** Forgets every request; returns them, oldest first. */
  clear(): BlockRef[] {
    const blocks: BlockRef[] = []
    const mask = this.#index.length - 1
    for (let k = 0; k < this.#span; k++) {
      const s = (this.#head + k) & mask
      if (this.#length[s] !== 0) blocks.push({ index: this.#index[s], begin: this.#begin[s], length: this.#length[s] })
    }
    this.#head = 0
    this.#span = 0
    this.#live = 0
    return blocks
  }

  /** The oldest outstanding request's age at `nowMs`, 0 with none. */
  oldestAgeMs(nowMs: number): number {
    return this.#live === 0 ? 0 : nowMs - this.#sentAt[this.#head]
  }

  #find(index: number, begin: number): number {
    const mask = this.#index.length - 1
    for (let k = 0; k < this.#span; k++) {
      const s = (this.#head + k) & mask
      if (this.#begin[s] === begin && this.#index[s] === index && this.#length[s] !== 0) return s
    }
    return -1
  }

  #push(index: number, begin: number, length: number, nowMs: number): void {
    if (this.#span === this.#index.length) this.#repack()
    const s = (this.#head + this.#span) & (this.#index.length - 1)
    this.#index[s] = index
    this.#begin[s] = begin
    this.#length[s] = length
    this.#sentAt[s] = nowMs
    this.#span++
    this.#live++
  }

  #remove(slot: number): void {
    const mask = this.#index.length - 1
    this.#length[slot] = 0
    this.#live--
    while (this.#span > 0 && this.#length[this.#head] === 0) {
      this.#head = (this.#head + 1) & mask
      this.#span--
    }
    while (this.#span > 0 && this.#length[(this.#head + this.#span - 1) & mask] === 0) this.#span--
  }

  /** The ring is full: the live requests, in order, into a ring twice as large when at least half are live. */
  #repack(): void {
    const old = { index: this.#index, begin: this.#begin, length: this.#length, sentAt: this.#sentAt }
    const mask = old.index.length - 1
    const slots = this.#live * 2 > old.index.length ? old.index.length * 2 : old.index.length
    this.#index = new Uint32Array(slots)
    this.#begin = new Uint32Array(slots)
    this.#length = new Uint32Array(slots)
    this.#sentAt = new Float64Array(slots)
    let n = 0
    for (let k = 0; k < this.#span; k++) {
      const s = (this.#head + k) & mask
      if (old.length[s] === 0) continue
      this.#index[n] = old.index[s]
      this.#begin[n] = old.begin[s]
      this.#length[n] = old.length[s]
      this.#sentAt[n] = old.sentAt[s]
      n++
    }
    this.#head = 0
    this.#span = n
  }
}
