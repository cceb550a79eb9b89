// Turns file paths from a torrent (untrusted input) into paths we may create.
// Must never let a torrent name a file outside the save folder, nor one that
// some filesystem we might run on cannot hold or would silently rename.

import path from 'node:path'
import { MetainfoError } from './metainfo-error.ts'

const MAX_COMPONENT_BYTES = 255
// Windows reserves these device names with any extension: "con.txt" opens the console.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i
const DRIVE_PREFIX = /^[a-z]:/i

/** Checks every component and returns a copy; throws MetainfoError naming the first bad one. */
export function safePathComponents(parts: string[]): string[] {
  if (parts.length === 0) throw new MetainfoError('file path is empty')
  for (const part of parts) checkComponent(part)
  return parts.slice()
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
