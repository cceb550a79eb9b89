import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pieceSize, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { checkPieces } from '../../../src/storage/check.ts'
import { FileStorage } from '../../../src/storage/file-storage.ts'
import { PartFile } from '../../../src/storage/part-file.ts'
import { patternBytes } from '../metainfo/build-torrent.ts'
import { metaFor, tempDir } from './meta-for.ts'

const KiB = 1024
const PIECE = 16 * KiB
const BLOCK = 4 * KiB

/** a ends inside piece 0; sub/b.bin runs from piece 0 to piece 3; c sits in piece 3. */
const threeFiles = () => [
  { path: ['a'], data: patternBytes(10_000, 1) },
  { path: ['sub', 'b.bin'], data: patternBytes(40_000, 2) },
  { path: ['c'], data: patternBytes(9_000, 3) },
]
const SKIP_B = [false, true, false]

async function writeAll(storage: FileStorage, meta: Metainfo, payload: Buffer): Promise<void> {
  const writes: Promise<void>[] = []
  for (let index = meta.pieceCount - 1; index >= 0; index--) {
    for (let begin = 0; begin < pieceSize(meta, index); begin += BLOCK) {
      const at = index * meta.pieceLength + begin
      const length = Math.min(BLOCK, pieceSize(meta, index) - begin)
      writes.push(storage.write(index, begin, payload.subarray(at, at + length)))
    }
  }
  await Promise.all(writes)
}

async function readAll(storage: FileStorage, meta: Metainfo): Promise<Buffer> {
  const pieces: Buffer[] = []
  for (let index = 0; index < meta.pieceCount; index++) pieces.push(await storage.read(index, 0, pieceSize(meta, index)))
  return Buffer.concat(pieces)
}

/** Parses the documented layout: <index u32be><begin u32be><length u32be><data> records. */
function partRecords(bytes: Buffer, meta: Metainfo): { start: number; data: Buffer }[] {
  const records: { start: number; data: Buffer }[] = []
  for (let pos = 0; pos < bytes.length;) {
    const index = bytes.readUInt32BE(pos)
    const begin = bytes.readUInt32BE(pos + 4)
    const length = bytes.readUInt32BE(pos + 8)
    records.push({ start: index * meta.pieceLength + begin, data: bytes.subarray(pos + 12, pos + 12 + length) })
    pos += 12 + length
  }
  return records
}

async function present(target: string): Promise<boolean> {
  return stat(target).then(() => true, () => false)
}

async function setup() {
  const { dir, remove } = await tempDir()
  const files = threeFiles()
  const { meta, payload } = await metaFor('three', PIECE, files)
  const root = path.join(dir, 'three')
  const partPath = path.join(dir, `.${meta.infoHashHex}.parts`)
  const b = meta.files[1]
  return { dir, remove, files, meta, payload, root, partPath, b }
}

test('a skipped middle file is never created; its bytes live only in the part file', async () => {
  const { dir, remove, files, meta, payload, root, partPath, b } = await setup()
  try {
    const storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    assert.equal(await present(partPath), false, 'no part file before a write lands in a skipped file')
    assert.equal(await storage.mayHavePiece(1), false)

    await writeAll(storage, meta, payload)
    await storage.flush()
    assert.deepEqual((await readdir(root)).sort(), ['a', 'c'], 'neither b.bin nor its folder is created')
    assert.equal(await present(path.join(root, 'sub')), false)
    assert.deepEqual(await readFile(path.join(root, 'a')), files[0].data)
    assert.deepEqual(await readFile(path.join(root, 'c')), files[2].data)
    assert.deepEqual(await readAll(storage, meta), payload)
    assert.deepEqual(await storage.read(0, 100, meta.length - 100), payload.subarray(100), 'a read across pieces and files')
    for (let i = 0; i < meta.pieceCount; i++) assert.equal(await storage.mayHavePiece(i), true, `piece ${i}`)

    const records = partRecords(await readFile(partPath), meta)
    let held = 0
    for (const r of records) {
      assert.ok(r.start >= b.offset && r.start + r.data.length <= b.offset + b.length, `record at ${r.start} lies inside b`)
      assert.deepEqual(r.data, payload.subarray(r.start, r.start + r.data.length))
      held += r.data.length
    }
    assert.equal(held, b.length, 'the part file holds exactly the bytes of b, once')
    assert.equal((await readdir(dir)).filter((n) => n.endsWith('.parts')).length, 1)
    assert.equal((await checkPieces(storage, meta)).count(), meta.pieceCount)
    await storage.close()
  } finally {
    await remove()
  }
})

test('un-skipping moves the bytes into the file and removes the part file', async () => {
  const { dir, remove, files, meta, payload, root, partPath } = await setup()
  try {
    const storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    await writeAll(storage, meta, payload)
    assert.equal(await present(partPath), true)
    await storage.setSkipped(1, false)
    assert.deepEqual(await readFile(path.join(root, 'sub', 'b.bin')), files[1].data)
    assert.equal(await present(partPath), false)
    assert.deepEqual(await readAll(storage, meta), payload)
    for (let i = 0; i < meta.pieceCount; i++) assert.equal(await storage.mayHavePiece(i), true)
    // Skipping an existing file leaves it alone: writes keep going to it and no part file appears.
    await storage.setSkipped(1, true)
    await storage.write(1, 0, payload.subarray(PIECE, PIECE + BLOCK))
    assert.equal(await present(partPath), false)
    assert.deepEqual(await readFile(path.join(root, 'sub', 'b.bin')), files[1].data)
    await storage.close()
  } finally {
    await remove()
  }
})

test('un-skipping while writes are under way loses none of them', async () => {
  const { dir, remove, files, meta, payload, root, partPath } = await setup()
  try {
    const storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    await Promise.all([writeAll(storage, meta, payload), storage.setSkipped(1, false), writeAll(storage, meta, payload)])
    assert.deepEqual(await readFile(path.join(root, 'sub', 'b.bin')), files[1].data)
    assert.equal(await present(partPath), false)
    assert.deepEqual(await readAll(storage, meta), payload)
    await storage.close()
  } finally {
    await remove()
  }
})

test('after a restart with the same skip list straddling pieces still read back', async () => {
  const { dir, remove, files, meta, payload, root, partPath } = await setup()
  try {
    let storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    // Only the straddling pieces, as the picker would fetch them.
    for (const index of [0, 3]) {
      const at = index * PIECE
      await storage.write(index, 0, payload.subarray(at, at + pieceSize(meta, index)))
    }
    await storage.close()

    storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    assert.equal(await present(path.join(root, 'sub')), false)
    for (const index of [0, 3]) {
      const at = index * PIECE
      assert.deepEqual(await storage.read(index, 0, pieceSize(meta, index)), payload.subarray(at, at + pieceSize(meta, index)))
    }
    const have = await checkPieces(storage, meta)
    assert.deepEqual([have.get(0), have.get(1), have.get(2), have.get(3)], [true, false, false, true])
    await storage.close()

    // Reopening with nothing skipped moves b's bytes out at open.
    storage = await FileStorage.open(meta, dir)
    assert.equal(await present(partPath), false)
    const bOnDisk = await readFile(path.join(root, 'sub', 'b.bin'))
    assert.equal(bOnDisk.length, files[1].data.length)
    const headLength = PIECE - 10_000
    assert.deepEqual(bOnDisk.subarray(0, headLength), files[1].data.subarray(0, headLength))
    assert.deepEqual(bOnDisk.subarray(3 * PIECE - 10_000), files[1].data.subarray(3 * PIECE - 10_000))
    const after = await checkPieces(storage, meta)
    assert.deepEqual([after.get(0), after.get(1), after.get(2), after.get(3)], [true, false, false, true])
    await storage.close()
  } finally {
    await remove()
  }
})

test('rewritten blocks win, and dead records are squeezed out at the next open', async () => {
  const { dir, remove, meta, payload, partPath } = await setup()
  try {
    let storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    const piece1 = payload.subarray(PIECE, 2 * PIECE)
    await storage.write(1, 0, Buffer.alloc(PIECE, 0xee)) // a piece that failed its hash
    await storage.write(1, 0, piece1)
    await storage.write(1, 100, Buffer.from('partial overwrite'))
    const expected = Buffer.from(piece1)
    Buffer.from('partial overwrite').copy(expected, 100)
    assert.deepEqual(await storage.read(1, 0, PIECE), expected)
    assert.equal((await stat(partPath)).size, 3 * 12 + 2 * PIECE + 17)
    await storage.close()

    // A torn append at the tail (a header promising more bytes than follow) is cut off too.
    const torn = Buffer.alloc(12 + 10)
    torn.writeUInt32BE(2, 0)
    torn.writeUInt32BE(0, 4)
    torn.writeUInt32BE(100, 8)
    await appendFile(partPath, torn)
    storage = await FileStorage.open(meta, dir, { skip: SKIP_B })
    assert.equal((await stat(partPath)).size, 2 * 12 + PIECE + 17)
    assert.deepEqual(await storage.read(1, 0, PIECE), expected)
    assert.equal(await storage.mayHavePiece(1), true)
    assert.equal(await storage.mayHavePiece(2), false)
    await storage.close()
  } finally {
    await remove()
  }
})

test('a skipped file already on disk is left alone and used as it is', async () => {
  const { dir, remove, files, meta, payload, root, partPath } = await setup()
  try {
    const storage = await FileStorage.open(meta, dir)
    await writeAll(storage, meta, payload)
    await storage.close()
    const reopened = await FileStorage.open(meta, dir, { skip: SKIP_B })
    assert.deepEqual(await readAll(reopened, meta), payload)
    await reopened.write(0, 0, payload.subarray(0, PIECE))
    assert.equal(await present(partPath), false)
    assert.deepEqual(await readFile(path.join(root, 'sub', 'b.bin')), files[1].data)
    await reopened.close()
  } finally {
    await remove()
  }
})

test('a symbolic link where the part file goes is refused', async () => {
  const { dir, remove, meta, partPath } = await setup()
  try {
    const outside = path.join(dir, 'outside-target')
    await writeFile(outside, 'do not touch')
    await symlink(outside, partPath)
    await assert.rejects(FileStorage.open(meta, dir, { skip: SKIP_B }), /symbolic link/)
    assert.equal(await readFile(outside, 'utf8'), 'do not touch')
    assert.equal(PartFile.fileName(meta), `.${meta.infoHashHex}.parts`)
  } finally {
    await remove()
  }
})

test('a skip list of the wrong length and an unknown file index are refused', async () => {
  const { dir, remove, meta } = await setup()
  try {
    await assert.rejects(FileStorage.open(meta, dir, { skip: [true] }), /skip needs one entry per file \(3\), got 1/)
    const storage = await FileStorage.open(meta, dir)
    await assert.rejects(storage.setSkipped(3, true), /file 3 out of range 0..2/)
    await storage.close()
    await assert.rejects(storage.setSkipped(1, false), /storage is closed/)
  } finally {
    await remove()
  }
})
