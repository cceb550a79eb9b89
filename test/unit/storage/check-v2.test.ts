// Re-checking a v2 and a hybrid torrent's data on disk (BEP 52): pieces are
// judged by checkPiece (the merkle root of their blocks, and SHA-1 for a
// hybrid), pad files read as zeros; a changed byte loses exactly its piece.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createTorrentFile } from '../../../src/cli/create-command.ts'
import { checkPieces } from '../../../src/storage/check.ts'
import { FileStorage } from '../../../src/storage/file-storage.ts'
import { patternBytes } from '../metainfo/build-torrent.ts'
import { tempDir } from './meta-for.ts'

const PIECE = 32 * 1024

for (const version of ['v2', 'hybrid'] as const) {
  test(`a ${version} torrent's files re-check whole; one changed byte loses only its piece`, async (t) => {
    const dir = await tempDir()
    t.after(() => dir.remove())
    const root = path.join(dir.dir, 'share')
    mkdirSync(path.join(root, 'sub'), { recursive: true })
    writeFileSync(path.join(root, 'a.bin'), patternBytes(100_000, 1))
    writeFileSync(path.join(root, 'b'), patternBytes(1, 2))
    writeFileSync(path.join(root, 'sub', 'c.bin'), patternBytes(70_001, 3))
    const { meta } = await createTorrentFile(root, { trackers: [], private: false, version, pieceLength: PIECE })
    const storage = await FileStorage.open(meta, dir.dir)
    const whole = await checkPieces(storage, meta)
    assert.equal(whole.count(), meta.pieceCount)
    await storage.close()
    // Byte 40000 of a.bin: in its second piece.
    const fd = openSync(path.join(root, 'a.bin'), 'r+')
    writeSync(fd, Buffer.from([0xff ^ patternBytes(100_000, 1)[40_000]]), 0, 1, 40_000)
    closeSync(fd)
    const again = await FileStorage.open(meta, dir.dir)
    const have = await checkPieces(again, meta)
    await again.close()
    assert.equal(have.count(), meta.pieceCount - 1)
    assert.equal(have.get(1), false)
  })
}
