// Reads .torrent files and raw info dicts (BEP 3, 12, 27, 47) into a validated Metainfo.
// Everything in a torrent is untrusted: every field is checked here, paths are
// made safe by safe-path's sanitiseComponent, and the info hash is taken over the exact bytes
// of the info dict as written (never a re-encoding). Throws only MetainfoError,
// one line naming the problem; never allocates more than the input's size.
//
// The rules (what breaks one is refused with its own message):
// - Framing: the file is one bencoded dict (bytes after it are ignored, as other
//   clients do); nesting past 512 levels, a string longer than the file, a
//   repeated top-level key, a missing or non-dict info entry.
// - BEP 52 v2 and hybrid torrents ("meta version" 2, a "file tree"): v2-info.ts
//   and file-tree.ts. A v2 torrent's files come from its tree (with the pad
//   files BEP 52 implies between them), a hybrid's from its v1 list, checked
//   against the tree. infoHash is the SHA-1 of the info dict when there is a v1
//   part, else the first 20 bytes of its SHA-256 (what the wire, trackers and
//   the DHT use); v2.infoHash is the whole SHA-256.
// - name: present, a string. It becomes the file (single-file) or the top
//   folder (multi-file), cleaned like any path component but with "." and ".."
//   dropped; a multi-file torrent whose name is nothing after that is named by
//   its info hash, a single file with no name left is refused (as libtorrent).
//   Metainfo.name is that safe form, so what is shown is what is on disk.
// - piece length: a whole number from 1 to 64 MiB. Not necessarily a power of two
//   (BEP 3 only says "almost always"); the cap is because a download holds up to
//   four whole pieces in memory, and no common client writes bigger pieces.
// - pieces: a string whose length is a multiple of 20, one hash per piece, and
//   exactly ceil(total / piece length) of them.
// - sizes: whole numbers of bytes, 0 or more, whose sum is a safe integer
//   (< 2^53) and more than 0. Exactly one of "length" and "files" is present.
// - the file list, its paths and BEP 47 attributes: file-list.ts. No path is
//   refused for its shape; every one that changed is in Metainfo.pathChanges.
// - outside the info dict, read for display only: comment, created by,
//   creation date, DHT nodes (BEP 5); a wrong type there is ignored.

import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { MetainfoError } from './metainfo-error.ts'
import { topLevelSpans, valueEnd, type ByteSpan } from './bencode-span.ts'
import { sanitiseComponent } from './safe-path.ts'
import { checkLength, isDict, own, preferUtf8, shown, text, type Dict } from './dict.ts'
import { multiFileList } from './file-list.ts'
import type { FileEntry, PathChange } from './file-entry.ts'
import { fileTreeList } from './file-tree.ts'
import { checkHybrid, checkV2PieceLength, MAX_V2_PIECES, readPieceLayers, v2Info, type V2Info } from './v2-info.ts'
import { bencodeEnd, BencodeScanError } from '../core/bencode-scan.ts'
import { noteMetainfoSize } from '../core/optimizer.ts'

export { MetainfoError } from './metainfo-error.ts'
export type { FileEntry, PathChange } from './file-entry.ts'
export type { V2File, V2Info } from './v2-info.ts'

const HASH_LENGTH = 20
const MAX_PIECE_LENGTH = 64 * 1024 * 1024
const EMPTY_STRING = Buffer.from('0:')

export interface Metainfo {
  infoHash: Buffer
  infoHashHex: string
  name: string
  pieceLength: number
  pieceCount: number
  lastPieceLength: number
  length: number
  /** Concatenated 20-byte SHA-1s; empty in a v2-only torrent. */
  pieceHashes: Buffer
  /** False for a v2-only torrent (no SHA-1 piece hashes). */
  hasV1: boolean
  /** BEP 52: present for v2 and hybrid torrents. */
  v2?: V2Info
  files: FileEntry[]
  /** BEP 12 tiers; http(s) and udp URLs only, each once. */
  announce: string[][]
  urlList: string[]
  /** BEP 27 */
  private: boolean
  /** The bencoded info dict, byte-exact; its SHA-1 is infoHash. */
  infoBuffer: Buffer
  /** Every path (and the name) that differs from what the torrent says, in file order. */
  pathChanges: PathChange[]
  /** From outside the info dict, so absent for metadata fetched from peers. */
  comment?: string
  createdBy?: string
  /** Seconds since 1970, as written. */
  creationDate?: number
  /** BEP 5 "nodes": DHT nodes the torrent suggests. */
  nodes?: { host: string; port: number }[]
}

export async function parseTorrentFile(data: Buffer): Promise<Metainfo> {
  const what = 'not a torrent file'
  noteMetainfoSize(data.length)
  const { spans, end } = topLevelSpans(data, what)
  const infoSpan = spans.get('info')
  if (!infoSpan) throw new MetainfoError(`${what}: it has no info dictionary`)
  if (data[infoSpan.start] !== 0x64) throw new MetainfoError(`${what}: its info entry is not a dictionary`)
  const infoBuffer = keptInfo(data, infoSpan)
  // The info dict and piece layers are read from their bytes below, not decoded here.
  const torrent = decodeSkipping(data.subarray(0, end), spans, ['info', 'piece layers'], what)
  const meta = build(infoBuffer, decodeInfo(infoBuffer, what), announceTiers(torrent), urlList(torrent), what)
  // BEP 52: piece layers are optional (like a magnet's, fetched from peers), but checked when present.
  const layers = spans.get('piece layers')
  if (meta.v2 && layers) readPieceLayers(data, layers.start, meta.v2, meta.pieceLength, what)
  return { ...meta, ...extras(torrent) }
}

/** Bytes of a .torrent outside its info dict that a kept view may hold on to, rather than copy the dict. */
const MAX_VIEW_OVERHEAD_BYTES = 64 * 1024

/**
 * The info dict's bytes, kept for the torrent's life (BEP 9 serves them; the
 * piece hashes are a view into them). Usually a view into `data`: the rest of
 * a .torrent is a few URLs, and copying 10 MB of hashes costs 10 MB more at
 * the peak and ~0.1–0.2 s of fresh pages. A copy when the rest is big (BEP 52
 * piece layers), so they are not kept with it.
 */
function keptInfo(data: Buffer, span: ByteSpan): Buffer {
  const view = data.subarray(span.start, span.end)
  return data.buffer.byteLength - view.length <= MAX_VIEW_OVERHEAD_BYTES ? view : Buffer.from(view)
}

/** The info hash of a .torrent (hex) without parsing it: for bytes already parsed once and kept. */
export function infoHashHexOf(data: Buffer): string {
  const what = 'not a torrent file'
  const infoSpan = topLevelSpans(data, what).spans.get('info')
  if (!infoSpan) throw new MetainfoError(`${what}: it has no info dictionary`)
  const info = data.subarray(infoSpan.start, infoSpan.end)
  // As metainfoFromInfo decides: a v2-only torrent goes by its SHA-256, cut to 20 bytes (BEP 52).
  const keys = topLevelSpans(info, what).spans
  const version = keys.get('meta version')
  const isV2 = version !== undefined && info.subarray(version.start, version.end).toString('latin1') === 'i2e'
  const hasV1 = !isV2 || (keys.has('pieces') && (keys.has('files') || keys.has('length')))
  return hasV1 ? createHash('sha1').update(info).digest('hex') : createHash('sha256').update(info).digest().subarray(0, HASH_LENGTH).toString('hex')
}

/** The display-only fields outside the info dict; missing or mistyped ones are left out. */
function extras(torrent: Dict): Pick<Metainfo, 'comment' | 'createdBy' | 'creationDate' | 'nodes'> {
  const out: Pick<Metainfo, 'comment' | 'createdBy' | 'creationDate' | 'nodes'> = {}
  const comment = text(preferUtf8(torrent, 'comment'))
  if (comment) out.comment = comment
  const createdBy = text(own(torrent, 'created by'))
  if (createdBy) out.createdBy = createdBy
  const date = own(torrent, 'creation date')
  if (typeof date === 'number' && Number.isSafeInteger(date) && date > 0) out.creationDate = date
  const nodes = own(torrent, 'nodes')
  if (Array.isArray(nodes)) {
    const list = nodes.flatMap((n: unknown) => {
      if (!Array.isArray(n) || n.length !== 2) return []
      const host = text(n[0])?.trim()
      const port = n[1]
      return host && typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? [{ host, port }] : []
    })
    if (list.length > 0) out.nodes = list
  }
  return out
}

/** Builds a Metainfo from a bare info dict (BEP 9 metadata); `announce` tiers are filtered like a file's. */
export async function metainfoFromInfo(infoBuffer: Buffer, announce: string[][] = []): Promise<Metainfo> {
  const what = 'invalid info dictionary'
  noteMetainfoSize(infoBuffer.length)
  if (infoBuffer.length === 0) throw new MetainfoError(`${what}: it is empty`)
  if (infoBuffer[0] !== 0x64) throw new MetainfoError(`${what}: it does not start with a bencoded dictionary`)
  const end = valueEnd(infoBuffer, 0, what)
  if (end !== infoBuffer.length) throw new MetainfoError(`${what}: ${infoBuffer.length - end} stray bytes after the dictionary`)
  // The kept copy is decoded, so the piece hashes are a view into it rather than into the caller's bytes.
  const kept = Buffer.from(infoBuffer)
  const tiers = filterTiers(announce.map((tier) => tier.map((url) => Buffer.from(url))))
  return build(kept, decodeInfo(kept, what), tiers, [], what)
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
  const version = own(info, 'meta version')
  if (typeof version === 'number' && version > 2) throw new MetainfoError(`${what}: meta version ${shown(version)} is newer than BEP 52's 2`)
  const isV2 = version === 2
  if (!isV2 && own(info, 'file tree') !== undefined) throw new MetainfoError(`${what}: it has a v2 file tree but no "meta version" 2`)
  if (isV2) canonical(infoBuffer, what)

  const rawName = preferUtf8(info, 'name')
  if (!(rawName instanceof Uint8Array)) throw new MetainfoError(`${what}: it has no name`)

  const pieceLength = own(info, 'piece length')
  if (typeof pieceLength !== 'number') throw new MetainfoError(`${what}: it has no piece length`)
  if (pieceLength > MAX_PIECE_LENGTH) throw new MetainfoError(`${what}: piece length ${shown(pieceLength)} is over the 64 MiB limit`)
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new MetainfoError(`${what}: piece length ${shown(pieceLength)} must be a positive whole number`)

  if (isV2) checkV2PieceLength(pieceLength, what)

  const hasFiles = own(info, 'files') !== undefined
  const hasV1 = !isV2 || (pieces !== undefined && (hasFiles || own(info, 'length') !== undefined))
  if (hasV1 && !(pieces instanceof Uint8Array)) throw new MetainfoError(`${what}: it has no piece hashes`)
  if (hasV1 && (pieces as Uint8Array).length % HASH_LENGTH !== 0) throw new MetainfoError(`${what}: pieces length ${(pieces as Uint8Array).length} is not a multiple of ${HASH_LENGTH}`)

  if (hasFiles && own(info, 'length') !== undefined) throw new MetainfoError(`${what}: it has both a length and a file list; a torrent is either one file or a list`)
  const infoHash = hasV1 ? createHash('sha1').update(infoBuffer).digest() : createHash('sha256').update(infoBuffer).digest().subarray(0, HASH_LENGTH)
  const pathChanges: PathChange[] = []
  let name = sanitiseComponent(rawName, false)
  if (name === '') {
    if (!hasFiles && !isV2) throw new MetainfoError(`${what}: its name ${JSON.stringify(text(rawName))} is nothing once made safe, and a single file needs one`)
    name = infoHash.toString('hex')
  }
  if (name !== text(rawName)) pathChanges.push({ file: null, original: [text(rawName)!], safe: [name], why: 'name made safe' })
  let files: FileEntry[]
  if (isV2) {
    const tree = infoSpans(infoBuffer, what).get('file tree')
    if (!tree) throw new MetainfoError(`${what}: it is a v2 torrent with no file tree`)
    files = fileTreeList(infoBuffer, tree.start, name, hasFiles, pieceLength, what, pathChanges)
    if (hasV1) {
      const v1Files = hasFiles ? multiFileList(infoBuffer, filesStart(infoBuffer, what), name, what, []) : singleFile(info, name, what)
      checkHybrid(v1Files, files, what)
      // The v1 list (with its pad files) is the one the SHA-1s cover; the roots come from the tree.
      const roots = files.filter((f) => f.piecesRoot)
      for (const f of v1Files) {
        if (f.padding || f.length === 0) continue
        f.piecesRoot = roots.shift()!.piecesRoot
      }
      files = v1Files
    }
  } else {
    files = hasFiles ? multiFileList(infoBuffer, filesStart(infoBuffer, what), name, what, pathChanges) : singleFile(info, name, what)
  }
  const last = files[files.length - 1]
  const length = last.offset + last.length
  if (length === 0) throw new MetainfoError(`${what}: it holds no data (total length 0)`)
  const needed = Math.floor((length - 1) / pieceLength) + 1
  const pieceCount = hasV1 ? (pieces as Uint8Array).length / HASH_LENGTH : needed
  if (isV2 && pieceCount > MAX_V2_PIECES) throw new MetainfoError(`${what}: it has ${needed} pieces, over the limit of ${MAX_V2_PIECES}`)
  // Exact in doubles: pieceCount is bounded by the input's size and pieceLength by 64 MiB.
  if (pieceCount === 0 || (pieceCount - 1) * pieceLength >= length || pieceCount * pieceLength < length) {
    throw new MetainfoError(`${what}: it has ${pieceCount} piece hashes but ${length} bytes in ${pieceLength}-byte pieces need ${needed}`)
  }
  const piecesBuffer = hasV1 ? (pieces as Uint8Array) : new Uint8Array(0)
  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    hasV1,
    ...(isV2 ? { v2: v2Info(infoBuffer, files, pieceLength) } : {}),
    name,
    pieceLength,
    pieceCount,
    lastPieceLength: length - (pieceCount - 1) * pieceLength,
    length,
    pieceHashes: Buffer.from(piecesBuffer.buffer, piecesBuffer.byteOffset, piecesBuffer.length),
    files,
    announce,
    // BEP 19: a multi-file torrent's web seed is a folder (libtorrent adds the "/" too).
    urlList: files.length > 1 ? [...new Set(urls.map((u) => (u.endsWith('/') ? u : `${u}/`)))] : urls,
    private: own(info, 'private') === 1,
    infoBuffer,
    pathChanges,
  }
}

/** BEP 52 holds a v2 info dict to canonical bencoding; libtorrent refuses one that is not. */
function canonical(infoBuffer: Buffer, what: string): void {
  try {
    bencodeEnd(infoBuffer, 0, { maxDepth: 512, canonical: true })
  } catch (err) {
    if (!(err instanceof BencodeScanError)) throw err
    throw new MetainfoError(`${what}: its v2 info dictionary is not canonical bencoding (${err.message})`)
  }
}

function singleFile(info: Dict, name: string, what: string): FileEntry[] {
  const length = own(info, 'length')
  if (length === undefined) throw new MetainfoError(`${what}: it has neither a length nor a file list`)
  checkLength(length, what, 'its length')
  return [{ path: [name], length, offset: 0 }]
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

/** BEP 19 web seeds: a string or a list of strings, percent-encoded where needed ("a b" → "a%20b"). */
function urlList(torrent: Dict): string[] {
  const raw = own(torrent, 'url-list')
  const items = Array.isArray(raw) ? raw : [raw]
  const out: string[] = []
  for (const item of items) {
    const url = text(item)?.trim()
    if (!url || !hasScheme(url, ['http:', 'https:'])) continue
    const href = new URL(url).href
    if (!out.includes(href)) out.push(href)
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

/**
 * The info dict decoded but for its "files" list and "file tree", which are
 * read from the bytes (file-list-scan, file-tree): decoded, a 100,000-file
 * list is ~75 MB of objects. Their values here are an empty string. A
 * "pieces" string is not decoded either: its value is a view into
 * `infoBuffer`, so 500,000 pieces' 10 MB of hashes are held once, not copied
 * by the decoder (and its copy kept by the bencode package until its next decode).
 */
/** The info dict's top-level spans, found once per dict: each finding walks all of its file list (100,000 files: ~30 ms). */
const infoSpansOf = new WeakMap<Buffer, Map<string, ByteSpan>>()
function infoSpans(infoBuffer: Buffer, what: string): Map<string, ByteSpan> {
  let spans = infoSpansOf.get(infoBuffer)
  if (!spans) infoSpansOf.set(infoBuffer, (spans = topLevelSpans(infoBuffer, what).spans))
  return spans
}

function decodeInfo(infoBuffer: Buffer, what: string): Dict {
  const spans = infoSpans(infoBuffer, what)
  const pieces = spans.get('pieces')
  const piecesIsString = pieces !== undefined && infoBuffer[pieces.start] >= 0x30 && infoBuffer[pieces.start] <= 0x39
  const info = decodeSkipping(infoBuffer, spans, piecesIsString ? ['files', 'file tree', 'pieces'] : ['files', 'file tree'], what)
  if (piecesIsString) info.pieces = infoBuffer.subarray(infoBuffer.indexOf(0x3a, pieces.start) + 1, pieces.end)
  return info
}

function filesStart(infoBuffer: Buffer, what: string): number {
  return infoSpans(infoBuffer, what).get('files')!.start
}

/** Decodes a dict whose top-level values under `keys` are replaced by an empty string. */
function decodeSkipping(data: Uint8Array, spans: Map<string, ByteSpan>, keys: string[], what: string): Dict {
  const skipped = keys.flatMap((key) => spans.get(key) ?? []).sort((a, b) => a.start - b.start)
  if (skipped.length === 0) return decode(data, what)
  const parts: Uint8Array[] = []
  let at = 0
  for (const span of skipped) {
    parts.push(data.subarray(at, span.start), EMPTY_STRING)
    at = span.end
  }
  parts.push(data.subarray(at))
  return decode(Buffer.concat(parts), what)
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
