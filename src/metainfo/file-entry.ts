// One file of a torrent as we store it, and the record of a path made safe.
// Types only, shared by metainfo.ts and file-list.ts.

export interface FileEntry {
  /** Safe components relative to the save folder; the torrent name comes first for multi-file torrents. */
  path: string[]
  length: number
  /** Where this file starts in the concatenated payload. */
  offset: number
  /** BEP 47 pad file: its bytes are zeros, it is never created on disk and its path is not unique. */
  padding?: boolean
  /**
   * BEP 47 symlink (length 0): its target, safe components relative to the save
   * folder like `path`. Equal to `path` when the target is not in the torrent:
   * such a link is never created.
   */
  symlink?: string[]
  /** BEP 47 "x": storage sets the executable bit. */
  executable?: boolean
  /** BEP 52: the root of this file's merkle tree (32 bytes); absent for pad, empty and symlink files and in v1 torrents. */
  piecesRoot?: Buffer
}

/** A path that was changed to be safe or unique: `file` is its index, or null for the torrent's name. */
export interface PathChange {
  file: number | null
  /** The components as the torrent has them (the name first for a multi-file torrent). */
  original: string[]
  safe: string[]
  why: string
}
