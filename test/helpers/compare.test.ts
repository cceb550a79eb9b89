import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { assertSameTree, listFiles } from './compare.ts'
import { tempDir } from './net.ts'

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), content)
  }
}

test('assertSameTree passes on identical trees, empty files included', async () => {
  const dir = tempDir('compare-same')
  try {
    const files = { 'a.bin': 'abc', 'empty.txt': '', 'données/ñandú.bin': 'x'.repeat(5000) }
    writeTree(join(dir.path, 'expected'), files)
    writeTree(join(dir.path, 'actual'), files)
    await assertSameTree(join(dir.path, 'expected'), join(dir.path, 'actual'))
    assert.deepEqual(await listFiles(join(dir.path, 'actual')), ['a.bin', 'données/ñandú.bin', 'empty.txt'])
  } finally {
    await dir.cleanup()
  }
})

test('assertSameTree lists a missing empty file, an extra file and differing content', async () => {
  const dir = tempDir('compare-diff')
  try {
    writeTree(join(dir.path, 'expected'), { 'empty.txt': '', 'same.bin': 'same', 'x/changed.bin': 'aaaa', 'short.bin': 'abc' })
    writeTree(join(dir.path, 'actual'), { 'same.bin': 'same', 'x/changed.bin': 'aaab', 'short.bin': 'ab', 'extra.part': '' })
    await assert.rejects(assertSameTree(join(dir.path, 'expected'), join(dir.path, 'actual')), (err: Error) => {
      assert.match(err.message, /missing: empty\.txt/)
      assert.match(err.message, /extra: extra\.part/)
      assert.match(err.message, /content differs: x\/changed\.bin/)
      assert.match(err.message, /size differs: short\.bin \(expected 3 bytes, got 2\)/)
      assert.doesNotMatch(err.message, /same\.bin/)
      return true
    })
  } finally {
    await dir.cleanup()
  }
})

test('assertSameTree fails with the path when the actual folder does not exist', async () => {
  const dir = tempDir('compare-none')
  try {
    await assert.rejects(assertSameTree(dir.path, join(dir.path, 'nope')), /cannot read .*nope/)
  } finally {
    await dir.cleanup()
  }
})
