// Reusable fixed-size buffers, so assembling pieces at hundreds of MB/s does
// not hand the garbage collector a new buffer for every piece.
// It never zeroes memory: callers overwrite what they use.

export class BufferPool {
  readonly size: number
  readonly #free: Buffer[] = []
  readonly #maxFree: number

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

  /** Lets the GC have every free buffer (a torrent done downloading assembles no more pieces). */
  drain(): void {
    this.#free.length = 0
  }

  /** Buffers waiting for reuse. */
  get freeCount(): number {
    return this.#free.length
  }
}
