// BEP 52 parts of a Metainfo: the v2 info hash, the per-file merkle roots and
// piece layers, the check that a hybrid's v1 and v2 views describe the same
// files, and which file holds a piece. Pure; throws only MetainfoError.
//
// Rules (libtorrent's torrent_info.cpp / load_torrent.cpp):
// - meta version above 2 is refused; a v2 info dict must be canonical
//   bencoding (sorted keys, no overlong integers);
// - piece length a power of two, at least 16 KiB;
// - hybrid: the v1 "files" (with its pad files) and the v2 tree must list the
//   same non-empty, non-pad files at the same index, path, length and offset
//   (a v1 list may lack the v2 view's tail pad); anything else is an attack
//   on one of the two views and is refused;
// - "piece layers" (outside the info dict) is optional, per file: each key is
//   the root of a file longer than one piece, each value that file's piece
//   hashes, which must hash up to the root; an unknown or repeated root, a
//   wrong size or a layer that does not match is refused.

import { createHash } from 'node:crypto'
import { MetainfoError } from './metainfo-error.ts'
import { HASH_SIZE, rootFromLayer } from './merkle.ts'
import { isRawDict, readRaw } from './raw-bencode.ts'
import type { FileEntry } from './file-entry.ts'

export const MIN_V2_PIECE_LENGTH = 16384
/** libtorrent's max_pieces: a v2 torrent's piece count is not bounded by its size on the wire. */
export const MAX_V2_PIECES = 0x200000

export interface V2File {
  /** Index into Metainfo.files. */
  fileIndex: number
  firstPiece: number
  pieceCount: number
  length: number
  root: Buffer
  /**
   * Its piece layer (pieceCount × 32 bytes) once known, from the torrent or from
   * peers. Never set for a file of one piece or less: its root is its piece hash.
   */
  layer?: Buffer
}

export interface V2Info {
  /** SHA-256 of the info dict as sent; its first 20 bytes stand for it on the wire. */
  infoHash: Buffer
  /** Every file with data, in order. */
  files: V2File[]
}

export function v2Info(infoBuffer: Buffer, files: FileEntry[], pieceLength: number): V2Info {
  const out: V2File[] = []
  files.forEach((f, fileIndex) => {
    if (!f.piecesRoot) return
    out.push({ fileIndex, firstPiece: f.offset / pieceLength, pieceCount: Math.ceil(f.length / pieceLength), length: f.length, root: f.piecesRoot })
  })
  return { infoHash: createHash('sha256').update(infoBuffer).digest(), files: out }
}

export function checkV2PieceLength(pieceLength: number, what: string): void {
  if (pieceLength < MIN_V2_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new MetainfoError(`${what}: piece length ${pieceLength} must be a power of two of at least 16 KiB in a v2 torrent (BEP 52)`)
  }
}

/**
 * libtorrent's files_compatible, after taking the v2 view's tail pad off when
 * the v1 list has none (libtorrent before 2.0.8 wrote hybrids without one).
 */
export function checkHybrid(v1: FileEntry[], v2In: FileEntry[], what: string): void {
  const a = v1
  const v2 = v2In.slice()
  if (v2.length === a.length + 1) {
    let last = v2.length - 1
    while (last > 0 && v2[last].length === 0) last--
    if (v2[last].padding) v2.splice(last, 1)
  }
  const mismatch = (): never => {
    throw new MetainfoError(`${what}: its v1 and v2 file lists differ (a hybrid torrent must describe the same files twice)`)
  }
  if (a.length !== v2.length) mismatch()
  const relevant = (f: FileEntry): boolean => !f.padding && f.length > 0
  a.forEach((f, i) => {
    const g = v2[i]
    if (relevant(f) !== relevant(g)) mismatch()
    if (!relevant(f)) return
    if (f.length !== g.length || f.offset !== g.offset || f.path.join('/') !== g.path.join('/')) mismatch()
  })
}

/** Reads "piece layers" (the raw bytes of the value at `start`) into `info`'s files. */
export function readPieceLayers(data: Buffer, start: number, info: V2Info, pieceLength: number, what: string): void {
  const value = readRaw(data, start, what)
  const bad = (why: string): never => {
    throw new MetainfoError(`${what}: its piece layers are invalid (${why})`)
  }
  if (!isRawDict(value)) return bad('not a dictionary')
  const byRoot = new Map<string, V2File>()
  for (const f of info.files) if (f.length > pieceLength) byRoot.set(f.root.toString('hex'), f)
  for (const [key, layer] of value.dict) {
    if (key.length !== HASH_SIZE || !Buffer.isBuffer(layer) || layer.length % HASH_SIZE !== 0) bad('an entry is not a 32-byte root and a list of hashes')
    const file = byRoot.get(key.toString('hex'))
    if (!file) return bad(`root ${key.toString('hex').slice(0, 16)}… is not a file longer than one piece, or is repeated`)
    const layerBytes = layer as Buffer
    if (layerBytes.length !== file.pieceCount * HASH_SIZE) bad(`file ${file.fileIndex + 1} has ${file.pieceCount} pieces but its layer holds ${layerBytes.length / HASH_SIZE} hashes`)
    if (!rootFromLayer(layerBytes, pieceLength).equals(file.root)) bad(`file ${file.fileIndex + 1}'s layer does not hash to its pieces root`)
    file.layer = Buffer.from(layerBytes)
    byRoot.delete(key.toString('hex'))
  }
}

/** The v2 file holding piece `index` (v2 pieces never span files), or undefined for a piece of padding only. */
export function v2FileOfPiece(info: V2Info, index: number): V2File | undefined {
  let lo = 0
  let hi = info.files.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (info.files[mid].firstPiece <= index) lo = mid
    else hi = mid - 1
  }
  const f = info.files[lo]
  return f && index >= f.firstPiece && index < f.firstPiece + f.pieceCount ? f : undefined
}
