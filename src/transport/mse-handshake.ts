// The Message Stream Encryption (MSE/PE) handshake as two step machines, one
// per side, fed the bytes that arrive in chunks of any size and returning the
// bytes to send. Pure: never a socket, never a timer. The DH key pair is made
// by the caller (off the event loop) and handed in.
//
// A → B: Ya, PadA
// B → A: Yb, PadB
// A → B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//        ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
// B → A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
// A → B: ENCRYPT2(payload)
// Y are 96-byte DH public keys, pads 0–512 bytes, VC 8 zero bytes, the crypto
// fields 32-bit big-endian (0x01 plaintext, 0x02 RC4), lengths 16-bit. ENCRYPT
// is RC4 (keyA from A, keyB from B); ENCRYPT2 is RC4 or nothing, as selected.
import { randomBytes, randomInt } from 'node:crypto'
import type { Rc4 } from './rc4.ts'
import { DH_KEY_LENGTH, req1, req2, req3, streamCiphers, xor20 } from './mse-crypto.ts'
import type { DhKeyPair } from './mse-crypto.ts'

export const CRYPTO_PLAINTEXT = 0x01
export const CRYPTO_RC4 = 0x02
export const MAX_PAD = 512
const VC_LENGTH = 8
/** Largest initial payload: its length is a 16-bit field. */
export const MAX_INITIAL_PAYLOAD = 0xffff

export class MseError extends Error {}

export interface MseResult {
  method: 'rc4' | 'plaintext'
  /** The ciphers for the payload stream; undefined when plaintext was selected. */
  encrypt: Rc4 | undefined
  decrypt: Rc4 | undefined
  /** What followed the handshake in the last chunk, as it came off the wire (still to be decrypted). */
  rest: Buffer
}

export interface ResponderResult extends MseResult {
  /** The info hash the initiator asked for (SKEY). */
  skey: Buffer
  /** The initial payload (IA), decrypted: usually the BitTorrent handshake. */
  initialPayload: Buffer
}

export interface MseOptions {
  keys: DhKeyPair
  /** Length of each random pad (default 0–512 uniformly). */
  padLength?: () => number
  /**
   * Leave the DH secret (~0.3 ms) to the caller: once the peer's key is in,
   * `needsSecret` is true and bytes only collect until computeSecret() is
   * called, so a caller can spread many handshakes over the event loop.
   */
  deferSecret?: boolean
}

function randomPad(): number {
  return randomInt(0, MAX_PAD + 1)
}

/** Collects chunks until enough bytes are there; bounded by what the handshake allows. */
class Bytes {
  #buf = Buffer.alloc(0)
  push(chunk: Uint8Array): void {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk])
  }
  get length(): number {
    return this.#buf.length
  }
  peek(): Buffer {
    return this.#buf
  }
  take(n: number): Buffer {
    const out = this.#buf.subarray(0, n)
    this.#buf = this.#buf.subarray(n)
    return out
  }
}

/** The side that opens the connection (A): knows the info hash it wants. */
export class MseInitiator {
  readonly #keys: DhKeyPair
  readonly #skey: Buffer
  readonly #provide: number
  readonly #padLength: () => number
  readonly #in = new Bytes()
  #state: 'yb' | 'secret' | 'payload' | 'vc' | 'select' | 'padD' | 'done' = 'yb'
  readonly #deferSecret: boolean
  #peerKey: Buffer | undefined
  #secret: Buffer | undefined
  #ciphers: { encrypt: Rc4; decrypt: Rc4 } | undefined
  /** VC as the peer's cipher turns it: found by search, since PadB's length is not sent. */
  #encryptedVc: Buffer | undefined
  #select = 0
  #padD = 0
  #result: MseResult | undefined

  /** `provide`: the methods we accept, CRYPTO_RC4 and/or CRYPTO_PLAINTEXT. */
  constructor(opts: MseOptions & { skey: Buffer; provide: number }) {
    if ((opts.provide & (CRYPTO_RC4 | CRYPTO_PLAINTEXT)) === 0) throw new RangeError('provide neither RC4 nor plaintext')
    this.#keys = opts.keys
    this.#skey = opts.skey
    this.#provide = opts.provide
    this.#padLength = opts.padLength ?? randomPad
    this.#deferSecret = opts.deferSecret ?? false
  }

  /** The peer's key is in and the DH secret waits for computeSecret() (with `deferSecret`). */
  get needsSecret(): boolean {
    return this.#state === 'secret'
  }

  /** Computes the DH secret and goes on with what has arrived. Throws MseError on a bad key. */
  computeSecret(): void {
    if (this.#state !== 'secret') return
    try {
      this.#secret = this.#keys.secret(this.#peerKey!)
    } catch (err) {
      throw new MseError(`bad DH key from peer: ${(err as Error).message}`)
    }
    this.#state = 'payload'
    this.#advance()
  }

  /** Step 1: Ya, PadA. */
  hello(): Buffer {
    return Buffer.concat([this.#keys.publicKey, randomBytes(this.#padLength())])
  }

  /** We offer plaintext too, so the responder may select it. */
  get offersPlaintext(): boolean {
    return (this.#provide & CRYPTO_PLAINTEXT) !== 0
  }

  /** True once the peer's key is in: call request() with the initial payload. */
  get needsPayload(): boolean {
    return this.#state === 'payload'
  }

  /** Set once the handshake is complete. */
  get result(): MseResult | undefined {
    return this.#result
  }

  /** Bytes from the peer. Throws MseError when they cannot be a responder's. */
  push(chunk: Uint8Array): void {
    if (this.#state === 'done') throw new MseError('handshake already complete')
    this.#in.push(chunk)
    this.#advance()
  }

  /** Step 3, carrying `initialPayload` (our BitTorrent handshake, or nothing). */
  request(initialPayload: Buffer = Buffer.alloc(0)): Buffer {
    if (this.#state !== 'payload' || !this.#secret) throw new MseError('not ready for the request')
    if (initialPayload.length > MAX_INITIAL_PAYLOAD) throw new RangeError(`initial payload of ${initialPayload.length} bytes`)
    const secret = this.#secret
    const ciphers = (this.#ciphers = streamCiphers(secret, this.#skey, true))
    const pad = this.#padLength()
    const plain = Buffer.alloc(VC_LENGTH + 4 + 2 + pad + 2 + initialPayload.length)
    let off = VC_LENGTH
    plain.writeUInt32BE(this.#provide, off)
    plain.writeUInt16BE(pad, (off += 4))
    off += 2 + pad
    plain.writeUInt16BE(initialPayload.length, off)
    initialPayload.copy(plain, off + 2)
    ciphers.encrypt.updateInPlace(plain)
    this.#encryptedVc = ciphers.decrypt.update(Buffer.alloc(VC_LENGTH))
    this.#state = 'vc'
    const out = Buffer.concat([req1(secret), xor20(req2(this.#skey), req3(secret)), plain])
    this.#advance()
    return out
  }

  #advance(): void {
    for (;;) {
      switch (this.#state) {
        case 'yb': {
          if (this.#in.length < DH_KEY_LENGTH) return
          this.#peerKey = Buffer.from(this.#in.take(DH_KEY_LENGTH))
          this.#state = 'secret'
          if (this.#deferSecret) return
          this.computeSecret()
          return
        }
        case 'secret':
          return
        case 'payload':
          if (this.#in.length > MAX_PAD) throw new MseError(`peer sent ${this.#in.length} bytes of padding after its key (at most ${MAX_PAD})`)
          return
        case 'vc': {
          const at = this.#in.peek().indexOf(this.#encryptedVc!)
          if (at < 0 || at > MAX_PAD) {
            if (this.#in.length >= MAX_PAD + VC_LENGTH) throw new MseError(`no verification constant within ${MAX_PAD + VC_LENGTH} bytes after the peer's key`)
            return
          }
          this.#in.take(at + VC_LENGTH)
          this.#state = 'select'
          continue
        }
        case 'select': {
          if (this.#in.length < 6) return
          const fields = this.#ciphers!.decrypt.update(this.#in.take(6))
          this.#select = fields.readUInt32BE(0)
          this.#padD = fields.readUInt16BE(4)
          if (this.#padD > MAX_PAD) throw new MseError(`peer's PadD is ${this.#padD} bytes (at most ${MAX_PAD})`)
          if ((this.#select !== CRYPTO_RC4 && this.#select !== CRYPTO_PLAINTEXT) || (this.#select & this.#provide) === 0) {
            throw new MseError(`peer selected crypto method ${this.#select}, we offered ${describeMethods(this.#provide)}`)
          }
          this.#state = 'padD'
          continue
        }
        case 'padD': {
          if (this.#in.length < this.#padD) return
          this.#ciphers!.decrypt.updateInPlace(this.#in.take(this.#padD))
          const rc4 = this.#select === CRYPTO_RC4
          this.#result = {
            method: rc4 ? 'rc4' : 'plaintext',
            encrypt: rc4 ? this.#ciphers!.encrypt : undefined,
            decrypt: rc4 ? this.#ciphers!.decrypt : undefined,
            rest: Buffer.from(this.#in.take(this.#in.length)),
          }
          this.#state = 'done'
          return
        }
        case 'done':
          return
      }
    }
  }
}

export interface ResponderOptions extends MseOptions {
  /** The SKEY whose HASH('req2', SKEY) this is, or undefined when we serve no such torrent. */
  findSkey(req2Hash: Buffer): Buffer | undefined
  /** The method to use given the initiator's crypto_provide, or 0 to refuse. */
  select(provide: number): number
}

/** The side that accepts the connection (B): learns the info hash from the request. */
export class MseResponder {
  readonly #opts: ResponderOptions
  readonly #padLength: () => number
  readonly #in = new Bytes()
  #state = 'ya' as 'ya' | 'secret' | 'req1' | 'req23' | 'provide' | 'padC' | 'ia' | 'done'
  #peerKey: Buffer | undefined
  #secret: Buffer | undefined
  #req1: Buffer | undefined
  #skey: Buffer | undefined
  #ciphers: { encrypt: Rc4; decrypt: Rc4 } | undefined
  #provide = 0
  #padC = 0
  #iaLength = 0
  #result: ResponderResult | undefined

  constructor(opts: ResponderOptions) {
    this.#opts = opts
    this.#padLength = opts.padLength ?? randomPad
  }

  get result(): ResponderResult | undefined {
    return this.#result
  }

  /** The initiator's key is in and the DH secret waits for computeSecret() (with `deferSecret`). */
  get needsSecret(): boolean {
    return this.#state === 'secret'
  }

  /** Computes the DH secret and goes on with what has arrived; returns what to send. Throws MseError on a bad key. */
  computeSecret(): Buffer[] {
    if (this.#state !== 'secret') return []
    try {
      this.#secret = this.#opts.keys.secret(this.#peerKey!)
    } catch (err) {
      throw new MseError(`bad DH key from peer: ${(err as Error).message}`)
    }
    this.#req1 = req1(this.#secret)
    this.#state = 'req1'
    return [Buffer.concat([this.#opts.keys.publicKey, randomBytes(this.#padLength())]), ...this.push(new Uint8Array(0))]
  }

  /** Bytes from the initiator; returns what to send back (Yb and PadB, then the reply to the request). */
  push(chunk: Uint8Array): Buffer[] {
    if (this.#state === 'done') throw new MseError('handshake already complete')
    if (chunk.length > 0) this.#in.push(chunk)
    const out: Buffer[] = []
    for (;;) {
      switch (this.#state) {
        case 'ya': {
          if (this.#in.length < DH_KEY_LENGTH) return out
          this.#peerKey = Buffer.from(this.#in.take(DH_KEY_LENGTH))
          this.#state = 'secret'
          if (this.#opts.deferSecret) return out
          return [...out, ...this.computeSecret()]
        }
        case 'secret':
          return out
        case 'req1': {
          const at = this.#in.peek().indexOf(this.#req1!)
          if (at < 0 || at > MAX_PAD) {
            if (this.#in.length >= MAX_PAD + 20) throw new MseError(`no MSE request within ${MAX_PAD + 20} bytes after the DH key`)
            return out
          }
          this.#in.take(at + 20)
          this.#state = 'req23'
          continue
        }
        case 'req23': {
          if (this.#in.length < 20) return out
          const req2Hash = xor20(this.#in.take(20), req3(this.#secret!))
          const skey = this.#opts.findSkey(req2Hash)
          if (!skey) throw new MseError('encrypted handshake for a torrent we do not serve')
          this.#skey = skey
          this.#ciphers = streamCiphers(this.#secret!, skey, false)
          this.#state = 'provide'
          continue
        }
        case 'provide': {
          if (this.#in.length < VC_LENGTH + 6) return out
          const fields = this.#ciphers!.decrypt.update(this.#in.take(VC_LENGTH + 6))
          for (let i = 0; i < VC_LENGTH; i++) if (fields[i] !== 0) throw new MseError('bad verification constant in the MSE request')
          this.#provide = fields.readUInt32BE(VC_LENGTH)
          this.#padC = fields.readUInt16BE(VC_LENGTH + 4)
          if (this.#padC > MAX_PAD) throw new MseError(`PadC of ${this.#padC} bytes (at most ${MAX_PAD})`)
          this.#state = 'padC'
          continue
        }
        case 'padC': {
          if (this.#in.length < this.#padC + 2) return out
          this.#ciphers!.decrypt.updateInPlace(this.#in.take(this.#padC))
          this.#iaLength = this.#ciphers!.decrypt.update(this.#in.take(2)).readUInt16BE(0)
          this.#state = 'ia'
          continue
        }
        case 'ia': {
          if (this.#in.length < this.#iaLength) return out
          const initialPayload = this.#ciphers!.decrypt.update(this.#in.take(this.#iaLength))
          const select = this.#opts.select(this.#provide)
          if (select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) {
            throw new MseError(`peer offers ${describeMethods(this.#provide)}, which we do not accept`)
          }
          const pad = this.#padLength()
          const reply = Buffer.alloc(VC_LENGTH + 4 + 2 + pad)
          reply.writeUInt32BE(select, VC_LENGTH)
          reply.writeUInt16BE(pad, VC_LENGTH + 4)
          this.#ciphers!.encrypt.updateInPlace(reply)
          out.push(reply)
          const rc4 = select === CRYPTO_RC4
          this.#result = {
            method: rc4 ? 'rc4' : 'plaintext',
            encrypt: rc4 ? this.#ciphers!.encrypt : undefined,
            decrypt: rc4 ? this.#ciphers!.decrypt : undefined,
            rest: Buffer.from(this.#in.take(this.#in.length)),
            skey: this.#skey!,
            initialPayload,
          }
          this.#state = 'done'
          return out
        }
      }
    }
  }
}

export function describeMethods(bits: number): string {
  const names = [bits & CRYPTO_RC4 ? 'RC4' : '', bits & CRYPTO_PLAINTEXT ? 'plaintext' : ''].filter(Boolean)
  return names.length ? names.join(' or ') : `nothing known (0x${bits.toString(16)})`
}
