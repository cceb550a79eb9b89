// A torrent with every kind of path libtorrent makes safe (an empty component,
// slashes inside names, an absolute path, ".." components, two files on one
// path, a pad file without a path) plus BEP 47 attributes (an executable file,
// a symlink inside, a symlink that climbs out), downloaded for real: our seeder
// → our leecher on loopback. Every file lands at its safe path inside the save
// folder byte for byte, the outward symlink is never created, the x bit is set.

import assert from 'node:assert/strict'
import { lstat, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { test } from 'node:test'
import bencode from 'bencode'
import { parseTorrentFile, pieceSize } from '../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { pseudoRandomBytes } from '../helpers/make-torrent.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

const PIECE = 16 * 1024

/** [torrent path, length, attr?, symlink path?] → where it must land (null: nowhere). */
const LAYOUT: { path?: string[]; length: number; attr?: string; target?: string[]; lands: string | null }[] = [
  { path: ['', 'empty-component.bin'], length: 10_000, lands: '_/empty-component.bin' },
  { path: ['back\\slash', 'sl/ash.bin'], length: 7_001, lands: 'backslash/slash.bin' },
  { path: ['/abs', 'olute.bin'], length: 5_000, lands: 'abs/olute.bin' },
  { path: ['..', '..', 'escape.bin'], length: 3_333, lands: '_/_/escape.bin' },
  { path: ['dup.bin'], length: 4_000, lands: 'dup.bin' },
  { path: ['DUP.bin'], length: 2_000, lands: 'DUP.1.bin' },
  { length: 16 * 1024 - ((10_000 + 7_001 + 5_000 + 3_333 + 4_000 + 2_000) % (16 * 1024)), attr: 'p', lands: null },
  { path: ['run.sh'], length: 20_000, attr: 'x', lands: 'run.sh' },
  { path: ['link-to-dup'], length: 0, attr: 'l', target: ['dup.bin'], lands: 'link-to-dup' },
  { path: ['evil'], length: 0, attr: 'l', target: ['..', '..', '..', '..', 'etc', 'passwd'], lands: null },
]

function buildWeirdTorrent(): { torrent: Buffer; payload: Buffer } {
  const total = LAYOUT.reduce((n, f) => n + (f.attr === 'l' ? 0 : f.length), 0)
  const payload = pseudoRandomBytes(total, 47)
  let at = 0
  for (const f of LAYOUT) {
    if (f.attr === 'p') payload.fill(0, at, at + f.length) // BEP 47: pad bytes are zeros
    if (f.attr !== 'l') at += f.length
  }
  const hashes: Buffer[] = []
  for (let off = 0; off < total; off += PIECE) hashes.push(createHash('sha1').update(payload.subarray(off, off + PIECE)).digest())
  const files = LAYOUT.map((f) => ({
    length: f.length,
    ...(f.path ? { path: f.path } : {}),
    ...(f.attr ? { attr: f.attr } : {}),
    ...(f.target ? { 'symlink path': f.target } : {}),
  }))
  const info = { name: 'up/../weird', 'piece length': PIECE, files, pieces: Buffer.concat(hashes) }
  return { torrent: Buffer.from(bencode.encode({ info })), payload }
}

test('a torrent of unsafe paths downloads from our seeder to our leecher at the safe paths, inside the save folder', async (t) => {
  const dir = tempDir('sanitised-paths')
  t.after(() => dir.cleanup())
  const { torrent, payload } = buildWeirdTorrent()
  const torrentPath = join(dir.path, 'weird.torrent')
  await writeFile(torrentPath, torrent)
  const meta = await parseTorrentFile(torrent)
  assert.equal(meta.name, 'up..weird')

  // The seeder's data, written through our storage at the safe paths.
  const seedDir = join(dir.path, 'seed')
  const seedStorage = await FileStorage.open(meta, seedDir)
  for (let i = 0; i < meta.pieceCount; i++) await seedStorage.write(i, 0, payload.subarray(i * PIECE, i * PIECE + pieceSize(meta, i)))
  await seedStorage.close()
  const seeder = await startOurSeeder({ torrentPath, dataDir: seedDir, useTrackers: false })
  t.after(() => seeder.stop())

  // The leecher's save folder sits alone inside `box`, so anything written outside it would show.
  const box = join(dir.path, 'box')
  const saveDir = join(box, 'downloads')
  const leecher = await startOurPeer({ torrentPath, dataDir: saveDir, useTrackers: false, peers: [{ host: '127.0.0.1', port: seeder.port, source: 'manual' }] })
  t.after(() => leecher.stop())
  await waitUntil(() => leecher.torrent.state === 'seeding', 20_000, 'the leecher to complete')

  const root = join(saveDir, 'up..weird')
  let offset = 0
  for (const f of LAYOUT) {
    const length = f.attr === 'l' ? 0 : f.length
    if (f.lands !== null && f.attr !== 'l') {
      const data = await readFile(join(root, ...f.lands.split('/')))
      assert.ok(data.equals(payload.subarray(offset, offset + length)), `${f.lands}: ${data.length} bytes, expected ${length}, byte for byte`)
    }
    offset += length
  }
  assert.equal(await readlink(join(root, 'link-to-dup')), 'dup.bin')
  assert.ok((await readFile(join(root, 'link-to-dup'))).equals(await readFile(join(root, 'dup.bin'))), 'the link reads the file it names')
  await assert.rejects(lstat(join(root, 'evil')), { code: 'ENOENT' }, 'the symlink that climbs out is never created')
  const mode = (await stat(join(root, 'run.sh'))).mode
  assert.ok((mode & 0o100) !== 0, `run.sh is executable (mode ${mode.toString(8)})`)
  assert.equal((await stat(join(root, 'dup.bin'))).mode & 0o111, 0, 'a plain file is not')
  assert.deepEqual(await readdir(box), ['downloads'], 'nothing outside the save folder')
  assert.deepEqual(await readdir(saveDir), ['up..weird'])
  assert.deepEqual((await readdir(root)).sort(), ['DUP.1.bin', '_', 'abs', 'backslash', 'dup.bin', 'link-to-dup', 'run.sh'], 'no pad file, no "evil"')
})
