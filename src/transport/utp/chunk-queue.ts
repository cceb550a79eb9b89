// The bytes written to a uTP connection and not yet put in a packet: the
// chunks as written (never concatenated), and the one copy each byte costs
// when a packet is cut from them. A chunk may carry a release callback, called
// once its last byte is in a packet (or the queue is cleared), so its writer
// may reuse the buffer. Pure.

export type ChunkRelease = (err?: Error | null) => void

export class ChunkQueue {
  readonly #chunks: Buffer[] = []
  /** Release callbacks, index for index with #chunks (undefined: none). */
  readonly #releases: (ChunkRelease | undefined)[] = []
  #head = 0
  /** Bytes waiting. */
  bytes = 0

  push(chunk: Buffer, release?: ChunkRelease): void {
    if (chunk.length === 0) {
      release?.()
      return
    }
    this.#chunks.push(chunk)
    this.#releases.push(release)
    this.bytes += chunk.length
  }

  /** Moves the next `size` bytes (at most `bytes`) into `out` at `offset`. */
  takeInto(out: Buffer, offset: number, size: number): void {
    let at = 0
    while (at < size) {
      const head = this.#chunks[0]
      const n = Math.min(head.length - this.#head, size - at)
      head.copy(out, offset + at, this.#head, this.#head + n)
      at += n
      this.#head += n
      if (this.#head === head.length) {
        this.#chunks.shift()
        this.#head = 0
        this.#releases.shift()?.()
      }
    }
    this.bytes -= size
  }

  /** Forgets every chunk; their release callbacks get `err`. */
  clear(err: Error = new Error('uTP connection closed')): void {
    const releases = this.#releases.splice(0)
    this.#chunks.length = 0
    this.#head = 0
    this.bytes = 0
    for (const release of releases) release?.(err)
  }
}
