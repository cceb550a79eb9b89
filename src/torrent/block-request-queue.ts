// One peer's queued block requests, first in first out, as (index, begin,
// length) triples in a ring of one Int32Array that doubles up to a fixed
// capacity. A queued request is three numbers, not an object: requests wait
// tens of milliseconds behind a fast peer's backlog, long enough for objects to
// reach V8's old generation and die there (issue 15, README "Memory").
// It never validates a request: the uploader does, before push.

const INITIAL_REQUESTS = 32

export class BlockRequestQueue {
  readonly #capacity: number
  #slots: Int32Array
  /** Ring position (in requests) of the first request. */
  #head = 0
  #length = 0

  /** `capacity`: requests it may hold; push refuses more. Values must fit in an int32 (callers check them first). */
  constructor(capacity: number) {
    this.#capacity = capacity
    this.#slots = new Int32Array(3 * Math.min(capacity, INITIAL_REQUESTS))
  }

  get length(): number {
    return this.#length
  }

  get full(): boolean {
    return this.#length >= this.#capacity
  }

  /** Appends a request; false (and nothing kept) when the queue is full. */
  push(index: number, begin: number, length: number): boolean {
    if (this.#length >= this.#capacity) return false
    if (this.#length * 3 === this.#slots.length) this.#grow()
    const at = this.#at(this.#length)
    this.#slots[at] = index
    this.#slots[at + 1] = begin
    this.#slots[at + 2] = length
    this.#length++
    return true
  }

  /** The first request's fields; only while length > 0. */
  get firstIndex(): number {
    return this.#slots[3 * this.#head]
  }

  get firstBegin(): number {
    return this.#slots[3 * this.#head + 1]
  }

  get firstLength(): number {
    return this.#slots[3 * this.#head + 2]
  }

  /** Drops the first request. */
  shift(): void {
    if (this.#length === 0) return
    this.#head = (this.#head + 1) % (this.#slots.length / 3)
    this.#length--
  }

  clear(): void {
    this.#head = 0
    this.#length = 0
  }

  /** Removes the first request equal to this one, keeping the others' order; false when none is. */
  remove(index: number, begin: number, length: number): boolean {
    const slots = this.#slots
    for (let n = 0; n < this.#length; n++) {
      const at = this.#at(n)
      if (slots[at] !== index || slots[at + 1] !== begin || slots[at + 2] !== length) continue
      for (let m = n; m < this.#length - 1; m++) {
        const to = this.#at(m)
        const from = this.#at(m + 1)
        slots[to] = slots[from]
        slots[to + 1] = slots[from + 1]
        slots[to + 2] = slots[from + 2]
      }
      this.#length--
      return true
    }
    return false
  }

  /** Slot offset of the n-th request from the head. */
  #at(n: number): number {
    return 3 * ((this.#head + n) % (this.#slots.length / 3))
  }

  #grow(): void {
    const bigger = new Int32Array(Math.min(2 * this.#slots.length, 3 * this.#capacity))
    for (let n = 0; n < this.#length; n++) bigger.set(this.#slots.subarray(this.#at(n), this.#at(n) + 3), 3 * n)
    this.#slots = bigger
    this.#head = 0
  }
}
