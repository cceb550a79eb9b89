// A first-in first-out queue with a fixed capacity, the buffer between two
// crawler stages: a full queue refuses (the stage before it waits or drops),
// so no stage can make another hold an unbounded backlog.

export class BoundedQueue<T> {
  readonly capacity: number
  #items: T[] = []
  #head = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive whole number, got ${capacity}`)
    this.capacity = capacity
  }

  get size(): number {
    return this.#items.length - this.#head
  }

  get free(): number {
    return this.capacity - this.size
  }

  /** False (and nothing added) when full. */
  push(item: T): boolean {
    if (this.size >= this.capacity) return false
    this.#items.push(item)
    return true
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined as T
    // Compact once the consumed front is half the array, so memory follows the size.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Takes every item out. */
  drain(): T[] {
    const all = this.#items.slice(this.#head)
    this.#items = []
    this.#head = 0
    return all
  }
}
