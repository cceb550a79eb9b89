// Builds .torrent bytes for tests with bencode, hashing real payloads, so
// every test states exactly which fields its torrent has.

import { createHash } from 'node:crypto'
import bencode from 'bencode'

export interface TestFile {
  path: string[]
  data: Buffer
}

export function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest()
}

export function piecesOf(payload: Buffer, pieceLength: number): Buffer {
  const hashes: Buffer[] = []
  for (let at = 0; at < payload.length; at += pieceLength) hashes.push(sha1(payload.subarray(at, at + pieceLength)))
  return Buffer.concat(hashes)
}

/** A multi-file info dict when `files` is a list, else a single-file one named `name`. */
export function buildInfo(name: string, pieceLength: number, files: TestFile[] | Buffer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (Buffer.isBuffer(files)) {
    return { name, 'piece length': pieceLength, length: files.length, pieces: piecesOf(files, pieceLength), ...extra }
  }
  const payload = Buffer.concat(files.map((f) => f.data))
  return {
    name,
    'piece length': pieceLength,
    files: files.map((f) => ({ length: f.data.length, path: f.path })),
    pieces: piecesOf(payload, pieceLength),
    ...extra,
  }
}

export function torrentBytes(info: unknown, top: Record<string, unknown> = { announce: 'http://tracker.example/announce' }): Buffer {
  return Buffer.from(bencode.encode({ ...top, info }))
}

/** Deterministic non-repeating bytes, so a misplaced block changes a hash. */
export function patternBytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
