// Splits a byte stream into newline-ended lines (the control channel's JSON
// lines). Only each new chunk is searched, so a line of many megabytes
// arriving in many chunks costs its length once, not its length squared.

export class LineSplitter {
  #parts: Buffer[] = []
  #partBytes = 0

  /** Bytes of the unfinished line held so far. */
  get pendingBytes(): number {
    return this.#partBytes
  }

  /** The whole lines this chunk completes, as UTF-8 text without their newline. */
  push(chunk: Buffer): string[] {
    const lines: string[] = []
    let from = 0
    let newline: number
    while ((newline = chunk.indexOf(0x0a, from)) >= 0) {
      this.#parts.push(chunk.subarray(from, newline))
      lines.push(Buffer.concat(this.#parts).toString('utf8'))
      this.#parts = []
      this.#partBytes = 0
      from = newline + 1
    }
    if (from < chunk.length) {
      this.#parts.push(chunk.subarray(from))
      this.#partBytes += chunk.length - from
    }
    return lines
  }

  /** Drops the unfinished line. */
  clear(): void {
    this.#parts = []
    this.#partBytes = 0
  }
}
