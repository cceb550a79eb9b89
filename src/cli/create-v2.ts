// Builds the bytes of a BEP 52 v2-only or hybrid .torrent from files on disk,
// for `create --v2` / `--hybrid` (create-torrent writes v1 only). Reads each
// file once, in the file tree's order (paths compared bytewise, component by
// component, as the canonical tree sorts them): SHA-256 of every 16 KiB block
// gives the file's merkle tree, its root and its piece layer; for a hybrid the
// same bytes, with zeros for the pad file after each file, feed the SHA-1 of
// each piece. The caller parses the result back before writing it.

import { createHash, type Hash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { bdict, encodeCanonical, type BDict, type BValue } from '../metainfo/canonical-bencode.ts'
import { BLOCK_SIZE, blockHashes, nextPow2, rootOf } from '../metainfo/merkle.ts'

export interface V2Source {
  /** The source is one file (its own name is in `files`). */
  single: boolean
  /** '/'-separated paths relative to the source folder. */
  files: string[]
  totalBytes: number
}

export interface V2Options {
  hybrid: boolean
  name: string
  trackers: string[]
  pieceLength?: number
  private: boolean
  comment?: string
  createdBy: string
  onProgress?: (hashedBytes: number, totalBytes: number) => void
}

interface HashedFile {
  parts: string[]
  length: number
  root?: Buffer
  layer?: Buffer
}

const READ_CHUNK = 1024 * 1024

/** About 1000–2000 pieces, from 16 KiB to 16 MiB. */
export function defaultV2PieceLength(totalBytes: number): number {
  let pieceLength = 16 * 1024
  while (totalBytes / pieceLength > 2048 && pieceLength < 16 * 1024 * 1024) pieceLength *= 2
  return pieceLength
}

export async function writeV2Torrent(source: string, src: V2Source, options: V2Options): Promise<Buffer> {
  const pieceLength = options.pieceLength ?? defaultV2PieceLength(src.totalBytes)
  const order = src.files.map((f) => f.split('/')).sort(comparePaths)
  const pieces = options.hybrid ? new PieceHasher(pieceLength) : undefined
  const hashed: HashedFile[] = []
  let done = 0
  const sizes = await Promise.all(order.map((parts) => stat(src.single ? source : join(source, ...parts)).then((s) => s.size)))
  const lastWithData = sizes.findLastIndex((size) => size > 0)
  for (const [i, parts] of order.entries()) {
    const path = src.single ? source : join(source, ...parts)
    const file = await hashFile(path, pieceLength, pieces, (n) => {
      done += n
      options.onProgress?.(done, src.totalBytes)
    })
    hashed.push({ parts: src.single ? [options.name] : parts, ...file })
    // The pad BEP 52 implies after every file with data but the last.
    if (pieces && file.length > 0 && i < lastWithData) pieces.pad()
  }
  const infoEntries: [string, BValue | undefined][] = [
    ['file tree', fileTree(hashed)],
    ['meta version', 2],
    ['name', options.name],
    ['piece length', pieceLength],
    ['private', options.private ? 1 : undefined],
  ]
  if (pieces) {
    infoEntries.push(['pieces', pieces.finish()])
    if (src.single) infoEntries.push(['length', hashed[0].length])
    else infoEntries.push(['files', v1Files(hashed, pieceLength, lastWithData)])
  }
  const layers: [Uint8Array, BValue][] = hashed.filter((f) => f.layer).map((f) => [f.root!, f.layer!])
  const top = bdict([
    ['announce', options.trackers[0]],
    ['announce-list', options.trackers.length > 1 ? options.trackers.map((t) => [t]) : undefined],
    ['comment', options.comment],
    ['created by', options.createdBy],
    ['creation date', Math.floor(Date.now() / 1000)],
    ['info', bdict(infoEntries)],
    ['piece layers', { entries: layers }],
  ])
  return encodeCanonical(top)
}

/** Bytewise, component by component: the order of a canonical file tree walk. */
function comparePaths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i]), Buffer.from(b[i]))
    if (c !== 0) return c
  }
  return a.length - b.length
}

async function hashFile(path: string, pieceLength: number, pieces: PieceHasher | undefined, progress: (n: number) => void): Promise<Omit<HashedFile, 'parts'>> {
  const handle = await open(path, 'r')
  const leaves: Buffer[] = []
  let length = 0
  try {
    const buf = Buffer.alloc(READ_CHUNK)
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, length)
      if (bytesRead === 0) break
      const chunk = buf.subarray(0, bytesRead)
      // READ_CHUNK is a multiple of 16 KiB, so blocks never straddle reads, except a short read.
      if (length % BLOCK_SIZE !== 0) throw new Error(`${path} changed while it was being read`)
      leaves.push(...blockHashes(chunk))
      pieces?.update(chunk)
      length += bytesRead
      progress(bytesRead)
    }
  } finally {
    await handle.close()
  }
  if (length === 0) return { length }
  if (length <= pieceLength) return { length, root: rootOf(leaves, nextPow2(leaves.length)) }
  const perPiece = pieceLength / BLOCK_SIZE
  const layerHashes: Buffer[] = []
  for (let at = 0; at < leaves.length; at += perPiece) layerHashes.push(rootOf(leaves.slice(at, at + perPiece), perPiece))
  const padLayer = Math.log2(perPiece)
  return { length, root: rootOf(layerHashes, nextPow2(layerHashes.length), padLayer), layer: Buffer.concat(layerHashes) }
}

/** The v2 "file tree": nested dicts by path component, each file under an empty key. */
function fileTree(files: HashedFile[]): BDict {
  const root: BDict = { entries: [] }
  for (const f of files) {
    let dir = root
    for (const part of f.parts.slice(0, -1)) {
      let next = dir.entries.find(([k]) => k === part)?.[1] as BDict | undefined
      if (!next) {
        next = { entries: [] }
        dir.entries.push([part, next])
      }
      dir = next
    }
    const leaf = bdict([['length', f.length], ['pieces root', f.root]])
    dir.entries.push([f.parts[f.parts.length - 1], { entries: [['', leaf]] }])
  }
  return root
}

/** A hybrid's v1 "files": the same files in the same order, a BEP 47 pad file after each but the last with data. */
function v1Files(files: HashedFile[], pieceLength: number, lastWithData: number): BValue[] {
  const out: BValue[] = []
  files.forEach((f, i) => {
    out.push(bdict([['length', f.length], ['path', f.parts]]))
    const pad = (pieceLength - (f.length % pieceLength)) % pieceLength
    if (f.length > 0 && pad > 0 && i < lastWithData) out.push(bdict([['attr', 'p'], ['length', pad], ['path', ['.pad', String(pad)]]]))
  })
  return out
}

/** SHA-1 of each piece of a hybrid's v1 view. */
class PieceHasher {
  readonly #pieceLength: number
  #hash: Hash = createHash('sha1')
  #filled = 0
  readonly #digests: Buffer[] = []

  constructor(pieceLength: number) {
    this.#pieceLength = pieceLength
  }

  update(data: Buffer): void {
    let at = 0
    while (at < data.length) {
      const take = Math.min(data.length - at, this.#pieceLength - this.#filled)
      this.#hash.update(data.subarray(at, at + take))
      this.#filled += take
      at += take
      if (this.#filled === this.#pieceLength) this.#next()
    }
  }

  /** Zeros up to the next piece boundary. */
  pad(): void {
    if (this.#filled > 0) this.update(Buffer.alloc(this.#pieceLength - this.#filled))
  }

  finish(): Buffer {
    if (this.#filled > 0) this.#next()
    return Buffer.concat(this.#digests)
  }

  #next(): void {
    this.#digests.push(this.#hash.digest())
    this.#hash = createHash('sha1')
    this.#filled = 0
  }
}
