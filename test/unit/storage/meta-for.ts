// Metainfo for storage tests, built from real payload bytes through the real parser.

import bencode from 'bencode'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { metainfoFromInfo, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { buildInfo, patternBytes, piecesOf, type TestFile } from '../metainfo/build-torrent.ts'

export async function metaFor(name: string, pieceLength: number, files: TestFile[] | Buffer): Promise<{ meta: Metainfo; payload: Buffer }> {
  const info = buildInfo(name, pieceLength, files)
  const meta = await metainfoFromInfo(Buffer.from(bencode.encode(info)))
  const payload = Buffer.isBuffer(files) ? files : Buffer.concat(files.map((f) => f.data))
  return { meta, payload }
}

/** A fresh temp folder and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'friendtorrent-storage-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** "padded": file a (10 KiB), a 6 KiB BEP 47 pad file, file b (100 B), in 16 KiB pieces. */
export async function paddedMeta(): Promise<{ meta: Metainfo; payload: Buffer }> {
  const KiB = 1024
  const a = patternBytes(10 * KiB, 5)
  const payload = Buffer.concat([a, Buffer.alloc(6 * KiB), patternBytes(100, 6)])
  const info = {
    name: 'padded',
    'piece length': 16 * KiB,
    files: [
      { length: a.length, path: ['a'] },
      { length: 6 * KiB, path: ['.pad', '6144'], attr: 'p' },
      { length: 100, path: ['b'] },
    ],
    pieces: piecesOf(payload, 16 * KiB),
  }
  return { meta: await metainfoFromInfo(Buffer.from(bencode.encode(info))), payload }
}
