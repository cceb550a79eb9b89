// Big but legal torrents for tests and the bench, made without big buffers:
// many small files in many folders (the .torrent is megabytes of file
// entries), and many pieces over one file of zeros (every piece hash is the
// hash of one zero piece, so 30 GiB of metainfo costs one SHA-1; the data is
// a sparse file, which reads as zeros).
import { createHash } from 'node:crypto'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import bencode from 'bencode'

export interface ManyFilesTorrent {
  torrent: Buffer
  infoHashHex: string
  /** Relative paths under the save folder (torrent name first), in file order. */
  paths: string[][]
  lengths: number[]
  /** Bytes of file i, deterministic. */
  fileBytes(i: number): Buffer
}

/** Deterministic bytes of one file: its index spelled out, repeated (cheap, and not zeros). */
function bytesOf(i: number, length: number): Buffer {
  if (length === 0) return Buffer.alloc(0)
  const unit = Buffer.from(`${i};`)
  const out = Buffer.allocUnsafe(length)
  for (let at = 0; at < length; at += unit.length) unit.copy(out, at, 0, Math.min(unit.length, length - at))
  return out
}

/**
 * `fileCount` files in `folderCount` folders; file i is `length(i)` bytes.
 * Pieces are hashed by streaming the files' bytes once, never all at once.
 */
export function buildManyFilesTorrent(opts: { name: string; fileCount: number; folderCount: number; length: (i: number) => number; pieceLength: number; announce?: string }): ManyFilesTorrent {
  const { fileCount, folderCount, pieceLength } = opts
  const lengths = Array.from({ length: fileCount }, (_, i) => opts.length(i))
  const perFolder = Math.ceil(fileCount / folderCount)
  const relative = lengths.map((_, i) => [`folder-${String(Math.floor(i / perFolder)).padStart(4, '0')}`, `file-${String(i).padStart(6, '0')}.dat`])
  const hashes: Buffer[] = []
  let piece = createHash('sha1')
  let inPiece = 0
  for (let i = 0; i < fileCount; i++) {
    let data = bytesOf(i, lengths[i])
    while (data.length > 0) {
      const take = Math.min(pieceLength - inPiece, data.length)
      piece.update(data.subarray(0, take))
      data = data.subarray(take)
      inPiece += take
      if (inPiece === pieceLength) {
        hashes.push(piece.digest())
        piece = createHash('sha1')
        inPiece = 0
      }
    }
  }
  if (inPiece > 0) hashes.push(piece.digest())
  const info = {
    files: relative.map((path, i) => ({ length: lengths[i], path })),
    name: opts.name,
    'piece length': pieceLength,
    pieces: Buffer.concat(hashes),
  }
  const infoBytes = Buffer.from(bencode.encode(info))
  const torrent = Buffer.from(bencode.encode({ ...(opts.announce && { announce: opts.announce }), info }))
  return {
    torrent,
    infoHashHex: createHash('sha1').update(infoBytes).digest('hex'),
    paths: relative.map((p) => [opts.name, ...p]),
    lengths,
    fileBytes: (i) => bytesOf(i, lengths[i]),
  }
}

/** Writes every file of the torrent under `saveDir` (folders once each). */
export async function writeManyFiles(t: ManyFilesTorrent, saveDir: string): Promise<void> {
  const made = new Set<string>()
  for (let i = 0; i < t.paths.length; i++) {
    const folder = join(saveDir, ...t.paths[i].slice(0, -1))
    if (!made.has(folder)) {
      await mkdir(folder, { recursive: true })
      made.add(folder)
    }
    await writeFile(join(saveDir, ...t.paths[i]), t.fileBytes(i))
  }
}

/** A single-file torrent of `pieceCount` zero pieces: metainfo from one SHA-1. */
export function buildZeroPiecesTorrent(opts: { name: string; pieceCount: number; pieceLength: number; announce?: string }): { torrent: Buffer; infoHashHex: string; length: number } {
  const hash = createHash('sha1').update(Buffer.alloc(opts.pieceLength)).digest()
  const pieces = Buffer.allocUnsafe(20 * opts.pieceCount)
  for (let i = 0; i < opts.pieceCount; i++) hash.copy(pieces, i * 20)
  const length = opts.pieceCount * opts.pieceLength
  const info = { length, name: opts.name, 'piece length': opts.pieceLength, pieces }
  const infoBytes = Buffer.from(bencode.encode(info))
  const torrent = Buffer.from(bencode.encode({ ...(opts.announce && { announce: opts.announce }), info }))
  return { torrent, infoHashHex: createHash('sha1').update(infoBytes).digest('hex'), length }
}

/** The zero torrent's data: a sparse file of the right size (holes read as zeros). */
export async function writeZeroFile(path: string, length: number): Promise<void> {
  const h = await open(path, 'w')
  try {
    await h.truncate(length)
  } finally {
    await h.close()
  }
}
