// The metainfo module's public surface: torrent parsing, safe paths, piece ↔ file layout.

export { MetainfoError, parseTorrentFile, metainfoFromInfo, pieceHash, pieceSize } from './metainfo.ts'
export { checkPiece, expectedV2Hash, type PieceVerdict } from './piece-check.ts'
export type { FileEntry, Metainfo, PathChange, V2File, V2Info } from './metainfo.ts'
export { safePathComponents, resolveInside } from './safe-path.ts'
export { spansFor } from './layout.ts'
export type { Span } from './layout.ts'
