// One test per bad .torrent or magnet link (issue #6): each is refused with a
// MetainfoError whose one line names the problem, or, for names that are merely
// unportable, accepted with the sanitised path stated here. docs/robustness.md
// ("Bad .torrent files and links") has one row per test below.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import bencode from 'bencode'
import { FriendError } from '../../../src/core/types.ts'
import { MetainfoError, parseTorrentFile } from '../../../src/metainfo/metainfo.ts'
import { parseMagnetOrInfoHash } from '../../../src/metainfo/magnet.ts'
import { resolveInside, safePathComponents } from '../../../src/metainfo/safe-path.ts'
import { buildInfo, patternBytes, sha1, torrentBytes } from './build-torrent.ts'

const KiB = 1024
const HASH_HEX = 'c9e15763f722f23e98a29decdfae341b98d53056'

function assertOneLineMetainfoError(err: unknown, pattern: RegExp, label: string): true {
  assert.ok(err instanceof MetainfoError, `${label}: expected MetainfoError, got ${String(err)}`)
  assert.ok(err instanceof FriendError)
  assert.match(err.message, pattern, label)
  assert.ok(!err.message.includes('\n'), `${label}: message is one line`)
  assert.ok(err.message.length < 300, `${label}: message is short: ${err.message.length} chars`)
  return true
}

/** A good 40 KiB single-file info dict, changed by `change`. */
function single(change: (info: Record<string, unknown>) => void = () => {}): Buffer {
  const info = buildInfo('ok.bin', 16 * KiB, patternBytes(40 * KiB))
  change(info)
  return torrentBytes(info)
}

/** A multi-file torrent named "m" whose pieces fit the files' total. */
function multi(files: { length?: unknown; path?: unknown; attr?: string }[], extra: Record<string, unknown> = {}): Buffer {
  const total = files.reduce((n, f) => n + (typeof f.length === 'number' && f.length > 0 && f.length < 1e9 ? f.length : 0), 0)
  const pieces = Math.max(1, Math.ceil(total / (16 * KiB)))
  return torrentBytes({ name: 'm', 'piece length': 16 * KiB, files, pieces: Buffer.alloc(20 * pieces), ...extra })
}

const GOOD = single()
const BIG_INT = '9'.repeat(400)

const REFUSED: [label: string, data: () => Buffer, pattern: RegExp][] = [
  ['an empty file', () => Buffer.alloc(0), /^not a torrent file: it is empty$/],
  ['an HTML page', () => Buffer.from('<html>nope</html>'), /does not start with a bencoded dictionary/],
  ['a bencoded list, not a dict', () => Buffer.from('li1ei2ee'), /does not start with a bencoded dictionary/],
  ['a file cut in its first 50 bytes', () => GOOD.subarray(0, 50), /data ends early \(truncated at byte 50\)/],
  ['a file missing its last byte', () => GOOD.subarray(0, GOOD.length - 1), /truncated/],
  ['a stray byte where a value should be', () => Buffer.from('d4:infoXe'), /unexpected byte 0x58 at byte 7/],
  ['a dictionary key that is not a string', () => Buffer.from('di1e4:spame'), /dictionary key at byte 1 is not a string/],
  ['a malformed integer', () => Buffer.from('d4:infod6:lengthi1.5eee'), /malformed bencoded integer/],
  ['a string claiming 10^14 bytes', () => Buffer.from('d4:info99999999999999:x'), /truncated/],
  ['a string length of 400 digits', () => Buffer.from(`d4:info${BIG_INT}:x`), /truncated/],
  ['lists nested a million deep', () => Buffer.from('d4:info' + 'l'.repeat(1_000_000)), /nests deeper than 511 levels/],
  ['a "__proto__" key holding a string, then "length"', () => Buffer.from('d4:infod9:__proto__0:6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee'), /a "__proto__" key hides the keys after it/],
  ['two info keys', () => Buffer.from('d4:infod4:name1:xe4:infod4:name1:yee'), /key "info" appears twice/],
  ['no info dict', () => Buffer.from(bencode.encode({ announce: 'http://x/announce' })), /it has no info dictionary/],
  ['info that is a string', () => Buffer.from(bencode.encode({ info: 'not a dict' })), /its info entry is not a dictionary/],
  ['info that is a list', () => Buffer.from(bencode.encode({ info: [1, 2] })), /its info entry is not a dictionary/],
  ['a v2 (BEP 52) torrent whose pieces root is zeros', () => torrentBytes({ name: 'v2', 'piece length': 16 * KiB, 'meta version': 2, 'file tree': { 'a.txt': { '': { length: 5, 'pieces root': Buffer.alloc(32) } } } }), /file 1's pieces root is all zeros/],
  ['a v2 torrent whose piece length is no power of two', () => torrentBytes({ name: 'v2', 'piece length': 20000, 'meta version': 2, 'file tree': { 'a.txt': { '': { length: 5, 'pieces root': Buffer.alloc(32, 1) } } } }), /piece length 20000 must be a power of two of at least 16 KiB/],
  ['meta version 3', () => torrentBytes({ name: 'v3', 'piece length': 16 * KiB, 'meta version': 3 }), /meta version 3 is newer than BEP 52's 2/],
  ['no name', () => single((i) => delete i.name), /it has no name/],
  ['an empty name (a single file needs one)', () => single((i) => { i.name = '' }), /its name "" is nothing once made safe, and a single file needs one/],
  ['a name that is a list', () => single((i) => { i.name = ['a'] }), /it has no name/],
  ['no pieces', () => single((i) => delete i.pieces), /it has no piece hashes/],
  ['pieces that is a number', () => single((i) => { i.pieces = 20 }), /it has no piece hashes/],
  ['pieces 41 bytes long (not a multiple of 20)', () => single((i) => { i.pieces = Buffer.alloc(41) }), /pieces length 41 is not a multiple of 20/],
  ['too few piece hashes', () => single((i) => { i.pieces = Buffer.alloc(40) }), /2 piece hashes but 40960 bytes in 16384-byte pieces need 3/],
  ['too many piece hashes', () => single((i) => { i.pieces = Buffer.alloc(80) }), /4 piece hashes but 40960 bytes in 16384-byte pieces need 3/],
  ['no piece length', () => single((i) => delete i['piece length']), /it has no piece length/],
  ['a piece length that is a string', () => single((i) => { i['piece length'] = '16384' }), /it has no piece length/],
  ['piece length 0', () => single((i) => { i['piece length'] = 0 }), /piece length 0 must be a positive whole number/],
  ['a negative piece length', () => single((i) => { i['piece length'] = -16384 }), /piece length -16384 must be a positive/],
  ['piece length 64 MiB + 1', () => single((i) => { i['piece length'] = 64 * 1024 * 1024 + 1 }), /piece length 67108865 is over the 64 MiB limit/],
  ['a 400-digit piece length', () => Buffer.from(`d4:infod4:name1:x12:piece lengthi${BIG_INT}e6:lengthi1e6:pieces20:${'a'.repeat(20)}ee`), /piece length \(2\^53 or more\) is over the 64 MiB limit/],
  ['neither length nor files', () => single((i) => delete i.length), /it has neither a length nor a file list/],
  ['both length and files', () => single((i) => { i.files = [{ length: 40 * KiB, path: ['a'] }] }), /it has both a length and a file list/],
  ['a negative length', () => single((i) => { i.length = -1 }), /its length -1 must be a whole number of bytes, 0 or more/],
  ['a length that is a string', () => single((i) => { i.length = '40960' }), /its length is missing or not a number/],
  ['a 400-digit length', () => Buffer.from(`d4:infod6:lengthi${BIG_INT}e4:name1:x12:piece lengthi16384e6:pieces20:${'a'.repeat(20)}ee`), /its length \(2\^53 or more\) is too large/],
  ['a 400-digit negative length', () => Buffer.from(`d4:infod6:lengthi-${BIG_INT}e4:name1:x12:piece lengthi16384e6:pieces20:${'a'.repeat(20)}ee`), /its length \(below -2\^53\) must be a whole number/],
  ['total length 0', () => single((i) => { i.length = 0; i.pieces = Buffer.alloc(0) }), /it holds no data \(total length 0\)/],
  ['a file list that is a dict', () => multi([], { files: { a: 1 } }), /its file list is not a list/],
  ['an empty file list', () => multi([]), /its file list is empty/],
  ['a file entry that is a string', () => multi([], { files: ['a'] }), /file 1 is not a dictionary/],
  ['a file with a negative length', () => multi([{ length: -5, path: ['a'] }]), /file 1's length -5 must be a whole number/],
  ['a file with no length', () => multi([{ length: 5, path: ['a'] }, { path: ['b'] }]), /file 2's length is missing or not a number/],
  ['files summing past 2^53 bytes', () => multi([{ length: 2 ** 52, path: ['a'] }, { length: 2 ** 52, path: ['b'] }]), /total length is too large/],
  ['a file with no path', () => multi([{ length: 5 }]), /file 1 has no path/],
  ['a file whose path is a string', () => multi([{ length: 5, path: 'a' }]), /file 1 has no path/],
  ['a file with an empty path list', () => multi([{ length: 5, path: [] }]), /file 1 has no path/],
  ['a path part that is a number', () => multi([{ length: 5, path: [5] }]), /file 1's path has a part that is not a string/],
  ['the single-file name ".."', () => single((i) => { i.name = '..' }), /its name "\.\." is nothing once made safe/],
]

for (const [label, data, pattern] of REFUSED) {
  test(`torrent refused: ${label}`, async () => {
    await assert.rejects(parseTorrentFile(data()), (err: unknown) => assertOneLineMetainfoError(err, pattern, label))
  })
}

/** Sanitised results: each lands inside the save folder and passes the strict check unchanged. */
function assertUsable(parts: string[]): void {
  assert.deepEqual(safePathComponents(parts), parts, `${parts.join('/')} is already safe`)
  for (const part of parts) assert.ok(Buffer.byteLength(part) <= 255, `${part.length} chars fit 255 bytes`)
  const root = path.resolve('/srv/downloads')
  assert.ok(resolveInside(root, parts).startsWith(root + path.sep))
}

const RENAMED: [label: string, name: string, onDisk: string][] = [
  ['a Windows device name', 'CON', 'CON_'],
  ['a device name with an extension', 'aux.c', 'aux_.c'],
  ['a device name with a double extension', 'nul.tar.gz', 'nul_.tar.gz'],
  ['a COM port name', 'com1.txt', 'com1_.txt'],
  ['a superscript LPT name', 'LPT\u00b9', 'LPT\u00b9_'],
  ['a device name with a space before its extension', 'CON .txt', 'CON _.txt'],
  ['CONIN$', 'conin$', 'conin$_'],
  ['a trailing dot', 'trailing.', 'trailing_'],
  ['a trailing space', 'trailing ', 'trailing_'],
  ['a device name with a trailing dot', 'aux.', 'aux_'],
  ['a name of three dots', '...', '___'],
  ['a drive letter', 'C:', 'C_'],
  ['a name that starts like a drive letter', 'A: New Hope.mkv', 'A_ New Hope.mkv'],
  ['characters Windows forbids', 'Movie: Part 2? <a|b> "c" *', 'Movie_ Part 2_ _a_b_ _c_ _'],
  ['control characters (a terminal escape)', '\u001b[31mred\u0007', '_[31mred_'],
]

for (const [label, name, onDisk] of RENAMED) {
  test(`torrent accepted, renamed: ${label}`, async () => {
    const one = await parseTorrentFile(single((i) => { i.name = name }))
    assert.equal(one.name, onDisk)
    assert.deepEqual(one.files[0].path, [onDisk])
    assertUsable(one.files[0].path)
    const many = await parseTorrentFile(multi([{ length: 5, path: ['dir', name] }, { length: 5, path: [name] }]))
    assert.deepEqual(many.files.map((f) => f.path), [['m', 'dir', onDisk], ['m', onDisk]])
  })
}

test('torrent accepted, renamed: a 300-byte name is cut to 255 bytes keeping its extension and a hash tag', async () => {
  const long = 'a'.repeat(300) + '.mkv'
  const meta = await parseTorrentFile(single((i) => { i.name = long }))
  const tag = sha1(Buffer.from(long)).toString('hex').slice(0, 8)
  assert.equal(meta.name, `${'a'.repeat(255 - 4 - 9)}~${tag}.mkv`)
  assert.equal(Buffer.byteLength(meta.name), 255)
  assertUsable([meta.name])
})

test('torrent accepted, renamed: a long multi-byte name is cut on a character boundary', async () => {
  const long = '\u00f1'.repeat(200) // 400 bytes of "ñ"
  const meta = await parseTorrentFile(multi([{ length: 5, path: [long] }]))
  const part = meta.files[0].path[1]
  assert.ok(Buffer.byteLength(part) <= 255 && Buffer.byteLength(part) >= 250, `${Buffer.byteLength(part)} bytes`)
  assert.match(part, /^ñ+~[0-9a-f]{8}$/)
  assert.ok(!part.includes('\ufffd'), 'no split character')
  assertUsable(meta.files[0].path)
})

test('torrent accepted, renamed: two long names with the same first 300 bytes stay two files', async () => {
  const prefix = 'x'.repeat(300)
  const meta = await parseTorrentFile(multi([{ length: 5, path: [`${prefix}1.txt`] }, { length: 5, path: [`${prefix}2.txt`] }]))
  const [a, b] = meta.files.map((f) => f.path[1])
  assert.notEqual(a, b)
  assert.ok(a.endsWith('.txt') && b.endsWith('.txt'))
  for (const f of meta.files) assertUsable(f.path)
})

test('torrent accepted: bytes after the top-level dictionary are ignored, as other clients do', async () => {
  const meta = await parseTorrentFile(Buffer.concat([GOOD, Buffer.from('\n<html>trailing junk')]))
  const clean = await parseTorrentFile(GOOD)
  assert.equal(meta.infoHashHex, clean.infoHashHex)
  assert.equal(meta.length, 40 * KiB)
})

const BAD_LINKS: [label: string, text: string, pattern: RegExp][] = [
  ['plain text', 'hello world', /"hello world" is neither a magnet link \(magnet:\?xt=urn:btih:\.\.\.\) nor a 40-hex-digit info hash/],
  ['an http URL', 'http://example.com/file.torrent', /neither a magnet link/],
  ['an empty string', '', /neither a magnet link/],
  ['a page of text', 'x'.repeat(100_000), /"x{57}\.\.\." is neither a magnet link/],
  ['a magnet without xt', 'magnet:?dn=thing&tr=udp%3A%2F%2Fa%3A1', /magnet link has no info hash: it needs an xt=urn:btih:<40 hex digits> or xt=urn:btmh:1220<64 hex digits> parameter/],
  ['a magnet with an unknown urn', 'magnet:?xt=urn:sha1:abcdef', /magnet link has no info hash/],
  ['a magnet of a million "&"', 'magnet:?' + '&'.repeat(1_000_000), /magnet link has no info hash/],
  ['a magnet whose xt is bad percent-encoding', 'magnet:?xt=%E0%A4%A', /magnet link has no info hash/],
  ['a short hex hash', 'magnet:?xt=urn:btih:abc123', /info hash "abc123" must be 40 hex digits or 32 base32 characters \(A-Z, 2-7\)/],
  ['a 39-digit hex hash', `magnet:?xt=urn:btih:${HASH_HEX.slice(1)}`, /must be 40 hex digits or 32 base32/],
  ['a 42-digit hex hash', `magnet:?xt=urn:btih:${HASH_HEX}00`, /must be 40 hex digits or 32 base32/],
  ['40 characters that are not hex', `magnet:?xt=urn:btih:${'g'.repeat(40)}`, /"g{40}" must be 40 hex digits/],
  ['32 characters outside base32', `magnet:?xt=urn:btih:${'1'.repeat(32)}`, /32 base32 characters \(A-Z, 2-7\)/],
  ['a bare 40-character non-hex hash', 'z'.repeat(39) + 'q', /must be 40 hex digits/],
  ['a btmh magnet that is no SHA-256 multihash', `magnet:?xt=urn:btmh:1220${'ab'.repeat(31)}&dn=x`, /must be "1220" and 64 hex digits/],
  ['a magnet naming two different torrents', `magnet:?xt.1=urn:btih:${HASH_HEX}&xt.2=urn:btih:${'0'.repeat(40)}`, /names two different torrents \(c9e1.* and 0{40}\); add them one at a time/],
  ['a good hash then a bad one', `magnet:?xt=urn:btih:${HASH_HEX}&xt=urn:btih:nothex`, /info hash "nothex" must be 40 hex digits/],
]

for (const [label, text, pattern] of BAD_LINKS) {
  test(`link refused: ${label}`, () => {
    assert.throws(() => parseMagnetOrInfoHash(text), (err: unknown) => assertOneLineMetainfoError(err, pattern, label))
  })
}

test('link accepted: the same torrent named twice (hex and base32) is one torrent', () => {
  const link = parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${HASH_HEX}&xt=urn:btih:ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW`)
  assert.equal(link.infoHashHex, HASH_HEX)
})

test('link accepted: control characters in dn are dropped', () => {
  const link = parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${HASH_HEX}&dn=%1B%5B2Jcleared%07%00name`)
  assert.equal(link.name, '[2Jclearedname')
  assert.equal(parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${HASH_HEX}&dn=%1B%07`).name, undefined)
})
