// Indexed torrents for the index tests, made from real .torrent bytes: the
// info dict hashes to the info hash, the sizes and paths are the dict's own.
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import type { IndexedTorrent } from '../../../src/index/index-store.ts'
import { buildTorrent, type TestFile } from '../../helpers/make-torrent.ts'

export function indexedTorrent(name: string, files: TestFile[], seed = 1, collectedAt = 1_700_000_000_000): IndexedTorrent {
  const built = buildTorrent({ name, files, pieceLength: 16384, seed })
  const infoDict = Buffer.from(bencode.encode((bencode.decode(built.torrent) as { info: unknown }).info))
  const infoHash = createHash('sha1').update(infoDict).digest('hex')
  if (infoHash !== built.infoHash.toString('hex')) throw new Error('fixture info dict does not hash to its info hash')
  const sizeBytes = files.reduce((n, f) => n + f.length, 0)
  return {
    infoHash,
    name,
    sizeBytes,
    pieceLength: 16384,
    pieceCount: Math.ceil(sizeBytes / 16384),
    files: files.map((f) => ({ path: [name, ...f.path].join('/'), sizeBytes: f.length })),
    infoDict,
    collectedAt,
  }
}

/** A small, varied set: names and file paths share some words and not others. */
export function sampleTorrents(): IndexedTorrent[] {
  return [
    indexedTorrent('Big Buck Bunny 1080p', [{ path: ['Big.Buck.Bunny.1080p.mkv'], length: 300_000 }, { path: ['cover.jpg'], length: 2_000 }], 1),
    indexedTorrent('Sintel', [{ path: ['sintel.mp4'], length: 200_000 }, { path: ['subs', 'bunny-commentary.srt'], length: 500 }], 2),
    indexedTorrent('Debian 12 netinst', [{ path: ['debian-12.5.0-amd64-netinst.iso'], length: 150_000 }], 3),
    indexedTorrent('Free Music Archive sampler', [{ path: ['01 Opening.flac'], length: 90_000 }, { path: ['02 Closing.flac'], length: 80_000 }], 4),
    indexedTorrent('Public domain books', [{ path: ['Moby Dick.epub'], length: 40_000 }, { path: ['Ulysses.epub'], length: 50_000 }], 5),
  ]
}
