import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Rc4 } from '../../../src/transport/rc4.ts'

// RFC 6229 section 2, key 0x0102030405 (40 bits): the key stream at these offsets.
const RFC6229_KEY1: [number, string][] = [
  [0x0000, 'b2396305f03dc027ccc3524a0a1118a8'],
  [0x0010, '6982944f18fc82d589c403a47a0d0919'],
  [0x00f0, '28cb1132c96ce286421dcaadb8b69eae'],
  [0x0100, '1cfcf62b03eddb641d77dfcf7f8d8c93'],
  [0x03f0, '45129048e6a0ed0b56b490338f078da5'],
  [0x0400, '30abbcc7c20b01609f23ee2d5f6bb7df'],
  [0x0ff0, '068326a2118416d21f9d04b2cd1ca050'],
  [0x1000, 'ff25b58995996707e51fbdf08b34d875'],
]

test('RC4 key stream matches RFC 6229 (key 0x0102030405) at every listed offset', () => {
  const stream = new Uint8Array(0x1010)
  new Rc4(Buffer.from('0102030405', 'hex')).updateInPlace(stream)
  for (const [offset, hex] of RFC6229_KEY1) {
    assert.equal(Buffer.from(stream.subarray(offset, offset + 16)).toString('hex'), hex, `offset 0x${offset.toString(16)}`)
  }
})

test('discard(1024) then the stream continues at offset 1024 (as MSE uses it)', () => {
  const rc4 = new Rc4(Buffer.from('0102030405', 'hex'))
  rc4.discard(1024)
  assert.equal(rc4.update(Buffer.alloc(16)).toString('hex'), '30abbcc7c20b01609f23ee2d5f6bb7df')
})

test('classic vectors: "Key"/"Plaintext", "Secret"/"Attack at dawn"', () => {
  assert.equal(new Rc4(Buffer.from('Key')).update(Buffer.from('Plaintext')).toString('hex'), 'bbf316e8d940af0ad3')
  assert.equal(new Rc4(Buffer.from('Secret')).update(Buffer.from('Attack at dawn')).toString('hex'), '45a01f645fc35b383552544b9bf5')
})

test('update leaves its input alone, updateInPlace works on a range, and chunks chain', () => {
  const data = Buffer.from('the same bytes in pieces of any size')
  const whole = new Rc4(Buffer.from('k')).update(data)
  assert.equal(data.toString(), 'the same bytes in pieces of any size')
  const rc4 = new Rc4(Buffer.from('k'))
  const copy = Buffer.from(data)
  rc4.updateInPlace(copy, 0, 5)
  rc4.updateInPlace(copy, 5, 6)
  rc4.updateInPlace(copy, 6)
  assert.deepEqual(copy, whole)
  assert.deepEqual(new Rc4(Buffer.from('k')).update(whole), data)
})

test('a key of 0 or over 256 bytes is refused', () => {
  assert.throws(() => new Rc4(new Uint8Array(0)), RangeError)
  assert.throws(() => new Rc4(new Uint8Array(257)), RangeError)
})

test('the WebAssembly path and the JS path give the same stream, across 64 KiB calls and mixed piece sizes', () => {
  const key = Buffer.from('mixed sizes')
  const total = 200_000
  const reference = new Uint8Array(total)
  // One byte at a time: always the JS path.
  const byByte = new Rc4(key)
  for (let k = 0; k < total; k++) byByte.updateInPlace(reference, k, k + 1)
  const mixed = new Uint8Array(total)
  const rc4 = new Rc4(key)
  let off = 0
  // Sizes of every remainder mod 4 on the WebAssembly path (it runs four bytes a turn, then the rest).
  for (const size of [1, 255, 256, 70_000, 3, 65_536 - 1024, 300, 257, 258, 259, 1027]) {
    rc4.updateInPlace(mixed, off, off + size)
    off += size
  }
  rc4.updateInPlace(mixed, off)
  assert.deepEqual(Buffer.from(mixed), Buffer.from(reference))
})

test('the WebAssembly bytes in rc4.ts are what scripts/assemble-rc4-wasm.mjs makes of the text beside them', () => {
  const source = readFileSync(new URL('../../../src/transport/rc4.ts', import.meta.url), 'utf8')
  const literal = /const RC4_WASM_HEX =\n((?:\s*'[0-9a-f]+'(?: \+)?\n)+)/.exec(source)
  assert.ok(literal, 'RC4_WASM_HEX found in rc4.ts')
  const inSource = literal[1].replace(/[\s'+]/g, '')
  const script = new URL('../../../scripts/assemble-rc4-wasm.mjs', import.meta.url)
  assert.equal(inSource, execFileSync(process.execPath, [script.pathname], { encoding: 'utf8' }).trim())
})
