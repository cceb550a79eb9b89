import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import bencode from 'bencode'
import { metainfoFromInfo, pieceSize, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../../src/storage/file-storage.ts'
import { StorageError } from '../../../src/storage/storage-error.ts'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { storageFailure } from '../../../src/torrent/storage-failure.ts'
import { patternBytes } from '../metainfo/build-torrent.ts'
import { metaFor, paddedMeta, tempDir } from './meta-for.ts'

/**
 * Root opens any file: under root, `fn` runs with the effective user `nobody`
 * (for the whole process, so nothing else may run meanwhile), then root again.
 */
async function asOrdinaryUser<T>(fn: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0) return fn()
  process.seteuid!(Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim()))
  try {
    return await fn()
  } finally {
    process.seteuid!(0)
  }
}

const KiB = 1024
const BLOCK = 16 * KiB

/** Writes the whole payload in 16 KiB blocks, in a scrambled order. */
async function writeAll(storage: FileStorage, meta: Metainfo, payload: Buffer): Promise<void> {
  const blocks: { index: number; begin: number; length: number }[] = []
  for (let index = 0; index < meta.pieceCount; index++) {
    for (let begin = 0; begin < pieceSize(meta, index); begin += BLOCK) {
      blocks.push({ index, begin, length: Math.min(BLOCK, pieceSize(meta, index) - begin) })
    }
  }
  blocks.reverse()
  blocks.push(...blocks.splice(0, blocks.length >> 1))
  await Promise.all(blocks.map((b) => {
    const at = b.index * meta.pieceLength + b.begin
    return storage.write(b.index, b.begin, payload.subarray(at, at + b.length))
  }))
}

async function readAll(storage: FileStorage, meta: Metainfo): Promise<Buffer> {
  const pieces: Buffer[] = []
  for (let index = 0; index < meta.pieceCount; index++) pieces.push(await storage.read(index, 0, pieceSize(meta, index)))
  return Buffer.concat(pieces)
}

const mixedFiles = () => [
  { path: ['empty-first'], data: Buffer.alloc(0) },
  { path: ['one-byte'], data: patternBytes(1, 11) },
  { path: ['données', 'ñandú.bin'], data: patternBytes(40_001, 12) },
  { path: ['données', 'vide'], data: Buffer.alloc(0) },
  { path: ['nested', 'deeper', 'odd.bin'], data: patternBytes(12_345, 13) },
  { path: ['last'], data: patternBytes(33_333, 14) },
  { path: ['empty-last'], data: Buffer.alloc(0) },
]

test('round trip over empty, 1-byte, odd-sized, nested and non-ASCII files', async () => {
  const { dir, remove } = await tempDir()
  try {
    const files = mixedFiles()
    const { meta, payload } = await metaFor('Mélange', 32 * KiB, files)
    const storage = await FileStorage.open(meta, dir)
    const root = path.join(dir, 'Mélange')
    await assert.rejects(stat(root), { code: 'ENOENT' }, 'open touches no file')
    await storage.createEmptyFiles()
    for (const f of files.filter((x) => x.data.length === 0)) assert.equal((await stat(path.join(root, ...f.path))).size, 0, `${f.path.join('/')} made by createEmptyFiles`)
    await writeAll(storage, meta, payload)
    for (const f of files) assert.equal((await stat(path.join(root, ...f.path))).size, f.data.length, `${f.path.join('/')} made by its first write`)
    assert.deepEqual(await readAll(storage, meta), payload)
    // A read may span several pieces (checkPieces relies on it).
    assert.deepEqual(await storage.read(0, 100, meta.length - 100), payload.subarray(100))
    await storage.flush()
    await storage.close()
    for (const f of files) assert.deepEqual(await readFile(path.join(root, ...f.path)), f.data)
    await assert.rejects(storage.read(0, 0, 1), /storage is closed/)
    await assert.rejects(storage.write(0, 0, Buffer.alloc(1)), /storage is closed/)
  } finally {
    await remove()
  }
})

test('reopening keeps existing data: files are never shrunk or overwritten', async () => {
  const { dir, remove } = await tempDir()
  try {
    const data = patternBytes(50 * KiB, 3)
    const { meta } = await metaFor('keep.bin', 16 * KiB, data)
    const filePath = path.join(dir, 'keep.bin')
    const longer = Buffer.concat([data, Buffer.from('extra bytes the torrent does not know')])
    await writeFile(filePath, longer)
    const storage = await FileStorage.open(meta, dir)
    assert.deepEqual(await readFile(filePath), longer)
    assert.deepEqual(await storage.read(3, 0, pieceSize(meta, 3)), data.subarray(48 * KiB))
    for (let i = 0; i < meta.pieceCount; i++) assert.equal(await storage.mayHavePiece(i), true)
    await storage.close()
  } finally {
    await remove()
  }
})

test('a file is made by its first write, extended sparse, and mayHavePiece only says yes where data can be', async () => {
  const { dir, remove } = await tempDir()
  try {
    const pieceLength = 1024 * KiB
    const length = 1024 * 1024 * KiB // 1 GiB, all holes
    const info = { name: 'big.iso', 'piece length': pieceLength, length, pieces: Buffer.alloc(20 * (length / pieceLength)) }
    const meta = await metainfoFromInfo(Buffer.from(bencode.encode(info)))
    const storage = await FileStorage.open(meta, dir)
    assert.equal(await storage.mayHavePiece(0), false)
    assert.equal(await storage.mayHavePiece(1023), false)
    await assert.rejects(stat(path.join(dir, 'big.iso')), { code: 'ENOENT' }, 'asking made nothing')
    await storage.write(100, 0, Buffer.alloc(pieceLength, 7))
    const st = await stat(path.join(dir, 'big.iso'))
    assert.equal(st.size, length)
    assert.ok(st.blocks * 512 < 4 * 1024 * KiB, `expected a sparse file, got ${st.blocks} blocks allocated`)
    assert.equal(await storage.mayHavePiece(100), true)
    assert.equal(await storage.mayHavePiece(101), false)
    assert.deepEqual(await storage.read(100, pieceLength - 4, 4), Buffer.alloc(4, 7))
    await storage.close()

    // A file that was partly there before open: pieces inside the old size may be present.
    const partial = await FileStorage.open(meta, dir)
    assert.equal(await partial.mayHavePiece(100), true)
    assert.equal(await partial.mayHavePiece(101), true, 'the file is now full length on disk, so a check must read it')
    await partial.close()
  } finally {
    await remove()
  }
})

test('existing data shorter than the file: pieces past it are not worth checking', async () => {
  const { dir, remove } = await tempDir()
  try {
    const data = patternBytes(64 * KiB, 4)
    const { meta } = await metaFor('half.bin', 16 * KiB, data)
    await writeFile(path.join(dir, 'half.bin'), data.subarray(0, 20 * KiB))
    const storage = await FileStorage.open(meta, dir)
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => storage.mayHavePiece(i))), [true, false, false, false])
    assert.equal((await stat(path.join(dir, 'half.bin'))).size, 20 * KiB, 'left as it is until written')
    await storage.close()
  } finally {
    await remove()
  }
})

test('the handle cache with maxOpenFiles=2 stays correct over 5 files under concurrency', async () => {
  const { dir, remove } = await tempDir()
  try {
    const files = [1, 2, 3, 4, 5].map((n) => ({ path: [`f${n}.bin`], data: patternBytes(20 * KiB + n * 1000, n) }))
    const { meta, payload } = await metaFor('five', 16 * KiB, files)
    const storage = await FileStorage.open(meta, dir, { maxOpenFiles: 2 })
    await writeAll(storage, meta, payload)
    const reads = await Promise.all(Array.from({ length: 3 }, () => readAll(storage, meta)))
    for (const r of reads) assert.deepEqual(r, payload)
    if (process.platform === 'linux') {
      const ours = []
      for (const fd of await readdir('/proc/self/fd')) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '')
        if (target.startsWith(dir)) ours.push(target)
      }
      assert.ok(ours.length <= 2, `expected at most 2 open files, found ${ours.length}`)
    }
    await storage.flush()
    await storage.close()
    for (const f of files) assert.deepEqual(await readFile(path.join(dir, 'five', ...f.path)), f.data)
  } finally {
    await remove()
  }
})

test('a symlink in the save folder pointing outside is refused and nothing is written there', async () => {
  const inside = await tempDir()
  const outside = await tempDir()
  try {
    const { meta } = await metaFor('album', 16 * KiB, [{ path: ['track.flac'], data: patternBytes(100) }])
    await symlink(outside.dir, path.join(inside.dir, 'album'))
    const storage = await FileStorage.open(meta, inside.dir)
    await assert.rejects(storage.write(0, 0, Buffer.alloc(100)), (err: unknown) => {
      assert.ok(err instanceof StorageError)
      assert.match(err.message, /refusing to use .*album: it is a symbolic link/)
      return true
    })
    await storage.close()
    assert.deepEqual(await readdir(outside.dir), [])

    // The file itself a symlink to something outside.
    const { meta: single } = await metaFor('victim.txt', 16 * KiB, patternBytes(100))
    const target = path.join(outside.dir, 'precious.txt')
    await writeFile(target, 'keep me')
    await symlink(target, path.join(inside.dir, 'victim.txt'))
    const victim = await FileStorage.open(single, inside.dir)
    await assert.rejects(victim.write(0, 0, Buffer.alloc(100)), /victim\.txt: it is a symbolic link/)
    await victim.close()
    assert.equal(await readFile(target, 'utf8'), 'keep me')
  } finally {
    await inside.remove()
    await outside.remove()
  }
})

test('OS errors name the file and the errno', async () => {
  const { dir, remove } = await tempDir()
  try {
    const { meta } = await metaFor('gone', 16 * KiB, [{ path: ['sub', 'x.bin'], data: patternBytes(100) }])
    const storage = await FileStorage.open(meta, dir)
    await storage.write(0, 0, Buffer.alloc(10))
    assert.equal(await storage.mayHavePiece(0), false, 'the file is known to be on disk now')
    await storage.close()
    const reopened = await FileStorage.open(meta, dir, { maxOpenFiles: 1 })
    assert.equal(await reopened.mayHavePiece(0), true, 'looked at: on disk, full length')
    await rm(path.join(dir, 'gone'), { recursive: true })
    await assert.rejects(reopened.write(0, 0, Buffer.alloc(10)), (err: unknown) => {
      assert.ok(err instanceof StorageError)
      assert.equal(err.code, 'ENOENT')
      assert.equal(err.message, `cannot open ${path.join(dir, 'gone', 'sub', 'x.bin')}: ENOENT (no such file or directory)`)
      return true
    })
    await assert.rejects(stat(path.join(dir, 'gone')), { code: 'ENOENT' }, 'a file seen on disk is never recreated')
    await reopened.close()

    await mkdir(path.join(dir, 'blocked'))
    await writeFile(path.join(dir, 'blocked', 'gone'), 'a file where a folder must go')
    const blocked = await FileStorage.open(meta, path.join(dir, 'blocked'))
    await assert.rejects(blocked.write(0, 0, Buffer.alloc(10)), /gone: it exists and is not a folder/)
    await blocked.close()

    const { meta: ro } = await metaFor('ro.bin', 16 * KiB, patternBytes(100))
    await writeFile(path.join(dir, 'ro.bin'), '')
    await chmod(path.join(dir, 'ro.bin'), 0o444)
    await chmod(dir, 0o755)
    const readOnly = await FileStorage.open(ro, dir)
    await asOrdinaryUser(() => assert.rejects(readOnly.write(0, 0, Buffer.alloc(10)), /cannot open .*ro\.bin: EACCES \(permission denied\)/))
    await readOnly.close()
  } finally {
    await remove()
  }
})

test('BEP 47 pad files are never created, read as zeros and swallow writes', async () => {
  const { dir, remove } = await tempDir()
  try {
    const { meta, payload } = await paddedMeta()
    const storage = await FileStorage.open(meta, dir)
    await storage.write(0, 0, payload.subarray(0, 16 * KiB))
    await storage.write(1, 0, payload.subarray(16 * KiB))
    assert.deepEqual((await readdir(path.join(dir, 'padded'))).sort(), ['a', 'b'])
    assert.deepEqual(await storage.read(0, 0, meta.length), payload)
    assert.equal(await storage.mayHavePiece(0), true)
    await storage.close()
  } finally {
    await remove()
  }
})

test('out-of-range reads and writes are refused before touching disk', async () => {
  const { dir, remove } = await tempDir()
  try {
    const { meta } = await metaFor('r.bin', 16 * KiB, patternBytes(20 * KiB))
    const storage = await FileStorage.open(meta, dir)
    await assert.rejects(storage.write(0, 16 * KiB - 1, Buffer.alloc(2)), RangeError)
    await assert.rejects(storage.write(2, 0, Buffer.alloc(1)), RangeError)
    await assert.rejects(storage.read(1, 0, 4 * KiB + 1), RangeError)
    await assert.rejects(storage.read(0, -1, 1), RangeError)
    await storage.close()
  } finally {
    await remove()
  }
})

test('findMissing names the highest folder gone, even when a subfolder of it was looked at first', async () => {
  const { dir, remove } = await tempDir()
  const { meta, payload } = await metaFor('deep', 16 * KiB, [
    { path: ['x', 'y', 'b.bin'], data: patternBytes(20_000, 3) },
    { path: ['x', 'a.bin'], data: patternBytes(20_000, 4) },
  ])
  const storage = await FileStorage.open(meta, dir)
  try {
    // Piece 0 lies in x/y/b.bin: its folder is noted before x's.
    await storage.write(0, 0, payload.subarray(0, 16 * KiB))
    await writeAll(storage, meta, payload)
    assert.equal(await storage.findMissing(), undefined)
    await rm(path.join(dir, 'deep', 'x'), { recursive: true })
    assert.equal(await storage.findMissing(), path.join(dir, 'deep', 'x'))
  } finally {
    await storage.close()
    await remove()
  }
})

test('findMissing: nothing while all is there; a file unlinked under an open handle, then a deleted folder, are named; reads never recreate them', async () => {
  const { dir, remove } = await tempDir()
  const { meta, payload } = await metaFor('kept', 16 * KiB, [
    { path: ['a.bin'], data: patternBytes(20_000, 1) },
    { path: ['sub', 'b.bin'], data: patternBytes(30_000, 2) },
  ])
  const storage = await FileStorage.open(meta, dir, { maxOpenFiles: 1 })
  try {
    await writeAll(storage, meta, payload)
    assert.equal(await storage.findMissing(), undefined)
    assert.ok((await storage.read(0, 0, 100)).equals(payload.subarray(0, 100)), 'a.bin now has the one open handle; b.bin has none')
    await rm(path.join(dir, 'kept', 'a.bin'))
    assert.equal(await storage.findMissing(), path.join(dir, 'kept', 'a.bin'), 'unlinked while open: reads would still succeed, so it must be named')
    await rm(path.join(dir, 'kept'), { recursive: true })
    assert.equal(await storage.findMissing(), path.join(dir, 'kept'))
    const lastPiece = meta.pieceCount - 1
    await assert.rejects(storage.read(lastPiece, 0, 10), (err: unknown) => err instanceof StorageError && err.code === 'ENOENT')
    await assert.rejects(stat(path.join(dir, 'kept')), { code: 'ENOENT' }, 'nothing was recreated')
  } finally {
    await storage.close()
    await remove()
  }
})

test('assumeOnDisk: files under pieces resume data vouches for are used without a look; one deleted fails as ENOENT and is never recreated, one cut short fails as missing data', async () => {
  const { dir, remove } = await tempDir()
  // 16 KiB pieces: a.bin is pieces 0-1, sub/b.bin pieces 1-3, c.bin piece 3.
  const { meta, payload } = await metaFor('trusted', 16 * KiB, [
    { path: ['a.bin'], data: patternBytes(20_000, 1) },
    { path: ['sub', 'b.bin'], data: patternBytes(30_000, 2) },
    { path: ['c.bin'], data: patternBytes(10_000, 3) },
  ])
  const first = await FileStorage.open(meta, dir)
  await writeAll(first, meta, payload)
  await first.close()
  const root = path.join(dir, 'trusted')
  await rm(path.join(root, 'sub', 'b.bin'))
  await writeFile(path.join(root, 'a.bin'), payload.subarray(0, 10_000))

  const storage = await FileStorage.open(meta, dir)
  try {
    const have = new Bitfield(meta.pieceCount)
    for (const i of [0, 1, 2]) have.set(i)
    storage.assumeOnDisk(have)
    assert.ok((await storage.read(0, 0, 10_000)).equals(payload.subarray(0, 10_000)), 'a trusted file is read as it is')
    assert.equal(await storage.mayHavePiece(2), true, 'taken on the resume data\'s word: no lstat says otherwise')
    await assert.rejects(storage.read(2, 0, 100), (err: unknown) => {
      assert.ok(err instanceof StorageError && err.code === 'ENOENT', String(err))
      assert.deepEqual(storageFailure('cannot read piece 2', err, 'trusted'), { message: `data missing: ${path.join(root, 'sub', 'b.bin')}; verify or remove`, kind: 'data missing' })
      return true
    })
    // Piece 3 was not verified: its write reaches b.bin, which must not come back empty under pieces 1 and 2.
    await assert.rejects(storage.write(3, 0, payload.subarray(3 * 16 * KiB, 3 * 16 * KiB + 100)), (err: unknown) => err instanceof StorageError && err.code === 'ENOENT')
    await assert.rejects(stat(path.join(root, 'sub', 'b.bin')), { code: 'ENOENT' }, 'the deleted file was not recreated')
    await assert.rejects(storage.read(1, 0, 100), (err: unknown) => {
      assert.ok(err instanceof StorageError && err.missing, String(err))
      assert.deepEqual(storageFailure('cannot read piece 1', err, 'trusted'), { message: `data missing: ${path.join(root, 'a.bin')}; verify or remove`, kind: 'data missing' })
      return true
    }, 'a.bin ends at 10,000 bytes: piece 1 cannot be read')
    // c.bin is under no trusted piece: its write still works as for any file.
    await storage.write(3, 50_000 - 3 * 16 * KiB, payload.subarray(50_000, 60_000))
    assert.ok((await readFile(path.join(root, 'c.bin'))).equals(payload.subarray(50_000)))
  } finally {
    await storage.close()
    await remove()
  }
})
