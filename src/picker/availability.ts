// Who has which piece, for the piece picker: how many non-seed peers have
// each piece (seeds are one shared offset, so a seed coming or going costs
// O(1)), the wanted pieces nobody has started grouped by priority and rarity
// (one RarityBuckets per priority level), every non-seed peer's count of those
// per bucket, and how many wanted pieces are still missing at each priority.
// It draws an unstarted piece a peer has: uniformly at random for the first
// pieces, then rarest first. Pure, like the picker (see its header for the
// costs): it knows peers only as PeerState records and never touches a socket.
import { Bitfield } from '../core/bitfield.ts'
import { RarityBuckets } from './rarity-buckets.ts'

/** Random probes into a bucket before falling back to a scan from a random slot. */
const SAMPLE_PROBES = 16

export interface LevelCounts {
  total: number
  /** Unstarted pieces of one level this peer has, by availability bucket. */
  byAvailability: number[]
}

/** One peer as the picker knows it; `requests` and `pieces` are the picker's request books, the rest is kept here. */
export interface PeerState {
  readonly id: string
  seed: boolean
  /** Our own copy; null while the peer is a seed. */
  bits: Bitfield | null
  /** Wanted pieces we lack that it has (non-seeds only; a seed has all of them). */
  wanted: number
  /** Indexed by RarityBuckets.id (non-seeds only). */
  fresh: (LevelCounts | undefined)[]
  /** Blocks outstanding at this peer. */
  requestCount: number
  /** Piece → how many of its blocks are outstanding at this peer (its blocks' requesters say which). */
  readonly pieces: Map<number, number>
}

export class Availability {
  /** Per piece: 0 = not wanted, higher first. Written by the picker only between countWanted/addFresh calls that keep the books. */
  readonly priority: Int32Array
  /** How many non-seed peers have each piece; availability = this + seedCount. */
  readonly partialAvailability: Int32Array
  /** Per piece: its slot in its level's bucket while unstarted and wanted, else -1. */
  readonly slotOf: Int32Array
  /** Highest priority first. */
  readonly levels: RarityBuckets[] = []
  readonly #levelByPriority = new Map<number, RarityBuckets>()
  readonly #pieceCount: number
  /** The picker's verified pieces (its own bitfield, read here). */
  readonly #have: Bitfield
  readonly #randomFirstPieces: number
  readonly #rng: () => number
  readonly #partialPeers = new Set<PeerState>()
  readonly #wantedByPriority = new Map<number, number>()
  #fresh = 0
  #seeds = 0
  #missing = 0
  #top = 0

  constructor(pieceCount: number, have: Bitfield, randomFirstPieces: number, rng: () => number) {
    this.#pieceCount = pieceCount
    this.#have = have
    this.#randomFirstPieces = randomFirstPieces
    this.#rng = rng
    this.priority = new Int32Array(pieceCount).fill(1)
    this.partialAvailability = new Int32Array(pieceCount)
    this.slotOf = new Int32Array(pieceCount).fill(-1)
    for (let i = 0; i < pieceCount; i++) {
      if (have.get(i)) continue
      this.countWanted(i, 1)
      this.addFresh(i)
    }
  }

  /** Wanted pieces nobody has started. */
  get freshCount(): number {
    return this.#fresh
  }

  get seedCount(): number {
    return this.#seeds
  }

  /** Wanted pieces we lack. */
  get missingWanted(): number {
    return this.#missing
  }

  /** The highest priority among wanted pieces we lack (0 when none). */
  get topPriority(): number {
    return this.#top
  }

  /** The peer has a wanted piece we lack. */
  interesting(state: PeerState): boolean {
    return state.seed ? this.#missing > 0 : state.wanted > 0
  }

  wanted(index: number): boolean {
    return this.priority[index] > 0 && !this.#have.get(index)
  }


  #levelFor(priority: number): RarityBuckets {
    let level = this.#levelByPriority.get(priority)
    if (!level) {
      level = new RarityBuckets(this.#levelByPriority.size, priority, this.slotOf)
      this.#levelByPriority.set(priority, level)
      this.levels.push(level)
      this.levels.sort((a, b) => b.priority - a.priority)
    }
    return level
  }

  #bump(state: PeerState, level: RarityBuckets, availability: number, delta: number): void {
    let counts = state.fresh[level.id]
    if (!counts) counts = state.fresh[level.id] = { total: 0, byAvailability: [] }
    while (counts.byAvailability.length <= availability) counts.byAvailability.push(0)
    counts.byAvailability[availability] += delta
    counts.total += delta
  }

  addFresh(index: number): void {
    const level = this.#levelFor(this.priority[index])
    const availability = this.partialAvailability[index]
    level.add(index, availability)
    this.#fresh++
    for (const q of this.#partialPeers) if (q.bits!.get(index)) this.#bump(q, level, availability, 1)
  }

  removeFresh(index: number): void {
    const level = this.#levelByPriority.get(this.priority[index])!
    const availability = this.partialAvailability[index]
    level.remove(index, availability)
    this.#fresh--
    for (const q of this.#partialPeers) if (q.bits!.get(index)) this.#bump(q, level, availability, -1)
  }

  /** A wanted-missing piece appears (+1) or goes (-1) at its current priority. */
  countWanted(index: number, delta: 1 | -1): void {
    const priority = this.priority[index]
    this.#missing += delta
    const n = (this.#wantedByPriority.get(priority) ?? 0) + delta
    if (n === 0) {
      this.#wantedByPriority.delete(priority)
      if (priority === this.#top) this.#top = Math.max(0, ...this.#wantedByPriority.keys())
    } else {
      this.#wantedByPriority.set(priority, n)
      if (priority > this.#top) this.#top = priority
    }
    for (const q of this.#partialPeers) if (q.bits!.get(index)) q.wanted += delta
  }

  /** Non-seed `state` announces `index`. */
  gain(state: PeerState, index: number): void {
    const availability = this.partialAvailability[index]
    if (this.slotOf[index] >= 0) {
      const level = this.#levelByPriority.get(this.priority[index])!
      level.move(index, availability, availability + 1)
      for (const q of this.#partialPeers) {
        if (q === state || !q.bits!.get(index)) continue
        this.#bump(q, level, availability, -1)
        this.#bump(q, level, availability + 1, 1)
      }
      this.#bump(state, level, availability + 1, 1)
    }
    this.partialAvailability[index] = availability + 1
    state.bits!.set(index)
    if (this.wanted(index)) state.wanted++
  }

  /** Non-seed `state` no longer counts for `index`; its own counters are reset by the caller. */
  #lose(state: PeerState, index: number): void {
    const availability = this.partialAvailability[index]
    if (this.slotOf[index] >= 0) {
      const level = this.#levelByPriority.get(this.priority[index])!
      level.move(index, availability, availability - 1)
      for (const q of this.#partialPeers) {
        if (q === state || !q.bits!.get(index)) continue
        this.#bump(q, level, availability, -1)
        this.#bump(q, level, availability - 1, 1)
      }
    }
    this.partialAvailability[index] = availability - 1
  }

  /** Takes the peer's pieces out of availability and counters; the caller then makes it partial or seed, or drops it. */
  forgetPieces(state: PeerState): void {
    if (state.seed) {
      this.#seeds--
      state.seed = false
      return
    }
    const bits = state.bits!
    if (bits.count() > 0) {
      const bytes = bits.toBuffer()
      for (let byte = 0; byte < bytes.length; byte++) {
        const v = bytes[byte]
        if (v === 0) continue
        for (let bit = 0; bit < 8; bit++) if (v & (0x80 >> bit)) this.#lose(state, byte * 8 + bit)
      }
    }
    this.#partialPeers.delete(state)
    state.bits = null
    state.wanted = 0
    state.fresh = []
  }

  /** `state` has just been created or forgotten. */
  becomePartial(state: PeerState): void {
    state.bits = new Bitfield(this.#pieceCount)
    this.#partialPeers.add(state)
  }

  becomeSeed(state: PeerState): void {
    this.forgetPieces(state)
    state.seed = true
    this.#seeds++
  }

  /** `state` has just been created or forgotten. */
  applyBitfield(state: PeerState, bitfield: Bitfield): void {
    if (bitfield.hasAll()) {
      state.seed = true
      this.#seeds++
      return
    }
    this.becomePartial(state)
    if (bitfield.count() === 0) return
    const bytes = bitfield.toBuffer()
    for (let byte = 0; byte < bytes.length; byte++) {
      const v = bytes[byte]
      if (v === 0) continue
      for (let bit = 0; bit < 8; bit++) if (v & (0x80 >> bit)) this.gain(state, byte * 8 + bit)
    }
  }
  /** An unstarted piece of `level` the peer has, or -1. */
  drawFresh(state: PeerState, level: RarityBuckets): number {
    const counts = state.seed ? undefined : state.fresh[level.id]
    const total = state.seed ? level.size : counts?.total ?? 0
    if (total === 0) return -1
    const owned = (availability: number): number =>
      counts ? counts.byAvailability[availability] ?? 0 : level.bucketSize(availability)
    const bucketCount = counts ? counts.byAvailability.length : level.bucketCount
    let bucket = 0
    if (this.#have.count() < this.#randomFirstPieces) {
      // A bucket weighted by how many candidates it holds, then uniform inside it: uniform overall.
      let r = this.#randomBelow(total)
      for (; bucket < bucketCount; bucket++) {
        const n = owned(bucket)
        if (r < n) break
        r -= n
      }
    } else {
      while (bucket < bucketCount && owned(bucket) === 0) bucket++
    }
    if (bucket === bucketCount) throw new Error(`piece picker bookkeeping is inconsistent: peer ${state.id} counts ${total} candidates but no bucket holds one`)
    return this.#drawFromBucket(state, level, bucket, owned(bucket))
  }

  #drawFromBucket(state: PeerState, level: RarityBuckets, bucket: number, owned: number): number {
    const size = level.bucketSize(bucket)
    if (state.seed || owned === size) return level.at(bucket, this.#randomBelow(size))
    const bits = state.bits!
    for (let probe = 0; probe < SAMPLE_PROBES; probe++) {
      const index = level.at(bucket, this.#randomBelow(size))
      if (bits.get(index)) return index
    }
    const start = this.#randomBelow(size)
    for (let k = 0; k < size; k++) {
      const index = level.at(bucket, (start + k) % size)
      if (bits.get(index)) return index
    }
    throw new Error(`piece picker bookkeeping is inconsistent: peer ${state.id} counts ${owned} pieces in bucket ${bucket} but has none`)
  }

  #randomBelow(n: number): number {
    return Math.min(n - 1, Math.floor(this.#rng() * n))
  }
}
