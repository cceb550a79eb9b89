// A fixed-length bit set in BitTorrent's order: bit 0 is the high bit of byte 0
// (BEP 3, "bitfield"). Keeps a running count so "have all?" is O(1).

export class Bitfield {
  readonly length: number
  readonly #bytes: Uint8Array
  #count = 0

  constructor(length: number, bytes?: Uint8Array) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`bitfield length must be a whole number, got ${length}`)
    this.length = length
    const byteLength = Math.ceil(length / 8)
    this.#bytes = new Uint8Array(byteLength)
    if (bytes) {
      if (bytes.length !== byteLength) throw new RangeError(`bitfield of ${length} bits needs ${byteLength} bytes, got ${bytes.length}`)
      this.#bytes.set(bytes)
      this.#clearSpareBits()
      for (let i = 0; i < byteLength; i++) this.#count += popcount8(this.#bytes[i])
    }
  }

  /** True when the bytes have bits set past `length` (BEP 3: spare bits must be zero). */
  static hasSpareBits(bytes: Uint8Array, length: number): boolean {
    const spare = bytes.length * 8 - length
    if (spare <= 0 || bytes.length === 0) return false
    const mask = (1 << spare) - 1
    return (bytes[bytes.length - 1] & mask) !== 0
  }

  static full(length: number): Bitfield {
    const b = new Bitfield(length)
    for (let i = 0; i < length; i++) b.set(i)
    return b
  }

  get(index: number): boolean {
    if (index < 0 || index >= this.length) return false
    return (this.#bytes[index >> 3] & (0x80 >> (index & 7))) !== 0
  }

  set(index: number, value = true): void {
    if (index < 0 || index >= this.length) throw new RangeError(`bit ${index} out of range 0..${this.length - 1}`)
    const byte = index >> 3
    const mask = 0x80 >> (index & 7)
    const had = (this.#bytes[byte] & mask) !== 0
    if (value && !had) {
      this.#bytes[byte] |= mask
      this.#count++
    } else if (!value && had) {
      this.#bytes[byte] &= ~mask
      this.#count--
    }
  }

  /** Number of bits set. */
  count(): number {
    return this.#count
  }

  hasAll(): boolean {
    return this.#count === this.length
  }

  hasNone(): boolean {
    return this.#count === 0
  }

  /** A copy of the bytes, ready to send in a `bitfield` message or store. */
  toBuffer(): Buffer {
    return Buffer.from(this.#bytes)
  }

  clone(): Bitfield {
    return new Bitfield(this.length, this.#bytes)
  }

  #clearSpareBits(): void {
    const spare = this.#bytes.length * 8 - this.length
    if (spare > 0) this.#bytes[this.#bytes.length - 1] &= 0xff << spare
  }
}

function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55)
  b = (b & 0x33) + ((b >> 2) & 0x33)
  return (b + (b >> 4)) & 0x0f
}
