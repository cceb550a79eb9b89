// Turns what SQLite throws into one line a person can act on: a database
// locked by another process, a full disk, a corrupt or foreign file, a folder
// that cannot be written. Anything else keeps SQLite's own message.
import { FriendError } from '../core/types.ts'

export function sqliteError(err: unknown, file: string): FriendError {
  if (err instanceof FriendError) return err
  const code = String((err as { code?: unknown }).code ?? '')
  const message = (err as Error)?.message ?? String(err)
  const line = (() => {
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return `index database ${file} is locked by another process; stop it or wait, then try again`
    if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' && /full/i.test(message)) return `index database ${file}: the disk is full; free some space and try again (nothing stored so far is lost)`
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return `index database ${file} is corrupt (${message}); move it away and a new, empty index will be made`
    if (code.startsWith('SQLITE_CANTOPEN')) return `cannot open index database ${file}: ${message}`
    if (code.startsWith('SQLITE_READONLY')) return `index database ${file} is read-only: ${message}`
    return `index database ${file}: ${message.split('\n')[0]}`
  })()
  return new FriendError(line, { cause: err })
}
