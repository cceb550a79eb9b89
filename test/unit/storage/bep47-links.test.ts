// BEP 47 in storage: symlinks are made (relative) inside the save folder only,
// never through or to anything outside it; "x" files get the executable bit;
// pad files are never written.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lstat, mkdir, readFile, readdir, readlink, stat, symlink } from 'node:fs/promises'
import path from 'node:path'
import bencode from 'bencode'
import { metainfoFromInfo, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../../src/storage/file-storage.ts'
import { tempDir } from './meta-for.ts'

async function linkMeta(files: unknown[]): Promise<Metainfo> {
  const total = (files as { length?: number; attr?: string }[]).reduce((n, f) => n + (f.attr?.includes('l') ? 0 : f.length ?? 0), 0)
  const info = { name: 'links', 'piece length': 16384, files, pieces: Buffer.alloc(20 * Math.ceil(total / 16384)) }
  return metainfoFromInfo(Buffer.from(bencode.encode(info)))
}

test('a symlink inside the torrent is made relative and reads through; the x bit is set; pad files never appear', async (t) => {
  const { dir, remove } = await tempDir()
  t.after(remove)
  const meta = await linkMeta([
    { length: 5, path: ['bin', 'tool'], attr: 'x' },
    { length: 16379, path: ['.pad', '16379'], attr: 'p' },
    { length: 10, path: ['lib', 'data'] },
    { attr: 'l', path: ['current'], 'symlink path': ['lib'] },
    { attr: 'l', path: ['lib', 'alias'], 'symlink path': ['lib', 'data'] },
  ])
  const storage = await FileStorage.open(meta, dir)
  await storage.write(0, 0, Buffer.from('hello'))
  await storage.write(1, 0, Buffer.from('0123456789'))
  await storage.close()
  const root = path.join(dir, 'links')
  assert.equal(await readlink(path.join(root, 'current')), 'lib')
  assert.equal(await readlink(path.join(root, 'lib', 'alias')), 'data')
  assert.equal(await readFile(path.join(root, 'current', 'alias'), 'utf8'), '0123456789')
  const tool = (await stat(path.join(root, 'bin', 'tool'))).mode
  assert.ok((tool & 0o100) !== 0, 'owner may run it')
  assert.equal(tool & 0o111, (tool & 0o444) >> 2, 'x wherever r is')
  assert.equal((await stat(path.join(root, 'lib', 'data'))).mode & 0o111, 0, 'a plain file is not executable')
  assert.deepEqual((await readdir(root)).sort(), ['bin', 'current', 'lib'], 'no .pad folder')
  assert.deepEqual(storage.warnings, [])
})

test('a symlink whose target is not in the torrent (it climbed out with "..") is never created', async (t) => {
  const { dir, remove } = await tempDir()
  t.after(remove)
  const meta = await linkMeta([
    { length: 5, path: ['a'] },
    { attr: 'l', path: ['passwd'], 'symlink path': ['..', '..', '..', '..', 'etc', 'passwd'] },
  ])
  const storage = await FileStorage.open(meta, dir)
  await storage.close()
  await assert.rejects(lstat(path.join(dir, 'links', 'passwd')), { code: 'ENOENT' })
  assert.deepEqual(storage.warnings, ['symlink links/passwd not created: its target is not in the torrent'])
})

test('a symlink that would resolve outside through a link already on disk is removed again, with a warning', async (t) => {
  const { dir, remove } = await tempDir()
  const outside = await tempDir()
  t.after(remove)
  t.after(outside.remove)
  const meta = await linkMeta([
    { attr: 'l', path: ['way', 'out'], 'symlink path': ['hop'] },
    { attr: 'l', path: ['hop'], 'symlink path': ['way'] },
    { length: 5, path: ['way', 'file'] },
  ])
  // Someone left a link at links/hop pointing outside the save folder before we started.
  await mkdir(path.join(dir, 'links'), { recursive: true })
  await symlink(outside.dir, path.join(dir, 'links', 'hop'))
  const storage = await FileStorage.open(meta, dir)
  await storage.close()
  assert.equal(await readlink(path.join(dir, 'links', 'hop')), outside.dir, 'not ours: left alone')
  await assert.rejects(lstat(path.join(dir, 'links', 'way', 'out')), { code: 'ENOENT' }, 'the link through it is gone')
  assert.ok(storage.warnings.some((w) => /symlink links\/way\/out not created: it resolves to .*, outside /.test(w)), storage.warnings.join('\n'))
  assert.ok(storage.warnings.some((w) => /symlink links\/hop not created: another link is already at/.test(w)), storage.warnings.join('\n'))
  assert.deepEqual(await readdir(outside.dir), [], 'nothing written outside')
})
