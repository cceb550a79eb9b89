// Reads a crawler's SQLite index file with plain SQL (not through the store),
// for tests and the bench that judge what a `friendtorrent crawl` stored.
import BetterSqlite3 from 'better-sqlite3'

/** How many torrents the index file holds; 0 while it is not made yet, or mid-migration. */
export function storedCount(file: string): number {
  try {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare('SELECT count(*) AS n FROM torrents').get() as { n: number }).n
    } finally {
      db.close()
    }
  } catch {
    return 0
  }
}
