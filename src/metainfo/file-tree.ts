// BEP 52's "file tree" → FileEntry[] (with each file's pieces root), read from
// the raw bytes of the info dict so keys keep their order and their exact
// bytes (a decoded object would reorder "10" before "9" and lose non-UTF-8
// names). Mirrors libtorrent's extract_files2 / extract_single_file2:
// - a node whose only key is "" is a file; any other dict is a folder; a
//   value that is not a dict, or an empty key in a folder, is refused;
// - at most MAX_DEPTH folders deep;
// - a file: a dict with "length" (0 or more; under 2^30 blocks), BEP 47
//   "attr" ("p" refused: v2 pads are implied, "l" symlink, "x"); a non-empty
//   file that is not a symlink needs a 32-byte, non-zero "pieces root";
// - every non-empty file is followed by an implied pad file up to the next
//   piece boundary, the last one too, as libtorrent lays them out (so every
//   piece, the last included, is whole: libtorrent asks for whole blocks of
//   it); pad files are never written;
// - one file at the top and no v1 "files" list: a single-file torrent whose
//   path is the tree's key; otherwise every path starts with the name.
// Paths are cleaned and made unique by file-list's rules, so a hybrid's v1
// and v2 views can be compared path for path.

import { MetainfoError } from './metainfo-error.ts'
import { checkLength } from './dict.ts'
import { finishFileList } from './file-list.ts'
import { sanitiseComponent } from './safe-path.ts'
import { isRawDict, rawField, readRaw, type RawDict, type RawValue } from './raw-bencode.ts'
import type { FileEntry, PathChange } from './file-entry.ts'

const MAX_DEPTH = 100
/** libtorrent's file_storage::max_num_pieces, counted in 16 KiB blocks per file. */
const MAX_BLOCKS = 2 ** 30 - 1
const BLOCK = 16384

export function fileTreeList(infoBuffer: Buffer, treeStart: number, name: string, hasV1Files: boolean, pieceLength: number, what: string, changes: PathChange[]): FileEntry[] {
  const tree = readRaw(infoBuffer, treeStart, what)
  if (!isRawDict(tree)) throw new MetainfoError(`${what}: its file tree is not a dictionary`)
  const files: FileEntry[] = []
  let offset = 0
  const walk = (dict: RawDict, folder: string[], originals: string[], depth: number): void => {
    for (const [key, value] of dict) {
      if (!isRawDict(value) || key.length === 0) throw new MetainfoError(`${what}: its file tree has an entry that is neither a file nor a folder`)
      const leaf = value.dict.length === 1 && value.dict[0][0].length === 0
      const single = leaf && !hasV1Files && depth === 0 && dict.length === 1
      const part = sanitiseComponent(key)
      const path = single ? [part] : [...folder, part]
      if (!leaf) {
        if (depth >= MAX_DEPTH) throw new MetainfoError(`${what}: its file tree nests deeper than ${MAX_DEPTH} folders`)
        walk(value.dict, path, [...originals, key.toString('utf8')], depth + 1)
        continue
      }
      const original = single ? [key.toString('utf8')] : [...originals, key.toString('utf8')]
      const file = fileEntry(value.dict[0][1], path, offset, what, `file ${files.filter((f) => !f.padding).length + 1}`)
      if (!file.padding && original.some((p, n) => p !== path[n])) changes.push({ file: files.length, original, safe: path.slice(), why: 'made safe' })
      files.push(file)
      offset += file.length
      if (!Number.isSafeInteger(offset)) throw new MetainfoError(`${what}: total length is too large`)
      if (file.length > 0 && offset % pieceLength !== 0) {
        const pad = pieceLength - (offset % pieceLength)
        // A single file's pad cannot sit in a folder named like the file.
        files.push({ path: single ? ['.pad', String(pad)] : [name, '.pad', String(pad)], length: pad, offset, padding: true })
        offset += pad
      }
    }
  }
  walk(tree.dict, [name], [name], 0)
  if (files.length === 0) throw new MetainfoError(`${what}: its file tree holds no files`)
  finishFileList(files, what, changes)
  return files
}

function fileEntry(value: RawValue, path: string[], offset: number, what: string, label: string): FileEntry {
  if (!isRawDict(value)) throw new MetainfoError(`${what}: ${label} is not a dictionary`)
  const field = (name: string): RawValue | undefined => rawField(value.dict, name)
  const attrValue = field('attr')
  const attr = Buffer.isBuffer(attrValue) ? attrValue.toString('latin1') : ''
  if (attr.includes('p')) throw new MetainfoError(`${what}: ${label} is marked as a pad file, which a v2 file tree must not hold`)
  const symlinkPath = field('symlink path')
  const isLink = attr.includes('l') && Array.isArray(symlinkPath)
  const length = isLink ? 0 : field('length')
  checkLength(length, what, `${label}'s length`)
  if (length / BLOCK >= MAX_BLOCKS) throw new MetainfoError(`${what}: ${label}'s length ${length} is too large`)
  const file: FileEntry = { path, length, offset }
  if (isLink) {
    if (symlinkPath.some((p) => !Buffer.isBuffer(p))) throw new MetainfoError(`${what}: ${label}'s symlink path has a part that is not a string`)
    file.symlink = [path[0], ...(symlinkPath as Buffer[]).filter((p) => p.toString() !== '.' && p.toString() !== '..').map((p) => sanitiseComponent(p))]
  }
  if (attr.includes('x')) file.executable = true
  if (!isLink && length > 0) {
    const root = field('pieces root')
    if (!Buffer.isBuffer(root) || root.length !== 32) throw new MetainfoError(`${what}: ${label} has no 32-byte pieces root`)
    if (root.every((b) => b === 0)) throw new MetainfoError(`${what}: ${label}'s pieces root is all zeros`)
    file.piecesRoot = root
  }
  return file
}

