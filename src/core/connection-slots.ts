// Peer connection slots shared by everything that connects in one process (a
// session's torrents and magnet fetches): a total, so many torrents cannot add
// up to more sockets than the owner allows. A slot is taken before dialling or
// accepting and given back when that connection ends, whatever the reason.
// Pure counting: no sockets, no timers.

export class ConnectionSlots {
  readonly maxTotal: number
  #used = 0

  constructor(maxTotal: number) {
    if (!Number.isInteger(maxTotal) || maxTotal < 1) throw new RangeError(`maxTotal must be a positive whole number, got ${maxTotal}`)
    this.maxTotal = maxTotal
  }

  get used(): number {
    return this.#used
  }

  get free(): number {
    return this.maxTotal - this.#used
  }

  /** Takes a slot if one is free; the caller must `release()` it exactly once when done. */
  tryAcquire(): boolean {
    if (this.#used >= this.maxTotal) return false
    this.#used++
    return true
  }

  release(): void {
    if (this.#used === 0) throw new Error('ConnectionSlots.release() without a slot taken')
    this.#used--
  }
}
