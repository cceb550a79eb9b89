import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { MetainfoError } from '../../../src/metainfo/metainfo.ts'
import { resolveInside, safePathComponents, sanitisePathComponents } from '../../../src/metainfo/safe-path.ts'

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

test('sanitisePathComponents refuses what could escape the save folder', () => {
  for (const [parts, pattern] of [
    [[], /file path is empty/],
    [['a', ''], /empty component/],
    [['.'], /"\." is not allowed/],
    [['a', '..', 'b'], /"\.\." is not allowed/],
    [['/etc/passwd'], /contains a slash/],
    [['..\\x'], /contains a slash/],
    [['bad\0name'], /NUL byte/],
  ] as const) {
    assert.throws(() => sanitisePathComponents([...parts]), (err: unknown) => err instanceof MetainfoError && pattern.test(err.message))
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
