// Turns file paths from a torrent (untrusted input) into paths we may create.
// Must never let a torrent name a file outside the save folder, nor one that
// some filesystem we might run on cannot hold or would silently rename.
//
// Two levels, chosen like libtorrent's: what could escape the save folder is
// refused, what is merely unportable is renamed.
// - Refused (MetainfoError): an empty component, "." or "..", a NUL byte, "/" or
//   "\" inside a component (so no absolute path either). No honest torrent has
//   these, and any rename would guess at the writer's intent.
// - Renamed by sanitisePathComponents, the same way on every OS, so a torrent lands
//   at the same paths on Linux, macOS and Windows and resume data stays valid:
//   characters Windows forbids (< > : " | ? * and control characters) become "_",
//   which also defuses drive letters ("C:" → "C_", "A: New Hope" → "A_ New Hope");
//   trailing dots and spaces (Windows drops them) each become "_"; a Windows
//   device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$, also with
//   an extension or trailing spaces before it) gets "_" after it ("aux.c" →
//   "aux_.c"); a component over 255 UTF-8 bytes (the limit of ext4, APFS, NTFS)
//   is cut to 255 keeping its extension, with "~" and 8 hex digits of the
//   original's SHA-1 before it so two long names that share a prefix stay apart.
//   Renaming is idempotent: a sanitised path passes both functions unchanged.
// Two files that meet after renaming or case-folding are metainfo's to refuse.

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
const WINDOWS_FORBIDDEN = /[<>:"|?*\x01-\x1f]/g
const TRAILING_DOTS_SPACES = /[. ]+$/

/**
 * Checks that every component is already safe and portable and returns a copy;
 * throws MetainfoError naming the first bad one. For paths we write ourselves
 * (create) and as the storage layer's guard on paths metainfo already sanitised.
 */
export function safePathComponents(parts: string[]): string[] {
  if (parts.length === 0) throw new MetainfoError('file path is empty')
  for (const part of parts) checkComponent(part)
  return parts.slice()
}

/**
 * A torrent's path made portable: refuses what could escape the save folder,
 * renames what some filesystem cannot hold (see the header). Returns a new array.
 */
export function sanitisePathComponents(parts: string[]): string[] {
  if (parts.length === 0) throw new MetainfoError('file path is empty')
  return parts.map(sanitiseComponent)
}

/** The absolute path of `parts` under `root`; throws if it would land anywhere but strictly inside root. */
export function resolveInside(root: string, parts: string[]): string {
  const base = path.resolve(root)
  const full = path.resolve(base, ...parts)
  const rel = path.relative(base, full)
  if (rel === '' || rel === '..' || rel.startsWith('..' + path.sep) || path.isAbsolute(rel)) {
    throw new MetainfoError(`file path ${quote(parts.join('/'))} would leave the save folder ${base}`)
  }
  return full
}

function sanitiseComponent(part: string): string {
  checkNotEscaping(part)
  // Drive letters need no check of their own: ":" is replaced here.
  let out = part.replace(WINDOWS_FORBIDDEN, '_')
  const trailing = TRAILING_DOTS_SPACES.exec(out)
  if (trailing) out = out.slice(0, trailing.index) + '_'.repeat(trailing[0].length)
  const reserved = WINDOWS_RESERVED.exec(out)
  if (reserved) out = `${reserved[0]}_${out.slice(reserved[0].length)}`
  if (Buffer.byteLength(out, 'utf8') > MAX_COMPONENT_BYTES) out = shortened(out, part)
  return out
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

function checkNotEscaping(part: string): void {
  if (part.length === 0) throw new MetainfoError('file path has an empty component')
  if (part === '.' || part === '..') throw new MetainfoError(`file path component ${quote(part)} is not allowed`)
  if (part.includes('\0')) throw new MetainfoError(`file path component ${quote(part)} contains a NUL byte`)
  if (part.includes('/') || part.includes('\\')) {
    throw new MetainfoError(`file path component ${quote(part)} contains a slash`)
  }
}

function checkComponent(part: string): void {
  checkNotEscaping(part)
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
