// Turns a fetched info dict (already checked against its info hash) into the
// record the index stores: name, total size, piece length and count, and the
// file list with paths relative to the torrent (BEP 47 pad files left out).
// Names and paths are metainfo's safe forms. Throws one line when the dict is
// not a torrent we can read (then it is counted as failed, never stored).
import { metainfoFromInfo } from '../metainfo/metainfo.ts'
import type { IndexedTorrent } from './index-store.ts'

export async function indexedTorrent(infoDict: Buffer, collectedAt: number): Promise<IndexedTorrent> {
  const meta = await metainfoFromInfo(infoDict)
  // A multi-file torrent's paths begin with its name (the folder); the index keeps them relative to it.
  const multi = meta.files.length > 1 || meta.files[0].path.length > 1
  const files = meta.files
    .filter((f) => !f.padding)
    .map((f) => ({ path: (multi ? f.path.slice(1) : f.path).join('/'), sizeBytes: f.length }))
  return {
    infoHash: meta.infoHashHex,
    name: meta.name,
    sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0),
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    files,
    infoDict: meta.infoBuffer,
    collectedAt,
  }
}
