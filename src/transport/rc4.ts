// RC4, the stream cipher of BitTorrent's Message Stream Encryption. Node 20's
// OpenSSL keeps RC4 in its legacy provider (createCipheriv('rc4') throws
// "unsupported", and with --openssl-legacy-provider it ran at 110–195 MB/s
// here), so it is written here. The key schedule is TypeScript; the stream
// runs in a tiny WebAssembly function (below, as its text and its bytes),
// about 1.5–2 times as fast as the same loop over a Uint8Array, with the JS
// loop kept for short pieces. Weak as cryptography; MSE uses it only to make
// traffic unrecognisable.

/*
 * The module, assembled from this text by scripts/assemble-rc4-wasm.mjs (the
 * RFC 6229 tests check it). KEYBYTE stands for one key-stream byte, written
 * out each time it appears:
 *   (local.set $i (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const 255)))
 *   (local.set $si (i32.load8_u (local.get $i)))
 *   (local.set $j (i32.and (i32.add (local.get $j) (local.get $si)) (i32.const 255)))
 *   (local.set $sj (i32.load8_u (local.get $j)))
 *   (i32.store8 (local.get $i) (local.get $sj)) (i32.store8 (local.get $j) (local.get $si))
 *   (i32.load8_u (i32.and (i32.add (local.get $si) (local.get $sj)) (i32.const 255)))
 *
 *   (memory (export "memory") 1)
 *   (func (export "rc4") (param $len i32) (local $i i32) (local $j i32) (local $k i32)
 *       (local $si i32) (local $sj i32) (local $end i32) (local $w i32) (local $end4 i32)
 *     ;; S at 0..255, i at 256, j at 257, the data at 1024..1024+len, XORed in place
 *     (local.set $i (i32.load8_u (i32.const 256))) (local.set $j (i32.load8_u (i32.const 257)))
 *     (local.set $k (i32.const 1024)) (local.set $end (i32.add (i32.const 1024) (local.get $len)))
 *     (local.set $end4 (i32.add (i32.const 1024) (i32.and (local.get $len) (i32.const -4))))
 *     ;; four bytes a turn: one word of key stream, one load and one store of data
 *     ;; (19 % fewer instructions per byte than a byte a turn, by callgrind)
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $k) (local.get $end4)))
 *       (local.set $w (i32.or (i32.or (i32.or KEYBYTE (i32.shl KEYBYTE (i32.const 8)))
 *         (i32.shl KEYBYTE (i32.const 16))) (i32.shl KEYBYTE (i32.const 24))))
 *       (i32.store (local.get $k) (i32.xor (i32.load (local.get $k)) (local.get $w)))
 *       (local.set $k (i32.add (local.get $k) (i32.const 4)))
 *       (br 0)))
 *     ;; the last 0-3 bytes
 *     (block (loop
 *       (br_if 1 (i32.ge_u (local.get $k) (local.get $end)))
 *       (i32.store8 (local.get $k) (i32.xor (i32.load8_u (local.get $k)) KEYBYTE))
 *       (local.set $k (i32.add (local.get $k) (i32.const 1)))
 *       (br 0)))
 *     (i32.store8 (i32.const 256) (local.get $i)) (i32.store8 (i32.const 257) (local.get $j)))
 */
const RC4_WASM_HEX =
  '0061736d0100000001050160017f00030201000503010001071002066d656d6f727902000372633400000ac70301c4030108' +
  '7f4180022d000021014181022d00002102418008210341800820006a21064180082000417c716a210802400340200320084f' +
  '0d01200141016a41ff0171210120012d00002104200220046a41ff0171210220022d00002105200120053a0000200220043a' +
  '0000200420056a41ff01712d0000200141016a41ff0171210120012d00002104200220046a41ff0171210220022d00002105' +
  '200120053a0000200220043a0000200420056a41ff01712d000041087472200141016a41ff0171210120012d000021042002' +
  '20046a41ff0171210220022d00002105200120053a0000200220043a0000200420056a41ff01712d00004110747220014101' +
  '6a41ff0171210120012d00002104200220046a41ff0171210220022d00002105200120053a0000200220043a000020042005' +
  '6a41ff01712d000041187472210720032003280200200773360200200341046a21030c000b0b02400340200320064f0d0120' +
  '0320032d0000200141016a41ff0171210120012d00002104200220046a41ff0171210220022d00002105200120053a000020' +
  '0220043a0000200420056a41ff01712d0000733a0000200341016a21030c000b0b41800220013a000041810220023a00000b'

const DATA_OFFSET = 1024
/** Bytes per call: the rest of the module's one 64 KiB page. */
const WASM_CHUNK = 65536 - DATA_OFFSET
/** Shorter pieces stay in JS: copying the state in and out would cost more than it saves. */
const WASM_MIN_BYTES = 256

// Node has WebAssembly; this project's TypeScript lib (no DOM) does not declare it.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; rc4: (len: number) => void } }
}

interface Rc4Wasm {
  memory: Uint8Array
  rc4(len: number): void
}

/** One instance for every cipher: each call brings its own state in and takes it back out. */
let shared: Rc4Wasm | undefined
function rc4Wasm(): Rc4Wasm {
  if (!shared) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(RC4_WASM_HEX, 'hex')))
    shared = { memory: new Uint8Array(instance.exports.memory.buffer), rc4: instance.exports.rc4 }
  }
  return shared
}

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
    if (end - start < WASM_MIN_BYTES) this.#runJs(data, data, start, end)
    else this.#runWasm(data, data, start, end)
  }

  /** A new buffer: `data` XOR the key stream (`data` is left as it was). */
  update(data: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(data.length)
    this.updateInto(data, out)
    return out
  }

  /** `data` XOR the key stream, written to the start of `out` (as long as `data` at least). */
  updateInto(data: Uint8Array, out: Uint8Array): void {
    if (data.length < WASM_MIN_BYTES) this.#runJs(data, out, 0, data.length)
    else this.#runWasm(data, out, 0, data.length)
  }

  #runWasm(src: Uint8Array, dst: Uint8Array, start: number, end: number): void {
    const { memory, rc4 } = rc4Wasm()
    memory.set(this.#s, 0)
    memory[256] = this.#i
    memory[257] = this.#j
    for (let off = start; off < end; off += WASM_CHUNK) {
      const len = Math.min(WASM_CHUNK, end - off)
      memory.set(src.subarray(off, off + len), DATA_OFFSET)
      rc4(len)
      dst.set(memory.subarray(DATA_OFFSET, DATA_OFFSET + len), off)
    }
    this.#s.set(memory.subarray(0, 256))
    this.#i = memory[256]
    this.#j = memory[257]
  }

  #runJs(src: Uint8Array, dst: Uint8Array, start: number, end: number): void {
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
