// Opens the index the config names, for the commands that read it (`search`,
// `add` of a stored result): loaded lazily, so a client without an index (or
// without better-sqlite3) never loads it; a SQLite index that was never made
// is "no index", not a new empty file.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { OpenedIndex } from '../index/open-store.ts'
import type { Config } from './config.ts'

/** The configured index, or undefined when it is SQLite and no crawl has made it yet. */
export async function openConfiguredIndex(config: Config, stateDir: string): Promise<OpenedIndex | undefined> {
  const { openIndexStore, sqliteIndexPath } = await import('../index/open-store.ts')
  if (config.indexDatabase === '' && !existsSync(sqliteIndexPath(stateDir))) return undefined
  return openIndexStore(config.indexDatabase, stateDir, { blocklist: config.indexBlocklist })
}

/** open-store.ts's SQLITE_INDEX_FILE, repeated so this check loads no index module (test/unit/index/sqlite-store.test.ts compares them). */
export const SQLITE_INDEX_FILE = 'index.sqlite'

/** Whether an index may exist, without loading anything: the cheap test `add` makes before looking one up. */
export function mayHaveIndex(config: Config, stateDir: string): boolean {
  return config.indexDatabase !== '' || existsSync(join(stateDir, SQLITE_INDEX_FILE))
}
