// A memory budget shared by many consumers (a session's torrents): each holds
// a share of it and says how many bytes it holds now; the budget keeps the
// total. A share is blocked at its own limit, or while the total is at the
// budget's and others hold part of it (so one consumer alone behaves as with
// its own limit only). Callers keep a floor themselves: a share holding nothing
// may always take its first piece or block, so none is starved by the others.
// A blocked consumer waits; it is woken (in a microtask) once a release leaves
// room for it, or leaves it holding nothing. It allocates nothing itself: it only counts.
// TransferBudgets bundles what a session gives its torrents.
import { BufferPools } from './buffer-pool.ts'

/**
 * What a session's torrents share: piece memory of downloads in progress, the
 * free piece buffers kept for downloads and uploads, upload bytes in flight,
 * and the pieces kept in uploads' read caches.
 */
export interface TransferBudgets {
  pieces: MemoryBudget
  piecePools: BufferPools
  inFlight: MemoryBudget
  readCache: MemoryBudget
}

/**
 * A session's budgets: by default as much for all its torrents as one torrent
 * may hold alone (8 MiB of pieces, 8 MiB in flight), and read caches of 4 MiB
 * together (one torrent's own cap is 1 MiB; each keeps at least one piece).
 */
export function transferBudgets(pieceBytes = 8 * 1024 * 1024, inFlightBytes = 8 * 1024 * 1024, readCacheBytes = 4 * 1024 * 1024): TransferBudgets {
  return {
    pieces: new MemoryBudget(pieceBytes),
    piecePools: new BufferPools(),
    inFlight: new MemoryBudget(inFlightBytes),
    readCache: new MemoryBudget(readCacheBytes),
  }
}

interface Waiter {
  share: BudgetShare
  limit: number
  wake: () => void
}

export class MemoryBudget {
  readonly maxBytes: number
  #usedBytes = 0
  #waiters: Waiter[] = []

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes held over all shares. */
  get usedBytes(): number {
    return this.#usedBytes
  }

  /** Consumers waiting for room. */
  get waiting(): number {
    return this.#waiters.length
  }

  /** A new consumer's share, holding nothing. */
  share(): BudgetShare {
    return new BudgetShare(this)
  }

  /** @internal BudgetShare's: the total moves by `delta`; a decrease wakes the waiters it makes room for (or left holding nothing: the floor). */
  adjust(delta: number): void {
    this.#usedBytes += delta
    if (delta < 0 && this.#waiters.length > 0) this.#wake((w) => w.share.heldBytes === 0 || !w.share.blocked(w.limit))
  }

  /** @internal */
  addWaiter(waiter: Waiter): void {
    this.#waiters.push(waiter)
  }

  /** @internal Wakes (and forgets) a share's waiters: it released everything. */
  wakeShare(share: BudgetShare): void {
    this.#wake((w) => w.share === share)
  }

  #wake(which: (w: Waiter) => boolean): void {
    const woken = this.#waiters.filter(which)
    if (woken.length === 0) return
    this.#waiters = this.#waiters.filter((w) => !woken.includes(w))
    queueMicrotask(() => {
      for (const w of woken) w.wake()
    })
  }
}

/** One consumer's part of a MemoryBudget. */
export class BudgetShare {
  readonly #budget: MemoryBudget
  #heldBytes = 0

  constructor(budget: MemoryBudget) {
    this.#budget = budget
  }

  get heldBytes(): number {
    return this.#heldBytes
  }

  /** Bytes held by every share of the budget. */
  get totalBytes(): number {
    return this.#budget.usedBytes
  }

  /** At or past `limit` (this consumer's own) itself, or the budget is spent and others hold part of it. */
  blocked(limit: number): boolean {
    const used = this.#budget.usedBytes
    return this.#heldBytes >= limit || (used > this.#heldBytes && used >= this.#budget.maxBytes)
  }

  /** The budget's total is past its size and others hold part of it: this consumer should give back what it can. */
  get over(): boolean {
    const used = this.#budget.usedBytes
    return used > this.#budget.maxBytes && used > this.#heldBytes
  }

  /** Now holds `bytes` (more or fewer than before). */
  set(bytes: number): void {
    const delta = bytes - this.#heldBytes
    if (delta === 0) return
    this.#heldBytes = bytes
    this.#budget.adjust(delta)
  }

  add(bytes: number): void {
    this.set(this.#heldBytes + bytes)
  }

  /** `wake` is called once, in a microtask, after a release leaves this share unblocked at `limit`. */
  wait(limit: number, wake: () => void): void {
    this.#budget.addWaiter({ share: this, limit, wake })
  }

  /** Holds nothing any more (its consumer stopped); its waiters are woken to see that. */
  release(): void {
    this.set(0)
    this.#budget.wakeShare(this)
  }
}
