import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDiffieHellman, createHash } from 'node:crypto'
import { generateDhKeyPair, MSE_PRIME, streamCiphers, type DhKeyPair } from '../../../src/transport/mse-crypto.ts'
import { Rc4 } from '../../../src/transport/rc4.ts'
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MAX_PAD,
  MseError,
  MseInitiator,
  MseResponder,
  type MseResult,
  type ResponderResult,
} from '../../../src/transport/mse-handshake.ts'

const INFO_HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex')
const OTHER_HASH = Buffer.alloc(20, 7)
const sha1 = (...parts: (string | Buffer)[]) => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest()
const leftPad96 = (b: Buffer) => Buffer.concat([Buffer.alloc(96 - b.length), b])

function responderFor(keys: DhKeyPair, opts: { select?: (provide: number) => number; padLength?: () => number } = {}): MseResponder {
  const byReq2 = new Map([INFO_HASH, OTHER_HASH].map((h) => [sha1('req2', h).toString('hex'), h]))
  return new MseResponder({
    keys,
    padLength: opts.padLength,
    findSkey: (req2Hash) => byReq2.get(req2Hash.toString('hex')),
    select: opts.select ?? ((provide) => (provide & CRYPTO_RC4 ? CRYPTO_RC4 : provide & CRYPTO_PLAINTEXT)),
  })
}

/** Runs both sides against each other, every byte stream cut into `chunk`-byte pieces (0 = whole). */
async function runHandshake(opts: {
  chunk: number
  provide: number
  select?: (provide: number) => number
  padLength?: () => number
  initialPayload?: Buffer
  /** Bytes the initiator sends after its request, as payload. */
  afterRequest?: Buffer
}): Promise<{ a: MseResult; b: ResponderResult; bRest: Buffer }> {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: INFO_HASH, provide: opts.provide, padLength: opts.padLength })
  const b = responderFor(kb, opts)
  const pieces = (buf: Buffer) => {
    const size = opts.chunk || buf.length || 1
    const out: Buffer[] = []
    for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size))
    return out
  }
  const toA: Buffer[] = []
  for (const p of pieces(a.hello())) toA.push(...b.push(p))
  for (const p of pieces(Buffer.concat(toA.splice(0)))) a.push(p)
  assert.ok(a.needsPayload)
  const request = a.request(opts.initialPayload)
  const toB = Buffer.concat([request, opts.afterRequest ?? Buffer.alloc(0)])
  const leftover: Buffer[] = []
  for (const p of pieces(toB)) {
    if (b.result) leftover.push(p)
    else toA.push(...b.push(p))
  }
  assert.ok(b.result, 'responder finished')
  for (const p of pieces(Buffer.concat(toA))) a.push(p)
  assert.ok(a.result, 'initiator finished')
  return { a: a.result, b: b.result, bRest: Buffer.concat([b.result.rest, ...leftover]) }
}

test('our DH secret equals the one node:crypto computes independently, both ways', async () => {
  for (let round = 0; round < 10; round++) {
    const ours = await generateDhKeyPair()
    assert.equal(ours.publicKey.length, 96)
    const theirs = createDiffieHellman(MSE_PRIME, 2)
    theirs.generateKeys()
    const s1 = ours.secret(leftPad96(theirs.getPublicKey()))
    const s2 = leftPad96(theirs.computeSecret(ours.publicKey))
    assert.deepEqual(s1, s2)
  }
})

test('RC4 keys are SHA1("keyA"|"keyB", S, SKEY) with 1024 bytes discarded', () => {
  const secret = Buffer.alloc(96, 0x5a)
  const { encrypt, decrypt } = streamCiphers(secret, INFO_HASH, true)
  const expectA = new Rc4(createHash('sha1').update('keyA').update(secret).update(INFO_HASH).digest())
  const expectB = new Rc4(createHash('sha1').update('keyB').update(secret).update(INFO_HASH).digest())
  const skip = Buffer.alloc(1024)
  expectA.updateInPlace(skip)
  expectB.updateInPlace(skip)
  assert.deepEqual(encrypt.update(Buffer.alloc(32)), expectA.update(Buffer.alloc(32)))
  assert.deepEqual(decrypt.update(Buffer.alloc(32)), expectB.update(Buffer.alloc(32)))
  const b = streamCiphers(secret, INFO_HASH, false)
  assert.deepEqual(b.decrypt.update(Buffer.alloc(8)), new Rc4(sha1('keyA', secret, INFO_HASH)).update(Buffer.alloc(1032)).subarray(1024))
})

test('the request carries req1 and req2 xor req3 as the spec computes them', async () => {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: INFO_HASH, provide: CRYPTO_RC4, padLength: () => 0 })
  const hello = a.hello()
  assert.deepEqual(hello, ka.publicKey, 'PadA of length 0: just Ya')
  a.push(kb.publicKey)
  const request = a.request()
  const secret = kb.secret(ka.publicKey)
  assert.deepEqual(request.subarray(0, 20), sha1('req1', secret))
  const xored = request.subarray(20, 40)
  const req2 = sha1('req2', INFO_HASH)
  const req3 = sha1('req3', secret)
  assert.deepEqual(Buffer.from(xored.map((v, i) => v ^ req3[i])), req2)
  const plain = new Rc4(sha1('keyA', secret, INFO_HASH)).update(Buffer.concat([Buffer.alloc(1024), request.subarray(40)])).subarray(1024)
  assert.deepEqual(plain.subarray(0, 8), Buffer.alloc(8), 'VC')
  assert.equal(plain.readUInt32BE(8), CRYPTO_RC4, 'crypto_provide')
  assert.equal(plain.readUInt16BE(12), 0, 'len(PadC)')
  assert.equal(plain.readUInt16BE(14), 0, 'len(IA)')
})

for (const chunk of [1, 0]) {
  const how = chunk ? 'fed one byte at a time' : 'fed in one piece'
  test(`handshake ${how}: RC4 selected, IA arrives, then the payload streams both ways`, async () => {
    const ia = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48, 1)])
    const { a, b } = await runHandshake({ chunk, provide: CRYPTO_RC4 | CRYPTO_PLAINTEXT, initialPayload: ia })
    assert.equal(a.method, 'rc4')
    assert.equal(b.method, 'rc4')
    assert.deepEqual(b.skey, INFO_HASH)
    assert.deepEqual(b.initialPayload, ia)
    const msg = Buffer.from('from B to A')
    assert.deepEqual(a.decrypt!.update(b.encrypt!.update(msg)), msg)
    const back = Buffer.from('from A to B')
    assert.deepEqual(b.decrypt!.update(a.encrypt!.update(back)), back)
  })
}

test('one byte at a time, what follows the request reaches the responder after its result', async () => {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: INFO_HASH, provide: CRYPTO_RC4 })
  const b = responderFor(kb)
  const toA = Buffer.concat(b.push(a.hello()))
  a.push(toA)
  const stream = a.request(Buffer.from('IA'))
  const payload = Buffer.from('and then this')
  const toA2: Buffer[] = []
  for (const byte of stream) toA2.push(...b.push(Buffer.from([byte])))
  assert.deepEqual(b.result!.initialPayload, Buffer.from('IA'))
  assert.equal(b.result!.rest.length, 0)
  a.push(Buffer.concat(toA2))
  const bRest = b.result!.decrypt!.update(a.result!.encrypt!.update(payload))
  assert.deepEqual(bRest, payload)
})

test('plaintext selected: the payload after the handshake is not encrypted', async () => {
  for (const chunk of [1, 0]) {
    const { a, b, bRest } = await runHandshake({ chunk, provide: CRYPTO_PLAINTEXT | CRYPTO_RC4, select: () => CRYPTO_PLAINTEXT, afterRequest: Buffer.from('plain') })
    assert.equal(a.method, 'plaintext')
    assert.equal(b.method, 'plaintext')
    assert.equal(a.encrypt, undefined)
    assert.equal(b.decrypt, undefined)
    assert.equal(bRest.toString(), 'plain')
  }
})

for (const pad of [0, MAX_PAD]) {
  test(`every pad of ${pad} bytes, one byte at a time and in one piece`, async () => {
    for (const chunk of [1, 0]) {
      const { a, b } = await runHandshake({ chunk, provide: CRYPTO_RC4, padLength: () => pad, initialPayload: Buffer.from('hi') })
      assert.equal(a.method, 'rc4')
      assert.deepEqual(b.initialPayload, Buffer.from('hi'))
    }
  })
}

test('garbage after the DH key: the responder refuses with one line once 532 bytes show no request', async () => {
  const kb = await generateDhKeyPair()
  const ka = await generateDhKeyPair()
  const b = responderFor(kb)
  b.push(ka.publicKey)
  assert.throws(() => b.push(Buffer.alloc(MAX_PAD + 20, 0xee)), (err: Error) => err instanceof MseError && /no MSE request within 532 bytes/.test(err.message) && !err.message.includes('\n'))
})

test('garbage after the responder key: the initiator refuses once no VC can follow', async () => {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: INFO_HASH, provide: CRYPTO_RC4 })
  a.push(kb.publicKey)
  a.request()
  assert.throws(() => a.push(Buffer.alloc(MAX_PAD + 8, 0x11)), /no verification constant within 520 bytes/)
})

test('a DH key out of range (0, 1, P-1, P) is refused', async () => {
  const kb = await generateDhKeyPair()
  const pMinus1 = Buffer.from(MSE_PRIME)
  pMinus1[95] -= 1
  const one = Buffer.alloc(96)
  one[95] = 1
  for (const y of [Buffer.alloc(96), one, pMinus1, Buffer.from(MSE_PRIME)]) {
    assert.throws(() => responderFor(kb).push(y), (err: Error) => err instanceof MseError && /bad DH key/.test(err.message))
  }
})

test('a torrent we do not serve, and a provide we cannot meet, are refused', async () => {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: Buffer.alloc(20, 9), provide: CRYPTO_RC4 })
  const b = responderFor(kb)
  a.push(Buffer.concat(b.push(a.hello())))
  assert.throws(() => b.push(a.request()), /torrent we do not serve/)

  await assert.rejects(runHandshake({ chunk: 0, provide: CRYPTO_PLAINTEXT, select: (p) => p & CRYPTO_RC4 }), /peer offers plaintext, which we do not accept/)
})

test('the initiator refuses a selection it did not offer', async () => {
  await assert.rejects(runHandshake({ chunk: 0, provide: CRYPTO_RC4, select: () => CRYPTO_PLAINTEXT }), /peer selected crypto method 1, we offered RC4/)
})

test('deferSecret: both sides wait for computeSecret(), keeping what arrives meanwhile', async () => {
  const [ka, kb] = await Promise.all([generateDhKeyPair(), generateDhKeyPair()])
  const a = new MseInitiator({ keys: ka, skey: INFO_HASH, provide: CRYPTO_RC4, deferSecret: true })
  const b = new MseResponder({
    keys: kb,
    deferSecret: true,
    findSkey: (hash) => (hash.equals(sha1('req2', INFO_HASH)) ? INFO_HASH : undefined),
    select: () => CRYPTO_RC4,
  })
  assert.deepEqual(b.push(a.hello()), [], 'nothing sent before the secret')
  assert.ok(b.needsSecret)
  const yb = Buffer.concat(b.computeSecret())
  assert.ok(!b.needsSecret)
  a.push(yb.subarray(0, 100))
  assert.ok(a.needsSecret && !a.needsPayload)
  a.push(yb.subarray(100))
  a.computeSecret()
  assert.ok(a.needsPayload)
  const reply = b.push(a.request(Buffer.from('IA')))
  assert.deepEqual(b.result!.initialPayload, Buffer.from('IA'))
  a.push(Buffer.concat(reply))
  assert.equal(a.result!.method, 'rc4')
})
