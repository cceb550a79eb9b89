// The arithmetic of Message Stream Encryption (MSE/PE): the 768-bit
// Diffie-Hellman group, the hashes that prove knowledge of the shared secret
// and the info hash, and the RC4 keys. No sockets, no state machine.
//
// A key pair comes from generateKeyPair('dh'), in libuv's thread pool (about
// 0.3 ms of work); crypto.createDiffieHellman(prime) would instead re-check the
// prime on the event loop each time (~30 ms), which 200 handshakes at once
// cannot afford. The peer's public key is wrapped in a SubjectPublicKeyInfo so
// crypto.diffieHellman() can take it.
import { createHash, createPublicKey, diffieHellman, generateKeyPair } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { Rc4 } from './rc4.ts'

/** MSE's prime P (768 bits); the generator is 2. */
export const MSE_PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
)
export const MSE_GENERATOR = 2
/** Public keys and the shared secret are sent and hashed left-padded to the prime's length. */
export const DH_KEY_LENGTH = 96
/** The first 1024 bytes of each RC4 key stream are thrown away. */
export const RC4_DISCARD = 1024

export interface DhKeyPair {
  /** Our public key Y, 96 bytes (exported on first use: ~0.1 ms). */
  readonly publicKey: Buffer
  /** S from the peer's 96-byte public key; throws on a key outside 2..P-2. */
  secret(peerPublicKey: Buffer): Buffer
}

// Node supports 'dh' here (its docs list it); @types/node 20 leaves it out of the overloads.
const generateDh = generateKeyPair as unknown as (
  type: 'dh',
  options: { prime: Buffer; generator: number },
  callback: (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => void,
) => void

/** A fresh key pair, made off the event loop. */
export function generateDhKeyPair(): Promise<DhKeyPair> {
  return new Promise((resolve, reject) => {
    generateDh('dh', { prime: MSE_PRIME, generator: MSE_GENERATOR }, (err, publicKey, privateKey) => {
      if (err) reject(err)
      else resolve(keyPairFrom(publicKey, privateKey))
    })
  })
}

function keyPairFrom(publicKey: KeyObject, privateKey: KeyObject): DhKeyPair {
  let exported: Buffer | undefined
  return {
    get publicKey(): Buffer {
      exported ??= leftPad(publicValueOf(publicKey.export({ format: 'der', type: 'spki' })), DH_KEY_LENGTH)
      return exported
    },
    secret(peerPublicKey: Buffer): Buffer {
      if (peerPublicKey.length !== DH_KEY_LENGTH) throw new Error(`DH public key of ${peerPublicKey.length} bytes, expected ${DH_KEY_LENGTH}`)
      if (!inGroup(peerPublicKey)) throw new Error('DH public key out of range')
      const peer = createPublicKey({ key: spkiFor(peerPublicKey), format: 'der', type: 'spki' })
      return leftPad(diffieHellman({ privateKey, publicKey: peer }), DH_KEY_LENGTH)
    },
  }
}

/** 1 < Y < P-1: the values 0, 1 and P-1 would make the secret guessable. */
function inGroup(y: Buffer): boolean {
  let small = true
  for (let i = 0; i < y.length - 1; i++) if (y[i] !== 0) small = false
  if (small && y[y.length - 1] <= 1) return false
  const pMinus1 = Buffer.from(MSE_PRIME)
  pMinus1[pMinus1.length - 1] -= 1 // P ends in 0x63: no borrow
  return Buffer.compare(y, pMinus1) < 0
}

// DER of AlgorithmIdentifier { dhKeyAgreement (1.2.840.113549.1.3.1), DHParameter { P, 2 } }.
const ALGORITHM = Buffer.concat([
  Buffer.from('3073' + '06092a864886f70d010301' + '3066' + '026100', 'hex'),
  MSE_PRIME,
  Buffer.from('020102', 'hex'),
])

/** SubjectPublicKeyInfo { ALGORITHM, BIT STRING { INTEGER y } }. */
function spkiFor(y: Buffer): Buffer {
  let start = 0
  while (start < y.length - 1 && y[start] === 0) start++
  const value = y.subarray(start)
  const signPad = value[0] & 0x80 ? 1 : 0
  const intLen = value.length + signPad
  const integer = Buffer.concat([Buffer.from([0x02, intLen]), signPad ? Buffer.from([0]) : Buffer.alloc(0), value])
  const bitString = Buffer.concat([Buffer.from([0x03, integer.length + 1, 0x00]), integer])
  const body = Buffer.concat([ALGORITHM, bitString])
  return Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body])
}

/** The INTEGER inside the BIT STRING that ends a DH SubjectPublicKeyInfo made by OpenSSL. */
function publicValueOf(spki: Buffer): Buffer {
  let off = 3 + ALGORITHM.length // 30 81 LL, then the algorithm
  if (spki[off] !== 0x03) throw new Error('unexpected DH public key encoding')
  off += spki[off + 1] & 0x80 ? 2 + (spki[off + 1] & 0x7f) : 2
  off += 1 // unused-bits byte
  if (spki[off] !== 0x02) throw new Error('unexpected DH public key encoding')
  const len = spki[off + 1]
  return spki.subarray(off + 2, off + 2 + len)
}

function leftPad(value: Buffer, length: number): Buffer {
  let start = 0
  while (value.length - start > length && value[start] === 0) start++
  const v = value.subarray(start)
  if (v.length > length) throw new Error(`DH value of ${v.length} bytes`)
  if (v.length === length) return Buffer.from(v)
  const out = Buffer.alloc(length)
  v.copy(out, length - v.length)
  return out
}

/** HASH(...) of the spec: SHA-1 over the parts in order. */
export function mseHash(...parts: (string | Buffer)[]): Buffer {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** HASH('req1', S): the initiator's sync marker. */
export function req1(secret: Buffer): Buffer {
  return mseHash('req1', secret)
}

/** HASH('req2', SKEY): what a receiver precomputes per torrent to find SKEY from req2 xor req3. */
export function req2(skey: Buffer): Buffer {
  return mseHash('req2', skey)
}

export function req3(secret: Buffer): Buffer {
  return mseHash('req3', secret)
}

export function xor20(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(20)
  for (let i = 0; i < 20; i++) out[i] = a[i] ^ b[i]
  return out
}

/**
 * RC4 for each direction: the initiator (A) sends with HASH('keyA', S, SKEY)
 * and the receiver (B) with HASH('keyB', S, SKEY), each past its first 1024 bytes.
 */
export function streamCiphers(secret: Buffer, skey: Buffer, initiator: boolean): { encrypt: Rc4; decrypt: Rc4 } {
  const a = new Rc4(mseHash('keyA', secret, skey))
  const b = new Rc4(mseHash('keyB', secret, skey))
  a.discard(RC4_DISCARD)
  b.discard(RC4_DISCARD)
  return initiator ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a }
}
