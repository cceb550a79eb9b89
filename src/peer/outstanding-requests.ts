// The block requests we have outstanding at one peer: each remembered with
// when it was sent until its block, a reject, a cancel or a choke, and written
// as request frames all in one buffer. Kept in a BlockRing (core/block-ring.ts):
// peers answer mostly in order, so a block is found at the head. Pure.
import { BlockRing } from '../core/block-ring.ts'
import type { BlockRef } from '../core/types.ts'

export class OutstandingRequests {
  readonly #ring = new BlockRing()

  get size(): number {
    return this.#ring.size
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
      this.#ring.push(b.index, b.begin, b.length, nowMs)
    }
    return frames
  }

  /**
   * The request for the block at (index, begin), forgotten; undefined when we
   * had none. With `length`, only a request of that length is taken (a block
   * of another size leaves the request outstanding).
   */
  take(index: number, begin: number, length?: number): BlockRef | undefined {
    const found = this.#ring.find(index, begin, length, true)
    return found === 0 ? undefined : { index, begin, length: found }
  }

  /** Forgets one request; false when it was not outstanding. */
  delete(block: BlockRef): boolean {
    return this.#ring.find(block.index, block.begin, undefined, true) !== 0
  }

  /** Forgets every request; returns them, oldest first. */
  clear(): BlockRef[] {
    const blocks: BlockRef[] = []
    this.#ring.clear((index, begin, length) => blocks.push({ index, begin, length }))
    return blocks
  }

  /** The oldest outstanding request's age at `nowMs`, 0 with none. */
  oldestAgeMs(nowMs: number): number {
    return this.#ring.size === 0 ? 0 : nowMs - this.#ring.firstStamp
  }
}
