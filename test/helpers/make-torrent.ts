// Builds .torrent bytes in memory for tests: deterministic payloads, any
// layout (empty files, odd sizes, nested folders), no disk needed; and writes
// such a layout to disk for tests that create torrents from folders.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import bencode from 'bencode'

export interface TestFile {
  path: string[]
  length: number
}

/** Deterministic pseudo-random bytes (xorshift32), so payloads are not runs of zeros. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/**
 * Writes files under `root` ('/' separates folders, made as needed): a number is
 * that many pseudoRandomBytes, seeded by the entry's position (1, 2, …), so a
 * misplaced piece shows as a content difference; a string is the file's text.
 */
export function writeTree(root: string, files: Record<string, number | string>): void {
  Object.entries(files).forEach(([path, content], i) => {
    const file = join(root, ...path.split('/'))
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, typeof content === 'number' ? pseudoRandomBytes(content, i + 1) : content)
  })
}

export interface BuiltTorrent {
  torrent: Buffer
  payload: Buffer
  infoHash: Buffer
  pieceLength: number
}

/** `payload`: bytes to use instead of the seeded pseudo-random ones (xorshift is slow for large sizes). */
export function buildTorrent(opts: { name: string; files: TestFile[] | number; pieceLength: number; announce?: string[]; seed?: number; payload?: Buffer }): BuiltTorrent {
  const files = typeof opts.files === 'number' ? undefined : opts.files
  const total = typeof opts.files === 'number' ? opts.files : opts.files.reduce((n, f) => n + f.length, 0)
  const payload = opts.payload ?? pseudoRandomBytes(total, opts.seed ?? 7)
  const hashes: Buffer[] = []
  for (let off = 0; off < total; off += opts.pieceLength) {
    hashes.push(createHash('sha1').update(payload.subarray(off, Math.min(total, off + opts.pieceLength))).digest())
  }
  const info: Record<string, unknown> = { name: opts.name, 'piece length': opts.pieceLength, pieces: Buffer.concat(hashes) }
  if (files) info.files = files.map((f) => ({ length: f.length, path: f.path }))
  else info.length = total
  const dict: Record<string, unknown> = { info }
  if (opts.announce?.length) {
    dict.announce = opts.announce[0]
    dict['announce-list'] = opts.announce.map((a) => [a])
  }
  const torrent = Buffer.from(bencode.encode(dict))
  const infoHash = createHash('sha1').update(bencode.encode(info)).digest()
  return { torrent, payload, infoHash, pieceLength: opts.pieceLength }
}

/** The layout the interop tests also use: empty file, 1-byte file, odd sizes, nesting, non-ASCII. */
export const ODD_LAYOUT: TestFile[] = [
  { path: ['empty.txt'], length: 0 },
  { path: ['one.bin'], length: 1 },
  { path: ['données', 'ñandú.bin'], length: 100_003 },
  { path: ['données', 'deep', 'zero-again'], length: 0 },
  { path: ['données', 'deep', 'odd.dat'], length: 777_777 },
  { path: ['tail.bin'], length: 65_537 },
]
