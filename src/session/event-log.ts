// The session's recent log lines in a small numbered ring: what a process
// hosting a session logs, served over the control channel (`events`) so a
// dashboard, owned or attached, can ask for the lines it has not seen yet.
// Pure bookkeeping: it never prints anything.

export interface LogLine {
  seq: number
  atMs: number
  text: string
}

/** The last `capacity` log lines, numbered so a reader can ask for what it has not seen. */
export class EventLog {
  readonly #lines: LogLine[] = []
  readonly #capacity: number
  #seq = 0

  constructor(capacity = 500) {
    this.#capacity = capacity
  }

  push(text: string): LogLine {
    const line = { seq: ++this.#seq, atMs: Date.now(), text }
    this.#lines.push(line)
    if (this.#lines.length > this.#capacity) this.#lines.shift()
    return line
  }

  /** Lines after `seq` (all kept lines for 0). */
  since(seq: number): LogLine[] {
    const first = this.#lines.findIndex((l) => l.seq > seq)
    return first < 0 ? [] : this.#lines.slice(first)
  }
}
