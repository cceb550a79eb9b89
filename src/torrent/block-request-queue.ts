// One peer's queued block requests, first in first out, at most `capacity`,
// kept in a BlockRing (core/block-ring.ts) as numbers, not objects: requests
// wait tens of milliseconds behind a fast peer's backlog, long enough for
// objects to reach V8's old generation and die there (issue 15).
// It never validates a request: the uploader does, before push.
import { BlockRing } from '../core/block-ring.ts'

export class BlockRequestQueue {
  readonly #capacity: number
  readonly #ring = new BlockRing()

  /** `capacity`: requests it may hold; push refuses more. */
  constructor(capacity: number) {
    this.#capacity = capacity
  }

  get length(): number {
    return this.#ring.size
  }

  get full(): boolean {
    return this.#ring.size >= this.#capacity
  }

  /** Appends a request; false (and nothing kept) when the queue is full. */
  push(index: number, begin: number, length: number): boolean {
    if (this.full) return false
    this.#ring.push(index, begin, length)
    return true
  }

  /** The first request's fields; only while length > 0. */
  get firstIndex(): number {
    return this.#ring.firstIndex
  }

  get firstBegin(): number {
    return this.#ring.firstBegin
  }

  get firstLength(): number {
    return this.#ring.firstLength
  }

  /** Drops the first request. */
  shift(): void {
    this.#ring.shift()
  }

  clear(): void {
    this.#ring.clear()
  }

  /** Removes the first request equal to this one, keeping the others' order; false when none is. */
  remove(index: number, begin: number, length: number): boolean {
    return this.#ring.find(index, begin, length, true) !== 0
  }
}
