import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode as magnetDecode } from 'magnet-uri'
import { FriendError } from '../../../src/core/types.ts'
import { MetainfoError } from '../../../src/metainfo/metainfo.ts'
import { magnetUri, parseMagnetOrInfoHash } from '../../../src/metainfo/magnet.ts'

const HASH_HEX = 'c9e15763f722f23e98a29decdfae341b98d53056'

/** RFC 4648 base32, written out here so the parser is checked against an independent encoder. */
function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += alphabet[(value >>> bits) & 31]
    }
  }
  return out
}

function throwsOneLine(text: string, pattern: RegExp): void {
  assert.throws(() => parseMagnetOrInfoHash(text), (err: unknown) => {
    assert.ok(err instanceof MetainfoError, `${text}: expected MetainfoError, got ${String(err)}`)
    assert.ok(err instanceof FriendError)
    assert.match(err.message, pattern, text)
    assert.ok(!err.message.includes('\n'), 'message is one line')
    return true
  })
}

test('a hex magnet with name, trackers and peers', () => {
  const uri = `magnet:?xt=urn:btih:${HASH_HEX.toUpperCase()}&dn=Big+Buck%20Bunny%2B1`
    + '&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce'
    + '&tr=http://a.example/announce?passkey=abc=&tr=https%3A%2F%2Fb.example%2Fannounce'
    + '&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce' // duplicate
    + '&tr=wss%3A%2F%2Fwebtorrent.example&tr=not%20a%20url&tr=%E0%A4%A'
    + '&x.pe=10.0.0.1:6881&x.pe=%5B2001:db8::1%5D:51413&x.pe=10.0.0.1:6881&x.pe=nonsense&x.pe=1.2.3.4:0&x.pe=1.2.3.4:99999'
    + '&ws=http%3A%2F%2Fseed.example%2F&kt=a+b&unknown=1'
  const link = parseMagnetOrInfoHash(uri)
  assert.equal(link.infoHashHex, HASH_HEX)
  assert.deepEqual(link.infoHash, Buffer.from(HASH_HEX, 'hex'))
  assert.equal(link.name, 'Big Buck Bunny+1')
  assert.deepEqual(link.tiers, [
    ['udp://tracker.example:1337/announce'],
    ['http://a.example/announce?passkey=abc='],
    ['https://b.example/announce'],
  ])
  assert.deepEqual(link.peers, [{ host: '10.0.0.1', port: 6881 }, { host: '2001:db8::1', port: 51413 }])
})

test('a base32 magnet gives the same hash as magnet-uri decodes', () => {
  const hash = Buffer.from(HASH_HEX, 'hex')
  const b32 = base32(hash)
  assert.equal(b32.length, 32)
  const uri = `magnet:?xt=urn:btih:${b32}`
  const link = parseMagnetOrInfoHash(uri)
  assert.equal(link.infoHashHex, HASH_HEX)
  assert.equal(magnetDecode(uri).infoHash, HASH_HEX)
  assert.equal(parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${b32.toLowerCase()}`).infoHashHex, HASH_HEX)
  assert.equal(link.name, undefined)
  assert.deepEqual(link.tiers, [])
  assert.deepEqual(link.peers, [])
})

test('bare info hashes: 40 hex digits or 32 base32 characters, surrounding space ignored', () => {
  const bare = parseMagnetOrInfoHash(`  ${HASH_HEX.toUpperCase()}\n`)
  assert.equal(bare.infoHashHex, HASH_HEX)
  assert.deepEqual(bare.tiers, [])
  assert.equal(parseMagnetOrInfoHash(base32(Buffer.from(HASH_HEX, 'hex'))).infoHashHex, HASH_HEX)
})

test('BEP 52: a hybrid magnet keeps both hashes and uses its v1 one on the wire; a v2-only one uses the SHA-256\'s first 20 bytes', () => {
  const v2Hex = 'ab'.repeat(16) + 'cd'.repeat(16)
  const v2 = `urn:btmh:1220${v2Hex}`
  const hybrid = parseMagnetOrInfoHash(`magnet:?xt=${v2}&xt=urn:btih:${HASH_HEX}`)
  assert.equal(hybrid.infoHashHex, HASH_HEX)
  assert.equal(hybrid.infoHashV2?.toString('hex'), v2Hex)
  const only = parseMagnetOrInfoHash(`magnet:?xt=${v2}&dn=x`)
  assert.equal(only.infoHashHex, v2Hex.slice(0, 40))
  assert.equal(only.infoHashV2?.toString('hex'), v2Hex)
  assert.equal(only.name, 'x')
  const bare = parseMagnetOrInfoHash(v2Hex.toUpperCase())
  assert.equal(bare.infoHashV2?.toString('hex'), v2Hex)
  // The writer gives back what was read: btih and btmh for a hybrid, btmh alone for v2-only.
  assert.equal(magnetUri({ infoHashHex: only.infoHashHex, infoHashV2: only.infoHashV2, v1: false, name: 'x' }), `magnet:?xt=${v2}&dn=x`)
  assert.equal(magnetUri({ infoHashHex: HASH_HEX, infoHashV2: hybrid.infoHashV2 }), `magnet:?xt=urn:btih:${HASH_HEX}&xt=${v2}`)
  throwsOneLine(`magnet:?xt=urn:btmh:1114${v2Hex}`, /must be "1220" and 64 hex digits \(a SHA-256 multihash\)/)
  throwsOneLine(`magnet:?xt=${v2}&xt=urn:btmh:1220${'ef'.repeat(32)}`, /names two different v2 torrents/)
})

test('garbage gives one clear line', () => {
  throwsOneLine('hello world', /neither a magnet link .* nor a 40-hex-digit info hash/)
  throwsOneLine('http://example.com/file.torrent', /neither a magnet link/)
  throwsOneLine('x'.repeat(500), /neither a magnet link/)
  throwsOneLine('magnet:?dn=thing&tr=udp%3A%2F%2Fa%3A1', /no info hash: it needs an xt=urn:btih:.* or xt=urn:btmh:1220/)
  throwsOneLine('magnet:?xt=urn:sha1:abcdef', /no info hash/)
  throwsOneLine('magnet:?xt=urn:btih:abc123', /"abc123" must be 40 hex digits or 32 base32/)
  throwsOneLine(`magnet:?xt=urn:btih:${HASH_HEX}00`, /must be 40 hex digits or 32 base32/)
  throwsOneLine(`magnet:?xt=urn:btih:${'g'.repeat(40)}`, /must be 40 hex digits/)
  throwsOneLine(`magnet:?xt=urn:btih:${'1'.repeat(32)}`, /32 base32 characters \(A-Z, 2-7\)/)
  throwsOneLine('z'.repeat(39) + 'q', /must be 40 hex digits/)
  throwsOneLine('', /neither a magnet link/)
})

test('magnetUri writes a link that parses back to the same thing', () => {
  const tiers = [['udp://tracker.example:1337/announce'], ['http://a.example/announce?passkey=a&b=c']]
  const uri = magnetUri({ infoHashHex: HASH_HEX, name: 'Some name & more', tiers })
  assert.match(uri, new RegExp(`^magnet:\\?xt=urn:btih:${HASH_HEX}&dn=Some\\+name\\+%26\\+more&tr=`))
  const back = parseMagnetOrInfoHash(uri)
  assert.equal(back.infoHashHex, HASH_HEX)
  assert.equal(back.name, 'Some name & more')
  assert.deepEqual(back.tiers, tiers)
  assert.equal(magnetUri({ infoHashHex: HASH_HEX.toUpperCase() }), `magnet:?xt=urn:btih:${HASH_HEX}`)
  assert.throws(() => magnetUri({ infoHashHex: 'abc' }), MetainfoError)
})
