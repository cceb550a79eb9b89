// Every path a torrent names that we change to make it safe or unique is on
// Metainfo.pathChanges (original → safe), one test per kind of change, and
// BEP 47 symlinks whose target is not in the torrent are marked never to be made.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { parseTorrentFile, type Metainfo } from '../../../src/metainfo/metainfo.ts'

function meta(files: unknown[], name: unknown = 'm'): Promise<Metainfo> {
  const total = (files as { length?: number }[]).reduce((n, f) => n + (f.length ?? 0), 0)
  const info = { files, name, 'piece length': 16384, pieces: Buffer.alloc(20 * Math.max(1, Math.ceil(total / 16384))) }
  return parseTorrentFile(Buffer.from(bencode.encode({ info })))
}

test('an empty component becomes "_" and is recorded', async () => {
  const m = await meta([{ length: 5, path: ['a', '', 'b'] }])
  assert.deepEqual(m.files[0].path, ['m', 'a', '_', 'b'])
  assert.deepEqual(m.pathChanges, [{ file: 0, original: ['m', 'a', '', 'b'], safe: ['m', 'a', '_', 'b'], why: 'made safe' }])
})

test('a slash or backslash inside a component is dropped, and an absolute path made relative', async () => {
  const m = await meta([{ length: 5, path: ['x/y\\z'] }, { length: 5, path: ['/etc', 'passwd'] }, { length: 5, path: ['C:\\Windows'] }])
  assert.deepEqual(m.files.map((f) => f.path.join('/')), ['m/xyz', 'm/etc/passwd', 'm/C_Windows'])
  assert.deepEqual(m.pathChanges.map((c) => c.file), [0, 1, 2])
})

test('".." and "." climb nowhere: each becomes "_"', async () => {
  const m = await meta([{ length: 5, path: ['..', '..', '.', 'etc', 'passwd'] }])
  assert.deepEqual(m.files[0].path, ['m', '_', '_', '_', 'etc', 'passwd'])
})

test('a later file with the same path is renamed name.1.ext and says which file it met', async () => {
  const m = await meta([{ length: 5, path: ['a.txt'] }, { length: 5, path: ['A.TXT'] }, { length: 5, path: ['a.1.txt'] }])
  assert.deepEqual(m.files.map((f) => f.path.join('/')), ['m/a.txt', 'm/A.1.TXT', 'm/a.1.1.txt'])
  assert.deepEqual(m.pathChanges.map((c) => c.why), ['same path as file 1', 'same path as file 2'])
})

test('a file made safe and then renamed keeps one record with both reasons', async () => {
  const m = await meta([{ length: 5, path: ['a_b'] }, { length: 5, path: ['a:b'] }])
  assert.deepEqual(m.pathChanges, [{ file: 1, original: ['m', 'a:b'], safe: ['m', 'a_b.1'], why: 'made safe; same path as file 1' }])
})

test('a pad file without a path gets one that is never written, and is not recorded', async () => {
  const m = await meta([{ length: 5, path: ['a'] }, { length: 16379, attr: 'p' }, { length: 5, path: ['b'] }])
  assert.deepEqual(m.files[1], { path: ['m', '.pad', '16379'], length: 16379, offset: 5, padding: true })
  assert.deepEqual(m.pathChanges, [])
})

test('a multi-file torrent whose name is nothing once cleaned is named by its info hash', async () => {
  for (const name of ['', '..', '/', '\u200b']) {
    const m = await meta([{ length: 5, path: ['a'] }], name)
    assert.equal(m.name, m.infoHashHex, JSON.stringify(name))
    assert.deepEqual(m.files[0].path, [m.infoHashHex, 'a'])
    assert.deepEqual(m.pathChanges[0], { file: null, original: [name], safe: [m.infoHashHex], why: 'name made safe' })
  }
})

test('a symlink whose target climbs out or is not in the torrent points to itself: never created', async () => {
  const m = await meta([
    { length: 5, path: ['real'] },
    { attr: 'l', path: ['up'], 'symlink path': ['..', '..', '..', 'etc', 'passwd'] },
    { attr: 'l', path: ['abs'], 'symlink path': ['/etc/passwd'] },
    { attr: 'l', path: ['ok'], 'symlink path': ['..', 'real'] },
  ])
  assert.deepEqual(m.files[1].symlink, m.files[1].path, 'etc/passwd is not in the torrent')
  assert.deepEqual(m.files[2].symlink, m.files[2].path)
  assert.deepEqual(m.files[3].symlink, ['m', 'real'], '".." is dropped, what is left is in the torrent')
  assert.deepEqual(m.pathChanges.filter((c) => c.why.startsWith('symlink')).map((c) => [c.file, c.why]), [
    [1, 'symlink to m/etc/passwd, which is not in the torrent: never created'],
    [2, 'symlink to m/etcpasswd, which is not in the torrent: never created'],
  ])
})

test('BEP 47 "x" marks a file executable', async () => {
  const m = await meta([{ length: 5, path: ['run.sh'], attr: 'x' }, { length: 5, path: ['data'] }])
  assert.deepEqual(m.files.map((f) => f.executable === true), [true, false])
})
