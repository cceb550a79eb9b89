// The block requests we have outstanding at one peer: each remembered with
// when it was sent until its block, a reject, a cancel or a choke, and written
// as request frames all in one buffer. Pure.
import type { BlockRef } from '../core/types.ts'

interface Outstanding {
  block: BlockRef
  sentAtMs: number
}

export class OutstandingRequests {
  readonly #map = new Map<number, Outstanding>()

  get size(): number {
    return this.#map.size
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
      this.#map.set(blockKey(b.index, b.begin), { block: b, sentAtMs: nowMs })
    }
    return frames
  }

  /** The request for the block at (index, begin), forgotten; undefined when we had none. */
  take(index: number, begin: number): BlockRef | undefined {
    const key = blockKey(index, begin)
    const o = this.#map.get(key)
    if (o) this.#map.delete(key)
    return o?.block
  }

  /** The request as it stands, still outstanding; undefined when we had none. */
  get(index: number, begin: number): BlockRef | undefined {
    return this.#map.get(blockKey(index, begin))?.block
  }

  /** Forgets one request; false when it was not outstanding. */
  delete(block: BlockRef): boolean {
    return this.#map.delete(blockKey(block.index, block.begin))
  }

  /** Forgets every request; returns them, oldest first. */
  clear(): BlockRef[] {
    const blocks = [...this.#map.values()].map((o) => o.block)
    this.#map.clear()
    return blocks
  }

  /** The oldest outstanding request's age at `nowMs`, 0 with none. */
  oldestAgeMs(nowMs: number): number {
    for (const o of this.#map.values()) return nowMs - o.sentAtMs
    return 0
  }
}

/** A block as one number: begin < 64 MiB = 2^26 (the largest piece we accept), so index·2^26 + begin is unique. */
function blockKey(index: number, begin: number): number {
  return index * 0x4000000 + begin
}
