// Reusable fixed-size buffers, so assembling pieces at hundreds of MB/s does
// not hand the garbage collector a new buffer for every piece.
// It never zeroes memory: callers overwrite what they use. BufferPools keeps
// one pool per size for many users (a session's torrents), so free buffers
// are kept once per size, not once per user.

export class BufferPool {
  readonly size: number
  readonly #free: Buffer[] = []
  #maxFree: number

  constructor(size: number, maxFree = 16) {
    this.size = size
    this.#maxFree = maxFree
  }

  acquire(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size)
  }

  release(buffer: Buffer): void {
    if (buffer.length === this.size && this.#free.length < this.#maxFree) this.#free.push(buffer)
  }

  /** Keeps up to `maxFree` free buffers, if that is more than it kept. */
  keepAtLeast(maxFree: number): void {
    this.#maxFree = Math.max(this.#maxFree, maxFree)
  }

  /** Lets the GC have every free buffer (a torrent done downloading assembles no more pieces). */
  drain(): void {
    this.#free.length = 0
  }

  /** Buffers waiting for reuse. */
  get freeCount(): number {
    return this.#free.length
  }
}

/** One pool per buffer size, shared by its users: each gets the pool of its size, keeping as many free as the most any of them asks. */
export class BufferPools {
  readonly #pools = new Map<number, BufferPool>()

  get(size: number, maxFree: number): BufferPool {
    let pool = this.#pools.get(size)
    if (!pool) this.#pools.set(size, (pool = new BufferPool(size, maxFree)))
    else pool.keepAtLeast(maxFree)
    return pool
  }
}
