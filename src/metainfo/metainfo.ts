// Reads .torrent files and raw info dicts (BEP 3, 12, 27, 47) into a validated Metainfo.
// Everything in a torrent is untrusted: every field is checked here, paths go
// through sanitisePathComponents, and the info hash is taken over the exact bytes
// of the info dict as written (never a re-encoding). Throws only MetainfoError,
// one line naming the problem; never allocates more than the input's size.
//
// The rules, each refused with its own message:
// - Framing: the file is one bencoded dict (bytes after it are ignored, as other
//   clients do); nesting past 512 levels, a string longer than the file, a
//   repeated top-level key, a missing or non-dict info entry.
// - BEP 52 v2-only torrents (no "pieces", a "file tree") are refused; hybrids
//   are read through their v1 part.
// - name: present, a non-empty string. It becomes the file (single-file) or the
//   top folder (multi-file), sanitised like any path; Metainfo.name is that
//   sanitised form, so what is shown is what is on disk.
// - piece length: a whole number from 1 to 64 MiB. Not necessarily a power of two
//   (BEP 3 only says "almost always"); the cap is because a download holds up to
//   four whole pieces in memory, and no common client writes bigger pieces.
// - pieces: a string whose length is a multiple of 20, one hash per piece, and
//   exactly ceil(total / piece length) of them.
// - sizes: whole numbers of bytes, 0 or more, whose sum is a safe integer
//   (< 2^53) and more than 0. Exactly one of "length" and "files" is present;
//   "files" is a non-empty list of dicts with a non-empty path of strings.
// - paths: safe-path refuses traversal and renames unportable names; two
//   files that meet on disk after that, compared case-folded and NFC-normalised,
//   or a file that is also another's folder, are refused. BEP 47 pad files are
//   never created, so their paths are not checked.

import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { MetainfoError } from './metainfo-error.ts'
import { topLevelSpans, valueEnd } from './bencode-span.ts'
import { sanitisePathComponents } from './safe-path.ts'

export { MetainfoError } from './metainfo-error.ts'

const HASH_LENGTH = 20
const MAX_PIECE_LENGTH = 64 * 1024 * 1024

export interface FileEntry {
  /** Safe components relative to the save folder; the torrent name comes first for multi-file torrents. */
  path: string[]
  length: number
  /** Where this file starts in the concatenated payload. */
  offset: number
  /** BEP 47 pad file: its bytes are zeros, it is never created on disk and its path is not unique. */
  padding?: boolean
}

export interface Metainfo {
  infoHash: Buffer
  infoHashHex: string
  name: string
  pieceLength: number
  pieceCount: number
  lastPieceLength: number
  length: number
  /** Concatenated 20-byte SHA-1s. */
  pieceHashes: Buffer
  files: FileEntry[]
  /** BEP 12 tiers; http(s) and udp URLs only, each once. */
  announce: string[][]
  urlList: string[]
  /** BEP 27 */
  private: boolean
  /** The bencoded info dict, byte-exact; its SHA-1 is infoHash. */
  infoBuffer: Buffer
}

type Dict = Record<string, unknown>

export async function parseTorrentFile(data: Buffer): Promise<Metainfo> {
  const what = 'not a torrent file'
  const { spans, end } = topLevelSpans(data, what)
  const infoSpan = spans.get('info')
  if (!infoSpan) throw new MetainfoError(`${what}: it has no info dictionary`)
  if (data[infoSpan.start] !== 0x64) throw new MetainfoError(`${what}: its info entry is not a dictionary`)
  const infoBuffer = Buffer.from(data.subarray(infoSpan.start, infoSpan.end))
  const torrent = decode(data.subarray(0, end), what)
  return build(infoBuffer, own(torrent, 'info') as Dict, announceTiers(torrent), urlList(torrent), what)
}

/** Builds a Metainfo from a bare info dict (BEP 9 metadata); `announce` tiers are filtered like a file's. */
export async function metainfoFromInfo(infoBuffer: Buffer, announce: string[][] = []): Promise<Metainfo> {
  const what = 'invalid info dictionary'
  if (infoBuffer.length === 0) throw new MetainfoError(`${what}: it is empty`)
  if (infoBuffer[0] !== 0x64) throw new MetainfoError(`${what}: it does not start with a bencoded dictionary`)
  const end = valueEnd(infoBuffer, 0, what)
  if (end !== infoBuffer.length) throw new MetainfoError(`${what}: ${infoBuffer.length - end} stray bytes after the dictionary`)
  const info = decode(infoBuffer, what)
  const tiers = filterTiers(announce.map((tier) => tier.map((url) => Buffer.from(url))))
  return build(Buffer.from(infoBuffer), info, tiers, [], what)
}

/** The expected SHA-1 of piece `index`: a view into meta.pieceHashes, not a copy. */
export function pieceHash(meta: Metainfo, index: number): Buffer {
  checkIndex(meta, index)
  return meta.pieceHashes.subarray(index * HASH_LENGTH, (index + 1) * HASH_LENGTH)
}

/** The one path under the save folder that holds all of a torrent's data: its file, or its top folder. */
export function dataRoot(meta: Metainfo): string[] {
  return [meta.files[0].path[0]]
}

export function pieceSize(meta: Metainfo, index: number): number {
  checkIndex(meta, index)
  return index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
}

function checkIndex(meta: Metainfo, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) {
    throw new RangeError(`piece ${index} out of range 0..${meta.pieceCount - 1}`)
  }
}

function build(infoBuffer: Buffer, info: Dict, announce: string[][], urls: string[], what: string): Metainfo {
  if (!isDict(info)) throw new MetainfoError(`${what}: its info entry is not a dictionary`)
  const pieces = own(info, 'pieces')
  if (pieces === undefined && (own(info, 'meta version') === 2 || own(info, 'file tree') !== undefined)) {
    throw new MetainfoError(`${what}: v2-only torrents are not supported (BEP 52); ask for a v1 or hybrid torrent`)
  }

  const rawName = text(preferUtf8(info, 'name'))
  if (rawName === undefined) throw new MetainfoError(`${what}: it has no name`)
  if (rawName === '') throw new MetainfoError(`${what}: its name is empty`)

  const pieceLength = own(info, 'piece length')
  if (typeof pieceLength !== 'number') throw new MetainfoError(`${what}: it has no piece length`)
  if (pieceLength > MAX_PIECE_LENGTH) throw new MetainfoError(`${what}: piece length ${shown(pieceLength)} is over the 64 MiB limit`)
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new MetainfoError(`${what}: piece length ${shown(pieceLength)} must be a positive whole number`)

  if (!(pieces instanceof Uint8Array)) throw new MetainfoError(`${what}: it has no piece hashes`)
  if (pieces.length % HASH_LENGTH !== 0) throw new MetainfoError(`${what}: pieces length ${pieces.length} is not a multiple of ${HASH_LENGTH}`)

  const hasFiles = own(info, 'files') !== undefined
  if (hasFiles && own(info, 'length') !== undefined) throw new MetainfoError(`${what}: it has both a length and a file list; a torrent is either one file or a list`)
  const files = hasFiles ? multiFile(info, rawName, what) : singleFile(info, rawName, what)
  const name = files[0].path[0]
  const last = files[files.length - 1]
  const length = last.offset + last.length
  if (length === 0) throw new MetainfoError(`${what}: it holds no data (total length 0)`)
  const pieceCount = pieces.length / HASH_LENGTH
  // Exact in doubles: pieceCount is bounded by the input's size and pieceLength by 64 MiB.
  if (pieceCount === 0 || (pieceCount - 1) * pieceLength >= length || pieceCount * pieceLength < length) {
    const expected = Math.floor((length - 1) / pieceLength) + 1
    throw new MetainfoError(`${what}: it has ${pieceCount} piece hashes but ${length} bytes in ${pieceLength}-byte pieces need ${expected}`)
  }
  checkUniquePaths(files, what)

  const infoHash = createHash('sha1').update(infoBuffer).digest()
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    name,
    pieceLength,
    pieceCount,
    lastPieceLength: length - (pieceCount - 1) * pieceLength,
    length,
    pieceHashes: Buffer.from(pieces.buffer, pieces.byteOffset, pieces.length),
    files,
    announce,
    urlList: urls,
    private: own(info, 'private') === 1,
    infoBuffer,
  }
}

function singleFile(info: Dict, name: string, what: string): FileEntry[] {
  const length = own(info, 'length')
  if (length === undefined) throw new MetainfoError(`${what}: it has neither a length nor a file list`)
  checkLength(length, what, 'its length')
  return [{ path: safe([name], what, 'its name'), length, offset: 0 }]
}

function multiFile(info: Dict, name: string, what: string): FileEntry[] {
  const list = own(info, 'files')
  if (!Array.isArray(list)) throw new MetainfoError(`${what}: its file list is not a list`)
  if (list.length === 0) throw new MetainfoError(`${what}: its file list is empty`)
  const root = safe([name], what, 'its name')[0]
  const files: FileEntry[] = []
  let offset = 0
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i]
    const label = `file ${i + 1}`
    if (!isDict(entry)) throw new MetainfoError(`${what}: ${label} is not a dictionary`)
    const length = own(entry, 'length')
    checkLength(length, what, `${label}'s length`)
    const rawPath = preferUtf8(entry, 'path')
    if (!Array.isArray(rawPath)) throw new MetainfoError(`${what}: ${label} has no path`)
    if (rawPath.length === 0) throw new MetainfoError(`${what}: ${label} has an empty path`)
    const parts = rawPath.map((p) => text(p))
    if (parts.some((p) => p === undefined)) throw new MetainfoError(`${what}: ${label}'s path has a part that is not a string`)
    const padding = (text(own(entry, 'attr')) ?? '').includes('p') // BEP 47
    let path: string[]
    if (padding) {
      // Pad files are never created, so an odd path there must not reject the torrent.
      try { path = sanitisePathComponents([name, ...(parts as string[])]) } catch { path = [root, '.pad', String(length)] }
    } else {
      path = safe([name, ...(parts as string[])], what, label)
    }
    if (!Number.isSafeInteger(offset + length)) throw new MetainfoError(`${what}: total length is too large`)
    files.push(padding ? { path, length, offset, padding: true } : { path, length, offset })
    offset += length
  }
  return files
}

function checkLength(length: unknown, what: string, label: string): asserts length is number {
  if (typeof length !== 'number') throw new MetainfoError(`${what}: ${label} is missing or not a number`)
  if (length > Number.MAX_SAFE_INTEGER) throw new MetainfoError(`${what}: ${label} ${shown(length)} is too large`)
  if (!Number.isSafeInteger(length) || length < 0) throw new MetainfoError(`${what}: ${label} ${shown(length)} must be a whole number of bytes, 0 or more`)
}

/** A decoded integer for a message: bencode turns a 400-digit one into Infinity or a rounded double. */
function shown(value: number): string {
  if (Math.abs(value) <= Number.MAX_SAFE_INTEGER) return String(value)
  return value < 0 ? '(below -2^53)' : '(2^53 or more)'
}

function safe(parts: string[], what: string, label: string): string[] {
  try {
    return sanitisePathComponents(parts)
  } catch (err) {
    if (err instanceof MetainfoError) throw new MetainfoError(`${what}: ${label} (${JSON.stringify(parts.join('/'))}): ${err.message}`)
    throw err
  }
}

/**
 * Two files may not land on the same path, nor may a file sit where another
 * needs a folder. Compared case-folded and NFC-normalised, because Windows and
 * macOS filesystems would merge such names.
 */
function checkUniquePaths(files: FileEntry[], what: string): void {
  const fileAt = new Map<string, number>()
  const folderOf = new Map<string, number>()
  files.forEach((file, i) => {
    if (file.padding) return
    const keys = file.path.map((p) => p.normalize('NFC').toLowerCase())
    const key = keys.join('/')
    const clash = fileAt.get(key) ?? folderOf.get(key)
    if (clash !== undefined) throw new MetainfoError(`${what}: files ${clash + 1} and ${i + 1} both resolve to ${JSON.stringify(file.path.join('/'))}`)
    for (let n = 1; n < keys.length; n++) {
      const folder = keys.slice(0, n).join('/')
      const fileThere = fileAt.get(folder)
      if (fileThere !== undefined) throw new MetainfoError(`${what}: file ${fileThere + 1} is also a folder of file ${i + 1} (${JSON.stringify(file.path.join('/'))})`)
      if (!folderOf.has(folder)) folderOf.set(folder, i)
    }
    fileAt.set(key, i)
  })
}

/** BEP 12: tiers from announce-list, else the single announce URL. */
function announceTiers(torrent: Dict): string[][] {
  const list = own(torrent, 'announce-list')
  if (Array.isArray(list)) {
    // Some writers put bare strings in announce-list instead of tiers; treat each as its own tier.
    const tiers = filterTiers(list.map((tier: unknown) => (Array.isArray(tier) ? tier : [tier])))
    if (tiers.length > 0) return tiers
  }
  return filterTiers([[own(torrent, 'announce')]])
}

function filterTiers(tiers: unknown[][]): string[][] {
  const seen = new Set<string>()
  const out: string[][] = []
  for (const tier of tiers) {
    const kept: string[] = []
    for (const raw of tier) {
      const url = text(raw)?.trim()
      if (url && !seen.has(url) && hasScheme(url, ['http:', 'https:', 'udp:'])) {
        seen.add(url)
        kept.push(url)
      }
    }
    if (kept.length > 0) out.push(kept)
  }
  return out
}

/** BEP 19 web seeds: a string or a list of strings. */
function urlList(torrent: Dict): string[] {
  const raw = own(torrent, 'url-list')
  const items = Array.isArray(raw) ? raw : [raw]
  const out: string[] = []
  for (const item of items) {
    const url = text(item)?.trim()
    if (url && !out.includes(url) && hasScheme(url, ['http:', 'https:'])) out.push(url)
  }
  return out
}

/** One of `schemes` and a host: "udp:./x" parses as a URL but names no tracker. */
function hasScheme(url: string, schemes: string[]): boolean {
  try {
    const parsed = new URL(url)
    return schemes.includes(parsed.protocol) && parsed.hostname !== ''
  } catch {
    return false
  }
}

function decode(data: Uint8Array, what: string): Dict {
  let value: unknown
  try {
    value = bencode.decode(data)
  } catch (err) {
    // bencode builds dicts with `dict[key] = value`: a "__proto__" key holding a string
    // makes the dict a Uint8Array, and a later "length" key then throws a TypeError.
    if (err instanceof TypeError) throw new MetainfoError(`${what}: a "__proto__" key hides the keys after it`)
    throw new MetainfoError(`${what}: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isDict(value)) throw new MetainfoError(`${what}: it is not a bencoded dictionary`)
  return value
}

/** `key.utf-8` when present (written by some clients for non-UTF-8 legacy names), else `key`. */
function preferUtf8(dict: Dict, key: string): unknown {
  const utf8 = own(dict, `${key}.utf-8`)
  return utf8 !== undefined ? utf8 : own(dict, key)
}

/** Own properties only: bencode builds plain objects, so a "__proto__" key must not leak fields in. */
function own(dict: Dict, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function text(value: unknown): string | undefined {
  if (!(value instanceof Uint8Array)) return undefined
  return Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8')
}
