// Wanted pieces that nobody has started yet, bucketed by availability, for one
// priority level: finding the rarest bucket costs O(buckets), not O(pieces).
// Storage only: it never decides what to pick and knows nothing of peers.
// Each bucket is an Int32Array grown by doubling (shrunk when a quarter full):
// 4 bytes a piece, where an array of numbers took 8 and more as it grew.

/** A bucket's first capacity; never shrunk below it. */
const MIN_CAPACITY = 16

export class RarityBuckets {
  readonly id: number
  readonly priority: number
  /** Shared by every level: slot of a piece inside its bucket, -1 when in none. */
  readonly #slotOf: Int32Array
  readonly #buckets: Int32Array[] = []
  /** Pieces in each bucket: its first `length` slots. */
  readonly #lengths: number[] = []
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
    return availability < this.#buckets.length ? this.#lengths[availability] : 0
  }

  /** The piece at `slot` of a bucket; slots are in no meaningful order. */
  at(availability: number, slot: number): number {
    return this.#buckets[availability][slot]
  }

  add(index: number, availability: number): void {
    while (this.#buckets.length <= availability) {
      this.#buckets.push(new Int32Array(MIN_CAPACITY))
      this.#lengths.push(0)
    }
    const slot = this.#lengths[availability]
    if (slot === this.#buckets[availability].length) this.#resize(availability, slot * 2)
    this.#buckets[availability][slot] = index
    this.#lengths[availability] = slot + 1
    this.#slotOf[index] = slot
    this.#size++
  }

  /** Swap-remove, O(1). `availability` must be the bucket the piece is in. */
  remove(index: number, availability: number): void {
    const bucket = this.#buckets[availability]
    const slot = this.#slotOf[index]
    const length = this.#lengths[availability] - 1
    const last = bucket[length]
    if (last !== index) {
      bucket[slot] = last
      this.#slotOf[last] = slot
    }
    this.#lengths[availability] = length
    this.#slotOf[index] = -1
    this.#size--
    if (length < bucket.length / 4 && bucket.length > MIN_CAPACITY) this.#resize(availability, Math.max(MIN_CAPACITY, bucket.length / 2))
  }

  #resize(availability: number, capacity: number): void {
    const next = new Int32Array(capacity)
    next.set(this.#buckets[availability].subarray(0, this.#lengths[availability]))
    this.#buckets[availability] = next
  }

  move(index: number, from: number, to: number): void {
    this.remove(index, from)
    this.add(index, to)
  }
}
