// A torrent's storage error said plainly, when it is one the user (or the
// session) can act on: a full disk or quota, or data missing under us, each
// with its TorrentErrorKind (a file gone or cut short under verified pieces
// is data missing); anything else keeps the message it came with.
import type { TorrentErrorKind } from './torrent-types.ts'

export function storageFailure(message: string, err: unknown, torrentName: string): { message: string; kind?: TorrentErrorKind } {
  const code = (err as { code?: unknown } | undefined)?.code
  const file = (err as { path?: unknown } | undefined)?.path
  const missing = (err as { missing?: unknown } | undefined)?.missing === true
  const where = typeof file === 'string' ? file : torrentName
  if (code === 'ENOSPC' || code === 'EDQUOT') return { message: `disk full writing ${where} (${code === 'ENOSPC' ? 'no space left' : 'over the disk quota'})`, kind: 'disk full' }
  if (code === 'ENOENT' || missing) return { message: `data missing: ${where}; verify or remove`, kind: 'data missing' }
  return { message }
}
