// The bytes written to a uTP connection and not yet put in a packet: the
// chunks as written (never concatenated or copied; a packet is cut from them
// as views, which its datagram is gathered from). A chunk may carry a release
// callback, handed back once its last byte is in a packet: the connection calls
// it when those packets are acknowledged (or it closes), since a resend reads
// the same views. Pure.

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

  /**
   * Removes the next `size` bytes (at most `bytes`), appending them to `out` as views of the written
   * chunks; the release callbacks of chunks wholly taken go to `released`.
   */
  takeViews(out: Buffer[], size: number, released: ChunkRelease[]): void {
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
        const release = this.#releases.shift()
        if (release) released.push(release)
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
