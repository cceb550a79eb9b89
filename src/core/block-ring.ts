// Block requests (index, begin, length, and a time) oldest first, in a ring of
// typed arrays, not as objects: a request waits a round trip or a peer's
// backlog, long enough for an object to reach V8's old generation and die
// there (issue 15, README "Memory"). Requests mostly leave from the head; one
// taken from the middle leaves a hole that is skipped, and the holes are
// squeezed out when the ring is full. The requests a peer has outstanding
// (peer/outstanding-requests.ts) and those it queued with us
// (torrent/block-request-queue.ts) are both kept here. Pure.

const INITIAL_SLOTS = 32

export class BlockRing {
  #index = new Uint32Array(INITIAL_SLOTS)
  #begin = new Uint32Array(INITIAL_SLOTS)
  /** 0 marks a hole (a real block is never empty). */
  #length = new Uint32Array(INITIAL_SLOTS)
  #stamp = new Float64Array(INITIAL_SLOTS)
  /** The oldest slot in use; when #span > 0 it is never a hole. */
  #head = 0
  /** Slots from the head to the newest, holes included. */
  #span = 0
  #live = 0

  /** Requests held. */
  get size(): number {
    return this.#live
  }

  /** The oldest request's fields; only while size > 0. */
  get firstIndex(): number {
    return this.#index[this.#head]
  }

  get firstBegin(): number {
    return this.#begin[this.#head]
  }

  get firstLength(): number {
    return this.#length[this.#head]
  }

  get firstStamp(): number {
    return this.#stamp[this.#head]
  }

  /** Appends a request (`length` > 0). */
  push(index: number, begin: number, length: number, stamp = 0): void {
    if (this.#span === this.#index.length) this.#repack()
    const s = (this.#head + this.#span) & (this.#index.length - 1)
    this.#index[s] = index
    this.#begin[s] = begin
    this.#length[s] = length
    this.#stamp[s] = stamp
    this.#span++
    this.#live++
  }

  /** The oldest request at (index, begin), of `length` when given: its length, 0 when there is none. Taken out when `take`. */
  find(index: number, begin: number, length: number | undefined, take: boolean): number {
    const mask = this.#index.length - 1
    for (let k = 0; k < this.#span; k++) {
      const s = (this.#head + k) & mask
      const found = this.#length[s]
      if (this.#begin[s] !== begin || this.#index[s] !== index || found === 0 || (length !== undefined && found !== length)) continue
      if (take) this.#remove(s)
      return found
    }
    return 0
  }

  /** Drops the oldest request. */
  shift(): void {
    if (this.#live > 0) this.#remove(this.#head)
  }

  /** Every request, oldest first, as `visit` arguments; then none. */
  clear(visit?: (index: number, begin: number, length: number) => void): void {
    const mask = this.#index.length - 1
    if (visit) {
      for (let k = 0; k < this.#span; k++) {
        const s = (this.#head + k) & mask
        if (this.#length[s] !== 0) visit(this.#index[s], this.#begin[s], this.#length[s])
      }
    }
    this.#head = 0
    this.#span = 0
    this.#live = 0
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

  /** The ring is full: the live requests, in order, into a ring twice as large when more than half are live. */
  #repack(): void {
    const old = { index: this.#index, begin: this.#begin, length: this.#length, stamp: this.#stamp }
    const mask = old.index.length - 1
    const slots = this.#live * 2 > old.index.length ? old.index.length * 2 : old.index.length
    this.#index = new Uint32Array(slots)
    this.#begin = new Uint32Array(slots)
    this.#length = new Uint32Array(slots)
    this.#stamp = new Float64Array(slots)
    let n = 0
    for (let k = 0; k < this.#span; k++) {
      const s = (this.#head + k) & mask
      if (old.length[s] === 0) continue
      this.#index[n] = old.index[s]
      this.#begin[n] = old.begin[s]
      this.#length[n] = old.length[s]
      this.#stamp[n] = old.stamp[s]
      n++
    }
    this.#head = 0
    this.#span = n
  }
}
