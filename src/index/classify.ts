// Gives an indexed torrent one category from its files' extensions, the way
// bitmagnet's file-type classifier does: each file's bytes count towards the
// kind its extension names, and the kind holding the most bytes wins.
// Pure: no I/O; a torrent with no file of a known kind is 'other'.

export const CATEGORIES = ['video', 'audio', 'archive', 'software', 'ebook', 'image', 'other'] as const
export type Category = (typeof CATEGORIES)[number]

const EXTENSIONS: Record<Exclude<Category, 'other'>, string[]> = {
  video: ['3gp', 'asf', 'avi', 'divx', 'flv', 'm2ts', 'm4v', 'mkv', 'mov', 'mp4', 'mpeg', 'mpg', 'mts', 'ogm', 'ogv', 'rm', 'rmvb', 'ts', 'vob', 'webm', 'wmv', 'xvid'],
  audio: ['aac', 'ac3', 'aiff', 'alac', 'ape', 'dff', 'dsf', 'dts', 'flac', 'm4a', 'm4b', 'mka', 'mp3', 'oga', 'ogg', 'opus', 'wav', 'wma', 'wv'],
  archive: ['7z', 'bz2', 'cab', 'gz', 'lz', 'lzma', 'rar', 'tar', 'tbz2', 'tgz', 'txz', 'xz', 'z', 'zip', 'zst'],
  software: ['apk', 'appimage', 'bin', 'deb', 'dll', 'dmg', 'exe', 'img', 'iso', 'jar', 'msi', 'nrg', 'pkg', 'rpm', 'run', 'snap', 'xpi'],
  ebook: ['azw', 'azw3', 'cb7', 'cbr', 'cbt', 'cbz', 'chm', 'djvu', 'epub', 'fb2', 'lit', 'mobi', 'pdf'],
  image: ['bmp', 'cr2', 'dng', 'gif', 'heic', 'jpeg', 'jpg', 'nef', 'png', 'psd', 'raw', 'svg', 'tif', 'tiff', 'webp'],
}

const KIND_OF = new Map<string, Category>()
for (const [kind, exts] of Object.entries(EXTENSIONS)) for (const ext of exts) KIND_OF.set(ext, kind as Category)

/** The kind an extension names; split-archive parts (.r00, .001) are archives. */
export function categoryOfPath(path: string): Category {
  const base = path.slice(path.lastIndexOf('/') + 1)
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return 'other'
  const ext = base.slice(dot + 1).toLowerCase()
  if (/^(r\d\d|\d{3})$/.test(ext)) return 'archive'
  return KIND_OF.get(ext) ?? 'other'
}

/** The category of a torrent: the known kind with the most bytes; ties go to the earlier kind in CATEGORIES. */
export function classify(files: readonly { path: string; sizeBytes: number }[]): Category {
  const bytes = new Map<Category, number>()
  for (const f of files) {
    const kind = categoryOfPath(f.path)
    if (kind === 'other') continue
    // A zero-byte file still says something about the torrent: count it as one byte.
    bytes.set(kind, (bytes.get(kind) ?? 0) + Math.max(1, f.sizeBytes))
  }
  let best: Category = 'other'
  let most = 0
  for (const kind of CATEGORIES) {
    const b = bytes.get(kind) ?? 0
    if (b > most) [best, most] = [kind, b]
  }
  return best
}

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value)
}
