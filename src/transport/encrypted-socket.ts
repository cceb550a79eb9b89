// A peer socket seen through MSE: what is written is encrypted on its way to
// the inner socket and what arrives is decrypted before anyone reads it, so a
// PeerConnection above runs unchanged. Made once the handshake has settled the
// ciphers (incoming), or on the dialling side as soon as the peer's DH key is
// in: then the first write becomes the initial payload (IA) of the MSE request
// (the BitTorrent handshake travels inside it, saving a round trip), later
// writes wait for the peer's crypto_select, and the rest of the handshake is
// read here before any payload is delivered.
// Plaintext selected means no ciphers: bytes pass as they are.
// Encrypting copies: whole blocks are encrypted into pooled buffers that go
// back to the pool when the inner socket is done with them (its write callback).
import { EventEmitter } from 'node:events'
import type { Rc4 } from './rc4.ts'
import { MseError } from './mse-handshake.ts'
import type { MseInitiator } from './mse-handshake.ts'
import type { PeerSocket, TransportKind, WriteDone } from './peer-socket.ts'
import { BufferPool } from '../core/buffer-pool.ts'
import { BLOCK_SIZE } from '../core/types.ts'

/** Ciphertext of whole blocks, shared by every encrypted connection (64 × 16 KiB kept at most). */
const blockPool = new BufferPool(BLOCK_SIZE, 64)

export interface EncryptedSocketOptions {
  /** Settled ciphers (undefined each when plaintext was selected)... */
  ciphers?: { encrypt: Rc4 | undefined; decrypt: Rc4 | undefined }
  /** ...or a dialling handshake whose peer key is in and whose request is not sent yet. */
  initiator?: MseInitiator
  /** Read the inner socket's 'data' events (else the owner calls receive(), e.g. from an onread buffer). */
  readInner: boolean
}

export class EncryptedSocket extends EventEmitter implements PeerSocket {
  readonly #inner: PeerSocket
  #initiator: MseInitiator | undefined
  #requestSent = false
  #encrypt: Rc4 | undefined
  #decrypt: Rc4 | undefined
  /** Writes made while the peer's crypto_select is still on its way. */
  #queued: Buffer[] = []
  #queuedBytes = 0
  #sink: ((chunk: Buffer) => void) | undefined
  #early: Buffer[] = []
  readonly #readInner: boolean
  #failed = false

  constructor(inner: PeerSocket, opts: EncryptedSocketOptions) {
    super()
    this.#inner = inner
    this.#initiator = opts.initiator
    this.#encrypt = opts.ciphers?.encrypt
    this.#decrypt = opts.ciphers?.decrypt
    this.#readInner = opts.readInner
    if (opts.readInner) inner.on('data', (chunk) => this.receive(chunk))
    inner.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
    inner.on('close', () => this.emit('close'))
    inner.on('end', () => this.emit('end'))
    inner.on('drain', () => this.emit('drain'))
    // Nobody wrote in the tick it was handed over: send the request with an empty IA.
    if (this.#initiator) setImmediate(() => this.#sendRequest(Buffer.alloc(0)))
  }

  get transport(): TransportKind | undefined {
    return this.#inner.transport
  }

  get remoteAddress(): string | undefined {
    return this.#inner.remoteAddress
  }

  get remotePort(): number | undefined {
    return this.#inner.remotePort
  }

  get writableLength(): number {
    return this.#inner.writableLength + this.#queuedBytes
  }

  get writableNeedDrain(): boolean {
    return this.#inner.writableNeedDrain
  }

  /** Sends decrypted reads to `sink` instead of 'data' events (with any that came before). */
  route(sink: (chunk: Buffer) => void): void {
    this.#sink = sink
    for (const chunk of this.#early.splice(0)) sink(chunk)
  }

  /** Bytes off the wire, in order. `chunk` may be decrypted in place. */
  receive(chunk: Buffer): void {
    if (this.#failed) return
    const initiator = this.#initiator
    if (initiator) {
      let rest: Buffer
      try {
        initiator.push(chunk)
        const result = initiator.result
        if (!result) return
        this.#encrypt = result.encrypt
        this.#decrypt = result.decrypt
        this.#initiator = undefined
        rest = result.rest
      } catch (err) {
        this.#fail(err)
        return
      }
      this.#flushQueued()
      if (rest.length > 0) this.#deliver(rest)
      return
    }
    this.#deliver(chunk)
  }

  /** `done` runs once `data` may be reused: at once when it was copied (encrypted or held back), else when the inner socket is done. */
  write(data: Uint8Array, done?: WriteDone): boolean {
    if (this.#failed) {
      if (done) process.nextTick(done, new Error('encrypted connection failed'))
      return false
    }
    if (this.#initiator) {
      if (!this.#requestSent) {
        if (!this.#initiator.offersPlaintext) {
          const ok = this.#sendRequest(data)
          if (done) process.nextTick(done)
          return ok
        }
        // A peer may select plaintext, and Transmission then reads the IA as
        // plaintext although it came RC4-encrypted: with plaintext offered the IA
        // stays empty and our handshake waits for the select (one round trip more).
        if (!this.#sendRequest(new Uint8Array(0))) {
          if (done) process.nextTick(done, new Error('encrypted connection failed'))
          return false
        }
      }
      const copy = Buffer.from(data)
      this.#queued.push(copy)
      this.#queuedBytes += copy.length
      if (done) process.nextTick(done)
      return true
    }
    if (!this.#encrypt) return this.#inner.write(data, done)
    if (done) process.nextTick(done)
    if (data.length !== blockPool.size) return this.#inner.write(this.#encrypt.update(data))
    const out = blockPool.acquire()
    this.#encrypt.updateInto(data, out)
    return this.#inner.write(out, () => blockPool.release(out))
  }

  cork(): void {
    this.#inner.cork()
  }

  uncork(): void {
    this.#inner.uncork()
  }

  setNoDelay(noDelay?: boolean): this {
    this.#inner.setNoDelay(noDelay)
    return this
  }

  pause(): this {
    this.#inner.pause()
    return this
  }

  resume(): this {
    this.#inner.resume()
    return this
  }

  destroy(): this {
    this.#inner.destroy()
    return this
  }

  #sendRequest(initialPayload: Uint8Array): boolean {
    if (this.#requestSent || !this.#initiator || this.#failed) return true
    this.#requestSent = true
    let request: Buffer
    try {
      request = this.#initiator.request(Buffer.from(initialPayload.buffer, initialPayload.byteOffset, initialPayload.byteLength))
    } catch (err) {
      this.#fail(err)
      return false
    }
    return this.#inner.write(request)
  }

  #flushQueued(): void {
    const queued = this.#queued
    this.#queued = []
    this.#queuedBytes = 0
    for (const data of queued) this.#inner.write(this.#encrypt ? (this.#encrypt.updateInPlace(data), data) : data)
  }

  #deliver(chunk: Buffer): void {
    this.#decrypt?.updateInPlace(chunk)
    if (this.#sink) this.#sink(chunk)
    else if (this.#readInner) this.emit('data', chunk)
    else this.#early.push(Buffer.from(chunk))
  }

  #fail(err: unknown): void {
    this.#failed = true
    const message = err instanceof MseError ? `encryption handshake failed: ${err.message}` : `encryption handshake failed: ${String(err)}`
    if (this.listenerCount('error') > 0) this.emit('error', new Error(message))
    this.#inner.destroy()
  }
}
