// Reads a v1 "files" list straight from the info dict's bytes, one entry at a
// time, without decoding it into objects: a 100,000-file torrent decoded by
// the bencode package took ~75 MB of heap and seconds of garbage collection.
// Only the keys a file entry uses are looked at (length, attr, path,
// path.utf-8, symlink path); strings stay as byte ranges of the buffer. The
// list must already be framed (bencode-span), so every value here is whole
// and nests within the limit. Judging what it finds is file-list.ts's job.

import { valueEnd } from './bencode-span.ts'

const CH_COLON = 0x3a
const CH_D = 0x64
const CH_E = 0x65
const CH_I = 0x69
const CH_L = 0x6c

/**
 * A path list as found: absent (or not a list), a list with a part that is
 * not a string, or [start, end) byte ranges (an array reused for the next
 * entry: read it during `visit`, don't keep it).
 */
export type RawPath = undefined | 'bad part' | number[]

export interface RawFileEntry {
  /** False when the entry is not a dictionary (nothing else is filled in). */
  isDict: boolean
  /** Undefined when missing or not an integer. */
  length: number | undefined
  /** BEP 47 attr as latin1 text ("" when missing or not a string). */
  attr: string
  /** "path.utf-8" when present, else "path" (what the decoded form's preferUtf8 gave). */
  path: RawPath
  symlinkPath: RawPath
}

/** Calls `visit` for each entry of the bencoded list at `start`; returns how many there were. */
export function scanFileList(buf: Buffer, start: number, what: string, visit: (entry: RawFileEntry, index: number) => void): number {
  // Not scanned again here: the info dict's spans (metainfo.ts) framed this list, within the nesting limit.
  let pos = start + 1
  let index = 0
  const entry: RawFileEntry = { isDict: false, length: undefined, attr: '', path: undefined, symlinkPath: undefined }
  // One array each, refilled per entry: not three new ones per file.
  const plainRanges: number[] = []
  const utf8Ranges: number[] = []
  const linkRanges: number[] = []
  while (buf[pos] !== CH_E) {
    entry.isDict = buf[pos] === CH_D
    entry.length = undefined
    entry.attr = ''
    entry.path = undefined
    entry.symlinkPath = undefined
    if (!entry.isDict) {
      visit(entry, index++)
      pos = valueEnd(buf, pos, what)
      continue
    }
    pos++
    let plain: RawPath
    let utf8: RawPath
    let hasUtf8 = false
    while (buf[pos] !== CH_E) {
      const colon = buf.indexOf(CH_COLON, pos)
      const keyStart = colon + 1
      const keyEnd = keyStart + Number(buf.toString('latin1', pos, colon))
      const key = keyEnd - keyStart <= 12 ? buf.toString('latin1', keyStart, keyEnd) : ''
      pos = keyEnd
      // A repeated key: the last one counts, as in the decoded form.
      if (key === 'length') entry.length = buf[pos] === CH_I ? Number(buf.toString('latin1', pos + 1, buf.indexOf(CH_E, pos))) : undefined
      else if (key === 'attr') entry.attr = isString(buf[pos]) ? stringText(buf, pos) : ''
      else if (key === 'path') plain = rawPath(buf, pos, plainRanges)
      else if (key === 'path.utf-8') {
        utf8 = rawPath(buf, pos, utf8Ranges)
        hasUtf8 = true
      } else if (key === 'symlink path') entry.symlinkPath = rawPath(buf, pos, linkRanges)
      pos = valueEnd(buf, pos, what)
    }
    pos++
    entry.path = hasUtf8 ? utf8 : plain
    visit(entry, index++)
  }
  return index
}

function isString(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function stringText(buf: Buffer, pos: number): string {
  const colon = buf.indexOf(CH_COLON, pos)
  return buf.toString('latin1', colon + 1, colon + 1 + Number(buf.toString('latin1', pos, colon)))
}

/** The byte ranges of a list of strings at `pos`, into `ranges` (emptied first). */
function rawPath(buf: Buffer, pos: number, ranges: number[]): RawPath {
  if (buf[pos] !== CH_L) return undefined
  ranges.length = 0
  pos++
  while (buf[pos] !== CH_E) {
    if (!isString(buf[pos])) return 'bad part'
    const colon = buf.indexOf(CH_COLON, pos)
    const s = colon + 1
    const e = s + Number(buf.toString('latin1', pos, colon))
    ranges.push(s, e)
    pos = e
  }
  return ranges
}
