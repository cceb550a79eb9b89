// A multi-file torrent's "files" list (BEP 3, BEP 47) → FileEntry[] with safe,
// unique paths, and a record of every path that had to change. Loads what
// libtorrent loads (its torrent_info.cpp extract_single_file, file_storage.cpp
// sanitize_symlinks, resolve_duplicate_filenames.cpp), re-checked against its
// test corpus in test/unit/metainfo/libtorrent-corpus.test.ts:
// - every component is cleaned by safe-path (never refused for its shape);
// - BEP 47 attr: "p" pad file (also BitComet's "_____padding_file_" names): its
//   bytes are zeros and it is never written, and one without a path gets
//   <name>/.pad/<length>; "x" executable; "l" symlink: no bytes whatever its
//   length says, its "symlink path" cleaned with "." and ".." dropped and taken
//   from the torrent's folder (or, failing that, from the link's own folder);
//   a target that is no file or folder of the torrent, even through the
//   torrent's other links, is recorded as pointing to the link itself, and
//   storage never creates such a link;
// - a file whose path another file or a folder already has (compared
//   NFC-normalised and case-folded, as Windows and macOS would) is renamed
//   name.1.ext, name.2.ext…; folders win over files wherever they appear; pad
//   files of one size may share a path. Over 500 failed tries refuses the
//   torrent, as libtorrent does (max_duplicate_filenames).
// Refused, with one line: a file that is not a dict, a bad length, a path or
// symlink path with a part that is not a string, a file with no path that is
// not a pad file.

import { MetainfoError } from './metainfo-error.ts'
import { checkLength } from './dict.ts'
import { scanFileList, type RawPath } from './file-list-scan.ts'
import { portable, sanitiseComponent } from './safe-path.ts'
import type { FileEntry, PathChange } from './file-entry.ts'

const MAX_DUPLICATE_TRIES = 500
const BITCOMET_PAD = '_____padding_file_'
const ASCII = /^[\x00-\x7f]*$/
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/** The "files" list whose bencoded bytes start at `start` in `info` (the info dict's bytes), read by file-list-scan. */
export function multiFileList(info: Buffer, start: number, name: string, what: string, changes: PathChange[]): FileEntry[] {
  if (info[start] !== 0x6c) throw new MetainfoError(`${what}: its file list is not a list`)
  const files: FileEntry[] = []
  // Folder names repeat in every path under them: each is cleaned once, and its string shared (by the name as read).
  const folders = new Map<string, string>()
  let offset = 0
  scanFileList(info, start, what, (entry, i) => {
    // Made only for a message: three strings per file were 300,000 for nothing in a good torrent.
    const label = () => `file ${i + 1}`
    if (!entry.isDict) throw new MetainfoError(`${what}: ${label()} is not a dictionary`)
    const attr = entry.attr
    let isLink = attr.includes('l')
    let length = 0
    if (!isLink) {
      length = entry.length as number
      if (!Number.isSafeInteger(length) || length < 0) checkLength(length, what, `${label()}'s length`)
    }
    const raw = rawParts(entry.path, what, label, 'path')
    let padding = attr.includes('p')
    let path: string[]
    if (raw !== undefined && raw.length > 0) {
      // Sized up front: a list grown by push keeps ~19 slots, 168 bytes a file instead of 40.
      path = new Array<string>(1 + raw.length / 2)
      path[0] = name
      let changed = false
      for (let n = 0; n < raw.length; n += 2) {
        const original = info.toString('utf8', raw[n], raw[n + 1])
        const folder = n + 2 < raw.length
        let part = folder ? folders.get(original) : undefined
        if (part === undefined) {
          // Printable ASCII decodes to itself: cleaned as text, with no Buffer made for it.
          part = sanitiseComponent(PRINTABLE_ASCII.test(original) ? original : info.subarray(raw[n], raw[n + 1]))
          if (folder) folders.set(original, part)
        }
        if (original.includes(BITCOMET_PAD)) padding = true
        if (part !== original) changed = true
        path[1 + n / 2] = part
      }
      if (!padding && changed) {
        const original = [name]
        for (let n = 0; n < raw.length; n += 2) original.push(info.toString('utf8', raw[n], raw[n + 1]))
        changes.push({ file: i, original, safe: path.slice(), why: 'made safe' })
      }
    } else if (padding) {
      path = [name, '.pad', String(length)]
    } else {
      throw new MetainfoError(`${what}: ${label()} has no path`)
    }
    let symlink: string[] | undefined
    if (isLink) {
      const target = rawParts(entry.symlinkPath, what, label, 'symlink path')
      // BEP 47 requires a symlink path; without one libtorrent reads the entry as a plain (empty) file.
      if (target === undefined) isLink = false
      else {
        const parts = [name]
        for (let n = 0; n < target.length; n += 2) {
          const bytes = info.subarray(target[n], target[n + 1])
          const text = bytes.toString('utf8')
          if (text !== '.' && text !== '..') parts.push(sanitiseComponent(bytes))
        }
        symlink = parts.slice()
      }
    }
    if (!Number.isSafeInteger(offset + length)) throw new MetainfoError(`${what}: total length is too large`)
    const file: FileEntry = { path, length, offset }
    if (padding) file.padding = true
    if (symlink) file.symlink = symlink
    if (attr.includes('x')) file.executable = true
    files.push(file)
    offset += length
  })
  if (files.length === 0) throw new MetainfoError(`${what}: its file list is empty`)
  finishFileList(files, what, changes)
  return files
}

/** The checks a whole list needs, v1 or v2: symlinks that stay inside, duplicate paths renamed. */
export function finishFileList(files: FileEntry[], what: string, changes: PathChange[]): void {
  checkSymlinks(files, changes)
  renameDuplicates(files, what, changes)
}

/** The byte ranges of a path list; undefined when it is not a list. */
function rawParts(value: RawPath, what: string, file: () => string, which: string): number[] | undefined {
  if (value === 'bad part') throw new MetainfoError(`${what}: ${file()}'s ${which} has a part that is not a string`)
  return value
}

/**
 * Every symlink must name a file or folder of the torrent, directly, from its
 * own folder, or through the torrent's other links; one that does not is set to
 * point to itself (libtorrent's mark for "invalid", which storage never creates).
 */
function checkSymlinks(files: FileEntry[], changes: PathChange[]): void {
  if (!files.some((f) => f.symlink)) return
  const key = (parts: string[]): string => parts.join('/')
  const fileAt = new Map<string, number>()
  const folders = new Set<string>()
  files.forEach((f, i) => {
    fileAt.set(key(f.path), i)
    for (let n = 1; n < f.path.length; n++) folders.add(key(f.path.slice(0, n)))
  })
  const exists = (parts: string[]): boolean => fileAt.has(key(parts)) || folders.has(key(parts))
  const linkTargets = new Map<string, string[]>()
  const pending: number[] = []
  files.forEach((f, i) => {
    if (!f.symlink) return
    if (exists(f.symlink)) {
      linkTargets.set(key(f.path), f.symlink)
      return
    }
    const fromLink = [...f.path.slice(0, -1), ...f.symlink.slice(1)]
    if (exists(fromLink)) {
      f.symlink = fromLink
      linkTargets.set(key(f.path), fromLink)
      return
    }
    linkTargets.set(key(f.path), f.symlink)
    pending.push(i)
  })
  for (const i of pending) {
    const f = files[i]
    if (resolvesInside(f.symlink!, folders, linkTargets, exists)) continue
    changes.push({ file: i, original: f.path.slice(), safe: f.path.slice(), why: `symlink to ${f.symlink!.join('/')}, which is not in the torrent: never created` })
    f.symlink = f.path.slice()
  }
}

/** Follows the torrent's own links folder by folder, each at most once, to a file or folder of the torrent. */
function resolvesInside(start: string[], folders: Set<string>, linkTargets: Map<string, string[]>, exists: (parts: string[]) => boolean): boolean {
  let target = start
  const traversed = new Set<string>()
  for (let n = 1; n < target.length; n++) {
    const branch = target.slice(0, n).join('/')
    if (folders.has(branch)) continue
    const link = linkTargets.get(branch)
    if (!link || traversed.has(branch)) return false
    traversed.add(branch)
    target = [...link, ...target.slice(n)]
    n = 0
  }
  return exists(target)
}

/**
 * libtorrent's duplicate rule: folders first, then each file in order; a path
 * already taken gets ".N" before its extension (the last "." of its last
 * component), N counting up from 1 until free.
 */
function renameDuplicates(files: FileEntry[], what: string, changes: PathChange[]): void {
  // Folder names repeat in every path under them: each is folded once.
  const foldedFolders = new Map<string, string>()
  const foldFolder = (part: string): string => {
    let folded = foldedFolders.get(part)
    if (folded === undefined) foldedFolders.set(part, (folded = foldPart(part)))
    return folded
  }
  // Per folder, its entries by folded name: a file's index, or -1 for a sub-folder.
  // A tree of maps, not one map of whole folded paths: no key string is made per file.
  const root: Folder = { entries: new Map(), folders: new Map() }
  const folderOf = (parts: readonly string[]): Folder => {
    let at = root
    for (let n = 0; n < parts.length - 1; n++) {
      const name = foldFolder(parts[n])
      let next = at.folders.get(name)
      if (!next) {
        next = { entries: new Map(), folders: new Map() }
        at.folders.set(name, next)
        at.entries.set(name, -1)
      }
      at = next
    }
    return at
  }
  // Files of one folder mostly follow each other, their folder names the same strings (multiFileList shares them): found once.
  let lastPath: readonly string[] = []
  let lastFolder = root
  const folderOfFile = (parts: readonly string[]): Folder => {
    if (parts.length !== lastPath.length || !parts.every((p, n) => n === parts.length - 1 || p === lastPath[n])) lastFolder = folderOf(parts)
    lastPath = parts
    return lastFolder
  }
  for (const f of files) folderOfFile(f.path)
  let tries = 0
  files.forEach((f, i) => {
    const folder = folderOfFile(f.path)
    const last = f.path[f.path.length - 1]
    const folded = foldPart(last)
    const clash = folder.entries.get(folded)
    if (clash === undefined) {
      folder.entries.set(folded, i)
      return
    }
    if (clash >= 0 && f.padding && files[clash].padding && files[clash].length === f.length) return
    const dot = last.lastIndexOf('.')
    const stem = dot >= 0 ? last.slice(0, dot) : last
    const ext = dot >= 0 ? last.slice(dot) : ''
    for (let n = 1; ; n++) {
      const name = portable(`${stem}.${n}${ext}`, `${last}.${n}`)
      if (!folder.entries.has(foldPart(name))) {
        folder.entries.set(foldPart(name), i)
        const renamed = [...f.path.slice(0, -1), name]
        const why = clash >= 0 ? `same path as file ${clash + 1}` : 'same path as a folder'
        const earlier = changes.find((c) => c.file === i)
        if (earlier) Object.assign(earlier, { safe: renamed.slice(), why: `${earlier.why}; ${why}` })
        else if (!f.padding) changes.push({ file: i, original: f.path.slice(), safe: renamed.slice(), why })
        f.path = renamed
        return
      }
      if (++tries > MAX_DUPLICATE_TRIES) throw new MetainfoError(`${what}: over ${MAX_DUPLICATE_TRIES} of its file names collide; it looks built to waste time`)
    }
  })
}

interface Folder {
  entries: Map<string, number>
  folders: Map<string, Folder>
}

/** NFC-normalised and lower-cased, as Windows and macOS compare names; ASCII needs no normalising. */
function foldPart(part: string): string {
  return ASCII.test(part) ? part.toLowerCase() : part.normalize('NFC').toLowerCase()
}
