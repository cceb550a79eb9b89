import { test } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { MetainfoError } from '../../../src/metainfo/metainfo.ts'
import { resolveInside, safePathComponents } from '../../../src/metainfo/safe-path.ts'

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
  for (const name of ['CON', 'con', 'PRN.txt', 'aux.tar.gz', 'NUL', 'com1', 'COM9.log', 'lpt1', 'LPT9.x']) {
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
