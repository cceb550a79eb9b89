import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { MetainfoError } from '../../../src/metainfo/metainfo.ts'
import { resolveInside, safePathComponents, sanitiseComponent, sanitisePathComponents } from '../../../src/metainfo/safe-path.ts'

function refused(parts: string[], pattern: RegExp): void {
  assert.throws(() => safePathComponents(parts), (err: unknown) => {
    assert.ok(err instanceof MetainfoError, `expected MetainfoError for ${JSON.stringify(parts)}`)
    assert.match(err.message, pattern)
    return true
  })
}

test('accepts ordinary and non-ASCII components and returns a copy', () => {
  const parts = ['Album (2024)', 'données', 'ñandú.bin', '.hidden', 'a..b', 'con-artist.txt', 'COM10', 'Movie: Part 2']
  const out = safePathComponents(parts)
  assert.deepEqual(out, parts)
  assert.notEqual(out, parts)
})

test('refuses traversal, absolute paths, separators and NUL', () => {
  refused([], /file path is empty/)
  refused(['a', ''], /empty component/)
  refused(['.'], /"\." is not allowed/)
  refused(['a', '..', 'b'], /"\.\." is not allowed/)
  refused(['/etc/passwd'], /contains a slash/)
  refused(['a/b'], /contains a slash/)
  refused(['..\\..\\windows'], /contains a slash/)
  refused(['C:'], /drive letter/)
  refused(['c:evil'], /drive letter/)
  refused(['bad\0name'], /NUL byte/)
})

test('refuses names Windows cannot hold', () => {
  for (const name of ['CON', 'con', 'PRN.txt', 'aux.tar.gz', 'NUL', 'com1', 'COM9.log', 'lpt1', 'LPT9.x', 'COM0', 'CON .txt', 'conout$', 'LPT\u00b2']) {
    refused([name], /reserved device name/)
  }
  refused(['trailing.'], /ends with a space or dot/)
  refused(['trailing '], /ends with a space or dot/)
  refused(['...'], /ends with a space or dot/)
})

test('refuses components over 255 UTF-8 bytes, counting bytes not characters', () => {
  assert.deepEqual(safePathComponents(['a'.repeat(255)]), ['a'.repeat(255)])
  refused(['a'.repeat(256)], /256 bytes long; the limit is 255/)
  refused(['ñ'.repeat(128)], /256 bytes long/) // 128 characters, 2 bytes each
})

test('resolveInside keeps paths under the root', () => {
  const root = path.resolve('/srv/downloads')
  assert.equal(resolveInside(root, ['a', 'b.txt']), path.join(root, 'a', 'b.txt'))
  assert.equal(resolveInside('/srv/downloads/', ['x']), path.join(root, 'x'))
  assert.throws(() => resolveInside(root, ['..', 'etc']), /would leave the save folder/)
  assert.throws(() => resolveInside(root, ['a', '..', '..', 'b']), MetainfoError)
  assert.throws(() => resolveInside(root, ['/etc/passwd']), MetainfoError)
  assert.throws(() => resolveInside(root, ['.']), MetainfoError, 'the root itself is not a file inside it')
  assert.throws(() => resolveInside(root, ['..', 'downloads-evil', 'x']), MetainfoError)
})

test('sanitiseComponent makes safe what could escape the save folder, as libtorrent does', () => {
  for (const [parts, safe] of [
    [['a', ''], ['a', '_']],
    [['.'], ['_']],
    [['a', '..', 'b'], ['a', '_', 'b']],
    [['/etc/passwd'], ['etcpasswd']],
    [['..\\x'], ['..x']],
    [['//\\'], ['_']],
    [['bad\0name'], ['badname']],
    [['foo\u200ebar', 'foo\u202bbar', 'foo\ufeffbar'], ['foobar', 'foobar', 'foobar']],
    [['foo\x7fbar', 'foo\u0080bar'], ['foo_bar', 'foo_bar']],
  ] as const) {
    const out = sanitisePathComponents([...parts])
    assert.deepEqual(out, safe, JSON.stringify(parts))
    assert.deepEqual(safePathComponents(out), out, 'and passes the strict check')
  }
  // The torrent's name is not forced: ".", ".." and nothing left give "" (metainfo then names it by its hash).
  for (const name of ['.', '..', '/', '\0\0']) assert.equal(sanitiseComponent(name, false), '')
  assert.equal(sanitiseComponent('test2/../test3/.././../../test4', false), 'test2..test3.......test4')
  assert.equal(sanitiseComponent('/test1/test2/test3', false), 'test1test2test3')
})

test('sanitiseComponent reads bad UTF-8 as libtorrent does: one "_" per bad sequence', () => {
  const cases: [number[], string][] = [
    [[0xc2, 0xa1], '\u00a1'], // valid 2-byte
    [[0xc2], '_'], // truncated 2-byte
    [[0xe2, 0x9f, 0xb9], '\u27f9'],
    [[0xe2, 0x9f], '_'],
    [[0xf0, 0x9f, 0x92, 0x88], '\u{1f488}'],
    [[0xf0, 0x9f, 0x92], '_'],
    [[0xf8, 0x9f, 0x9f, 0x9f, 0x9f, ...Buffer.from('foobar')], '_foobar'], // a 5-byte sequence is one bad one
    [[0xc0, 0xae], '_'], // overlong "."
    [[0xe0, 0x80, 0xae], '_'],
    [[0xf0, 0x80, 0x80, 0xae], '_'],
  ]
  for (const [bytes, tail] of cases) {
    assert.equal(sanitiseComponent(Buffer.concat([Buffer.from('filename'), Buffer.from(bytes)])), `filename${tail}`, bytes.join(' '))
  }
})

test('sanitisePathComponents leaves portable names alone and is idempotent', () => {
  const portable = ['Album (2024)', 'données', 'ñandú.bin', '.hidden', 'a..b', 'con-artist.txt', 'COM10', 'a'.repeat(255)]
  assert.deepEqual(sanitisePathComponents(portable), portable)
  const odd = ['C:', 'aux.c', 'x. ', 'a<b>', '\u0001', 'é'.repeat(200) + '.flac', 'CON .txt', 'lpt\u00b3.', 'z'.repeat(400)]
  const once = sanitisePathComponents(odd)
  assert.deepEqual(sanitisePathComponents(once), once, 'a sanitised path is unchanged by a second pass')
  assert.deepEqual(safePathComponents(once), once, 'and passes the strict check')
  assert.deepEqual(once.slice(0, 5), ['C_', 'aux_.c', 'x__', 'a_b_', '_'])
  assert.match(once[5], /^é+~[0-9a-f]{8}\.flac$/)
  assert.deepEqual(once.slice(6, 8), ['CON _.txt', 'lpt\u00b3_'])
})
