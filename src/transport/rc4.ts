// RC4, the stream cipher of BitTorrent's Message Stream Encryption. Node 20's
// OpenSSL keeps RC4 in its legacy provider (createCipheriv('rc4') throws
// "unsupported"), so it is written here: a 256-byte state in a Uint8Array.
// Weak as cryptography; MSE uses it only to make traffic unrecognisable.

export class Rc4 {
  readonly #s = new Uint8Array(256)
  #i = 0
  #j = 0

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`RC4 key must be 1 to 256 bytes, got ${key.length}`)
    const s = this.#s
    for (let i = 0; i < 256; i++) s[i] = i
    let j = 0
    for (let i = 0; i < 256; i++) {
      const t = s[i]
      j = (j + t + key[i % key.length]) & 0xff
      s[i] = s[j]
      s[j] = t
    }
  }

  /** Advances the key stream by `n` bytes without using them (MSE discards the first 1024). */
  discard(n: number): void {
    const s = this.#s
    let i = this.#i
    let j = this.#j
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff
      const si = s[i]
      j = (j + si) & 0xff
      s[i] = s[j]
      s[j] = si
    }
    this.#i = i
    this.#j = j
  }

  /** XORs `data[start, end)` with the key stream, in place. */
  updateInPlace(data: Uint8Array, start = 0, end = data.length): void {
    this.#run(data, data, start, end)
  }

  /** A new buffer: `data` XOR the key stream (`data` is left as it was). */
  update(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length)
    this.#run(data, out, 0, data.length)
    return out
  }

  #run(src: Uint8Array, dst: Uint8Array, start: number, end: number): void {
    const s = this.#s
    let i = this.#i
    let j = this.#j
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff
      const si = s[i]
      j = (j + si) & 0xff
      const sj = s[j]
      s[i] = sj
      s[j] = si
      dst[k] = src[k] ^ s[(si + sj) & 0xff]
    }
    this.#i = i
    this.#j = j
  }
}
