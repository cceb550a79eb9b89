// The metainfo module's public surface: torrent parsing, safe paths, piece ↔ file layout.

export { MetainfoError, parseTorrentFile, metainfoFromInfo, pieceHash, pieceSize } from './metainfo.ts'
export type { FileEntry, Metainfo, PathChange } from './metainfo.ts'
export { safePathComponents, resolveInside } from './safe-path.ts'
export { spansFor } from './layout.ts'
export type { Span } from './layout.ts'
