// The bytes written to a uTP connection and not yet put in a packet: the
// chunks as written (never concatenated or copied; a packet is cut from them
// as views, which its datagram is gathered from). Pure.

export class ChunkQueue {
  readonly #chunks: Buffer[] = []
  #head = 0
  /** Bytes waiting. */
  bytes = 0

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.bytes += chunk.length
  }

  /** Removes the next `size` bytes (at most `bytes`), appending them to `out` as views of the written chunks. */
  takeViews(out: Buffer[], size: number): void {
    let at = 0
    while (at < size) {
      const head = this.#chunks[0]
      const n = Math.min(head.length - this.#head, size - at)
      out.push(this.#head === 0 && n === head.length ? head : head.subarray(this.#head, this.#head + n))
      at += n
      this.#head += n
      if (this.#head === head.length) {
        this.#chunks.shift()
        this.#head = 0
      }
    }
    this.bytes -= size
  }

  clear(): void {
    this.#chunks.length = 0
    this.#head = 0
    this.bytes = 0
  }
}
