// Wanted pieces that nobody has started yet, bucketed by availability, for one
// priority level: finding the rarest bucket costs O(buckets), not O(pieces).
// Storage only: it never decides what to pick and knows nothing of peers.

export class RarityBuckets {
  readonly id: number
  readonly priority: number
  /** Shared by every level: slot of a piece inside its bucket, -1 when in none. */
  readonly #slotOf: Int32Array
  readonly #buckets: number[][] = []
  #size = 0

  constructor(id: number, priority: number, slotOf: Int32Array) {
    this.id = id
    this.priority = priority
    this.#slotOf = slotOf
  }

  get size(): number {
    return this.#size
  }

  /** One past the highest availability a bucket exists for. */
  get bucketCount(): number {
    return this.#buckets.length
  }

  bucketSize(availability: number): number {
    return availability < this.#buckets.length ? this.#buckets[availability].length : 0
  }

  /** The piece at `slot` of a bucket; slots are in no meaningful order. */
  at(availability: number, slot: number): number {
    return this.#buckets[availability][slot]
  }

  add(index: number, availability: number): void {
    while (this.#buckets.length <= availability) this.#buckets.push([])
    const bucket = this.#buckets[availability]
    this.#slotOf[index] = bucket.length
    bucket.push(index)
    this.#size++
  }

  /** Swap-remove, O(1). `availability` must be the bucket the piece is in. */
  remove(index: number, availability: number): void {
    const bucket = this.#buckets[availability]
    const slot = this.#slotOf[index]
    const last = bucket.pop()!
    if (last !== index) {
      bucket[slot] = last
      this.#slotOf[last] = slot
    }
    this.#slotOf[index] = -1
    this.#size--
  }

  move(index: number, from: number, to: number): void {
    this.remove(index, from)
    this.add(index, to)
  }
}
