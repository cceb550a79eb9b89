import { test } from 'node:test'
import assert from 'node:assert/strict'
import { networkInterfaces } from 'node:os'
import { isLocalAddress, ownAddressCheck } from '../../../src/core/own-address.ts'

test('bound to one address: only that address at our port is us', () => {
  const isOwn = ownAddressCheck(40000, '127.0.0.1')
  assert.equal(isOwn('127.0.0.1', 40000), true)
  assert.equal(isOwn('::ffff:127.0.0.1', 40000), true, 'IPv4-mapped text is the same address')
  assert.equal(isOwn('127.0.0.4', 40000), false, 'another loopback address may be another peer on the same port number')
  assert.equal(isOwn('127.0.0.1', 40001), false)
})

test('bound to every address: any address of this machine at our port is us', () => {
  for (const bound of [undefined, '', '0.0.0.0', '::']) {
    const isOwn = ownAddressCheck(40000, bound)
    assert.equal(isOwn('127.0.0.1', 40000), true, String(bound))
    assert.equal(isOwn('127.3.2.1', 40000), true, 'all of 127/8 reaches us')
    assert.equal(isOwn('::1', 40000), true)
    assert.equal(isOwn('[::1]', 40000), true)
    assert.equal(isOwn('198.51.100.9', 40000), false, 'not ours')
    assert.equal(isOwn('127.0.0.1', 40001), false, 'another port')
  }
  const ours = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal)
  for (const a of ours) assert.equal(ownAddressCheck(40000)(a!.address.replace(/%.*$/, ''), 40000), true, a!.address)
})

test('port 0 (not listening): nothing is us', () => {
  assert.equal(ownAddressCheck(0)('127.0.0.1', 0), false)
  assert.equal(ownAddressCheck(0)('127.0.0.1', 6881), false)
})

test('names and documentation addresses are not local', () => {
  assert.equal(isLocalAddress('localhost'), false, 'names are never resolved here')
  assert.equal(isLocalAddress('192.0.2.1'), false)
  assert.equal(isLocalAddress('2001:db8::1'), false)
})
