// Connection slots for metadata fetches: a total and a number per peer IP, so
// the crawler never holds more sockets than allowed and never piles onto one
// host. A slot is taken before dialling and given back exactly once when that
// connection ends. Pure counting: no sockets, no timers.

export class FetchLimits {
  readonly maxTotal: number
  readonly maxPerIp: number
  #used = 0
  readonly #perIp = new Map<string, number>()

  constructor(maxTotal: number, maxPerIp: number) {
    if (!Number.isInteger(maxTotal) || maxTotal < 1) throw new RangeError(`maxTotal must be a positive whole number, got ${maxTotal}`)
    if (!Number.isInteger(maxPerIp) || maxPerIp < 1) throw new RangeError(`maxPerIp must be a positive whole number, got ${maxPerIp}`)
    this.maxTotal = maxTotal
    this.maxPerIp = maxPerIp
  }

  get used(): number {
    return this.#used
  }

  tryAcquire(ip: string): boolean {
    const forIp = this.#perIp.get(ip) ?? 0
    if (this.#used >= this.maxTotal || forIp >= this.maxPerIp) return false
    this.#used++
    this.#perIp.set(ip, forIp + 1)
    return true
  }

  release(ip: string): void {
    const forIp = this.#perIp.get(ip) ?? 0
    if (forIp === 0 || this.#used === 0) throw new Error(`FetchLimits.release(${ip}) without a slot taken`)
    this.#used--
    if (forIp === 1) this.#perIp.delete(ip)
    else this.#perIp.set(ip, forIp - 1)
  }
}
