// The last stage: checked torrents wait here and go to the store in batches
// (one insert per batch: when the batch is full or its oldest record has
// waited long enough), one insert at a time. A failed insert is the
// database's trouble (locked, full, corrupt): it is reported once and the
// crawl stops; the records of that batch were not written.
import type { IndexedTorrent, IndexStore } from './index-store.ts'

export class Persister {
  readonly #store: IndexStore
  readonly #batchSize: number
  readonly #maxWaitMs: number
  #waiting: IndexedTorrent[] = []
  #oldestAtMs = 0
  #writing: Promise<void> | undefined

  constructor(store: IndexStore, opts: { batchSize?: number; maxWaitMs?: number } = {}) {
    this.#store = store
    this.#batchSize = opts.batchSize ?? 100
    this.#maxWaitMs = opts.maxWaitMs ?? 1000
  }

  /** Records waiting or being written. */
  get size(): number {
    return this.#waiting.length
  }

  add(torrent: IndexedTorrent, nowMs: number): void {
    if (this.#waiting.length === 0) this.#oldestAtMs = nowMs
    this.#waiting.push(torrent)
  }

  /** Writes a batch if one is due and no write is running; resolves with how many were written. */
  async flushIfDue(nowMs: number): Promise<number> {
    if (this.#writing || this.#waiting.length === 0) return 0
    if (this.#waiting.length < this.#batchSize && nowMs - this.#oldestAtMs < this.#maxWaitMs) return 0
    return this.#write(nowMs)
  }

  /** Writes everything waiting (the crawl is stopping). */
  async flushAll(nowMs: number): Promise<number> {
    let written = 0
    if (this.#writing) await this.#writing.catch(() => {})
    while (this.#waiting.length > 0) written += await this.#write(nowMs)
    return written
  }

  async #write(nowMs: number): Promise<number> {
    const batch = this.#waiting.splice(0, this.#batchSize)
    this.#oldestAtMs = nowMs
    const writing = this.#store.insert(batch)
    this.#writing = writing
    try {
      await writing
      return batch.length
    } finally {
      this.#writing = undefined
    }
  }
}
