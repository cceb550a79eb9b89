// Turns file paths from a torrent (untrusted input) into paths we may create.
// Must never let a torrent name a file outside the save folder, nor one that
// some filesystem we might run on cannot hold or would silently rename.
//
// Nothing is refused for its shape: like libtorrent (sanitize_append_path_element
// in its torrent_info.cpp), every component is cleaned, so torrents other
// clients load load here too. sanitiseComponent, per component:
// - dropped: "/" and "\" (so "/etc" is "etc" and no component is absolute), NUL,
//   and the invisible Unicode format characters that can disguise a name
//   (U+061C, U+200B-200F, U+202A-202E, U+2060-2064, U+2066-2069, U+FEFF);
// - "_" for: a byte sequence that is not UTF-8 (decoded as libtorrent does, one
//   "_" per bad sequence), C0 and C1 control characters and DEL;
// - nothing left, "." or "..": "_" (an empty component too), so "../../x"
//   becomes "_/_/x" and stays inside. The torrent's name is cleaned the same
//   way but "." and ".." there are dropped (libtorrent's non-forced element);
//   metainfo names a torrent whose name is nothing after that by its info hash.
// Then renamed the same way on every OS, so a torrent lands at the same paths on
// Linux, macOS and Windows and resume data stays valid (stricter than
// libtorrent, which applies these on Windows only):
//   characters Windows forbids (< > : " | ? *) become "_", which also defuses
//   drive letters ("C:" → "C_"); trailing dots and spaces (Windows drops them)
//   each become "_"; a Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9,
//   CONIN$, CONOUT$, also with an extension or trailing spaces before it) gets
//   "_" after it ("aux.c" → "aux_.c"); a component over 255 UTF-8 bytes (the
//   limit of ext4, APFS, NTFS) is cut to 255 keeping its extension, with "~" and
//   8 hex digits of the original's SHA-1 before it so two long names that share
//   a prefix stay apart (libtorrent cuts at 240 bytes with no tag).
// Cleaning is idempotent: a cleaned component passes both functions unchanged.
// Two files that meet after cleaning or case-folding are metainfo's to rename.

import { createHash } from 'node:crypto'
import path from 'node:path'
import { MetainfoError } from './metainfo-error.ts'

const MAX_COMPONENT_BYTES = 255
/** An extension longer than this is part of the name, so a long name keeps room for its stem. */
const MAX_KEPT_EXTENSION_BYTES = 32
// Windows reserves these device names with any extension: "con.txt" opens the console.
// It ignores spaces before the extension too ("CON .txt"), and ¹²³ count as digits.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(?=\.|$)/i
const DRIVE_PREFIX = /^[a-z]:/i
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g
const TRAILING_DOTS_SPACES = /[. ]+$/
const MAX_CODE_POINT = 0x10ffff

/**
 * Checks that every component is already safe and portable and returns a copy;
 * throws MetainfoError naming the first bad one. For paths we write ourselves
 * (create) and as the storage layer's guard on paths metainfo already cleaned.
 */
export function safePathComponents(parts: string[]): string[] {
  if (parts.length === 0) throw new MetainfoError('file path is empty')
  for (const part of parts) checkComponent(part)
  return parts.slice()
}

/** Each component cleaned by sanitiseComponent (forced: never dropped). Returns a new array. */
export function sanitisePathComponents(parts: (string | Uint8Array)[]): string[] {
  return parts.map((part) => sanitiseComponent(part))
}

/**
 * One component of a torrent's path made safe and portable (see the header).
 * Forced (the default, for file paths): never empty; nothing left, "." and ".."
 * become "_". Not forced (the torrent's name): those give "" instead.
 */
export function sanitiseComponent(raw: string | Uint8Array, force = true): string {
  const plain = plainAscii(raw)
  if (plain !== undefined) {
    if (plain === '' || plain === '.' || plain === '..') return force ? '_' : ''
    return portable(plain, plain)
  }
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw
  if (bytes.length === 0) return force ? '_' : ''
  let out = ''
  for (const cp of codePoints(bytes)) {
    if (cp === -1) out += '_'
    else if (isDropped(cp)) continue
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) out += '_'
    else out += String.fromCodePoint(cp)
  }
  if (out === '' || out === '.' || out === '..') return force ? '_' : ''
  // A cut name's tag hashes the text as first read, so resume data of long names stays valid.
  return portable(out, typeof raw === 'string' ? raw : Buffer.from(bytes).toString('utf8'))
}

/**
 * The text of a component made only of printable ASCII other than "/" and
 * "\\" (nearly every name in a real torrent), which cleaning keeps as it is
 * but for portable's rules; undefined when anything needs the full walk.
 */
function plainAscii(raw: string | Uint8Array): string | undefined {
  const isText = typeof raw === 'string'
  for (let i = 0; i < raw.length; i++) {
    const c = isText ? raw.charCodeAt(i) : raw[i]
    if (c < 0x20 || c > 0x7e || c === 0x2f || c === 0x5c) return undefined
  }
  return isText ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1')
}

/** The absolute path of `parts` under `root`; throws if it would land anywhere but strictly inside root. */
export function resolveInside(root: string, parts: string[]): string {
  const base = resolvedRoot(root)
  // Parts that cannot climb, name a root or hold a separator join as they are (a storage layer asks this per file, 100,000 times).
  if (parts.length > 0 && parts.every(isPlainPart)) return base + (base.endsWith(path.sep) ? '' : path.sep) + parts.join(path.sep)
  const full = path.resolve(base, ...parts)
  const rel = path.relative(base, full)
  if (rel === '' || rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) {
    throw new MetainfoError(`file path ${quote(parts.join('/'))} would leave the save folder ${base}`)
  }
  return full
}

let lastRoot = ''
let lastResolved = ''

/** path.resolve of a save folder, kept for the last absolute one (a relative one depends on the working folder). */
function resolvedRoot(root: string): string {
  if (!path.isAbsolute(root)) return path.resolve(root)
  if (root !== lastRoot) {
    lastResolved = path.resolve(root)
    lastRoot = root
  }
  return lastResolved
}

function isPlainPart(part: string): boolean {
  return part !== '' && part !== '.' && part !== '..' && !part.includes('/') && !part.includes('\\') && !part.includes('\0') && !DRIVE_PREFIX.test(part)
}

/** `name` with Windows' rules applied and cut to 255 bytes; `original` seeds the tag of a cut name. */
export function portable(name: string, original: string): string {
  // Drive letters need no check of their own: ":" is replaced here.
  let out = name.replace(WINDOWS_FORBIDDEN, '_')
  const trailing = TRAILING_DOTS_SPACES.exec(out)
  if (trailing) out = out.slice(0, trailing.index) + '_'.repeat(trailing[0].length)
  const reserved = WINDOWS_RESERVED.exec(out)
  if (reserved) out = `${reserved[0]}_${out.slice(reserved[0].length)}`
  if (Buffer.byteLength(out, 'utf8') > MAX_COMPONENT_BYTES) out = shortened(out, original)
  return out
}

/** Slashes, NUL and invisible format characters that can make one name look like another. */
function isDropped(cp: number): boolean {
  return cp === 0x2f || cp === 0x5c || cp === 0 || cp === 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0xfeff
}

/**
 * Code points of UTF-8 bytes, -1 for each bad sequence, as libtorrent's
 * parse_utf8_codepoint reads them: a bad lead byte is one sequence, a
 * truncated one runs to the end, and overlong forms and surrogates are bad.
 */
function* codePoints(bytes: Uint8Array): Generator<number> {
  let i = 0
  while (i < bytes.length) {
    const lead = bytes[i]
    const len = lead < 0x80 ? 1 : (lead >> 5) === 0b110 ? 2 : (lead >> 4) === 0b1110 ? 3 : (lead >> 3) === 0b11110 ? 4 : (lead >> 2) === 0b111110 ? 5 : 0
    if (len === 1) { yield lead; i++; continue }
    if (len === 0) { yield -1; i++; continue }
    if (i + len > bytes.length) { yield -1; return }
    // A 5-byte lead is invalid, but skips its length as one bad sequence.
    if (len === 5) { yield -1; i += len; continue }
    let cp = lead & (0xff >> (len + 1))
    let bad = false
    for (let k = 1; k < len; k++) {
      const b = bytes[i + k]
      if (b < 0x80 || b > 0xbf) bad = true
      cp = (cp << 6) | (b & 0x3f)
    }
    const overlong = (len === 2 && cp < 0x80) || (len === 3 && cp < 0x800) || (len === 4 && cp < 0x10000)
    yield bad || overlong || cp > MAX_CODE_POINT || (cp >= 0xd800 && cp <= 0xdfff) ? -1 : cp
    i += len
  }
}

/** `stem~hash.ext` in at most 255 bytes, cut on a character boundary. */
function shortened(name: string, original: string): string {
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 && Buffer.byteLength(name.slice(dot), 'utf8') <= MAX_KEPT_EXTENSION_BYTES ? name.slice(dot) : ''
  const tag = '~' + createHash('sha1').update(original).digest('hex').slice(0, 8)
  let room = MAX_COMPONENT_BYTES - Buffer.byteLength(ext + tag, 'utf8')
  let stem = ''
  for (const ch of name.slice(0, name.length - ext.length)) {
    room -= Buffer.byteLength(ch, 'utf8')
    if (room < 0) break
    stem += ch
  }
  return stem + tag + ext
}

function checkComponent(part: string): void {
  if (part.length === 0) throw new MetainfoError('file path has an empty component')
  if (part === '.' || part === '..') throw new MetainfoError(`file path component ${quote(part)} is not allowed`)
  if (part.includes('\0')) throw new MetainfoError(`file path component ${quote(part)} contains a NUL byte`)
  if (part.includes('/') || part.includes('\\')) {
    throw new MetainfoError(`file path component ${quote(part)} contains a slash`)
  }
  if (DRIVE_PREFIX.test(part)) throw new MetainfoError(`file path component ${quote(part)} starts with a drive letter (absolute path)`)
  if (WINDOWS_RESERVED.test(part)) throw new MetainfoError(`file path component ${quote(part)} is a reserved device name on Windows`)
  if (part.endsWith(' ') || part.endsWith('.')) {
    throw new MetainfoError(`file path component ${quote(part)} ends with a space or dot, which Windows drops`)
  }
  const bytes = Buffer.byteLength(part, 'utf8')
  if (bytes > MAX_COMPONENT_BYTES) {
    throw new MetainfoError(`file path component ${quote(part)} is ${bytes} bytes long; the limit is ${MAX_COMPONENT_BYTES}`)
  }
}

/** JSON quoting shows control characters; long names are cut so the message stays one readable line. */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + '…' : text)
}
