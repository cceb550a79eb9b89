// Opens the index a config names: '' is SQLite in `index.sqlite` in the state
// folder, `postgres://…` (or `postgresql://…`) is a shared PostgreSQL. Each
// store and its driver are imported only here, only when asked for, so the
// rest of the client runs without better-sqlite3 or pg installed.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { FriendError } from '../core/types.ts'
import { Blocklist, type IndexBlocklist } from './blocklist.ts'
import type { IndexStore } from './index-store.ts'
import type { IndexReader } from './search.ts'

export type OpenedIndex = IndexStore & IndexReader

export interface OpenIndexOptions {
  blocklist?: IndexBlocklist
  /** Keep compressed info dicts (default true). */
  keepInfoDicts?: boolean
}

export const SQLITE_INDEX_FILE = 'index.sqlite'

export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec)
}

/** Where the SQLite index of a state folder lives (whether or not it exists yet). */
export function sqliteIndexPath(stateDir: string): string {
  return join(stateDir, SQLITE_INDEX_FILE)
}

export async function openIndexStore(spec: string, stateDir: string, options: OpenIndexOptions = {}): Promise<OpenedIndex> {
  const blocklist = options.blocklist ? new Blocklist(options.blocklist) : undefined
  if (spec === '') {
    await mkdir(stateDir, { recursive: true })
    const { SqliteIndexStore } = await import('./sqlite-store.ts')
    return SqliteIndexStore.open(sqliteIndexPath(stateDir), { blocklist, keepInfoDicts: options.keepInfoDicts })
  }
  if (isPostgresSpec(spec)) {
    const { PgIndexStore } = await import('./pg-store.ts')
    return PgIndexStore.open(spec, { blocklist, keepInfoDicts: options.keepInfoDicts })
  }
  throw new FriendError(`indexDatabase must be empty (SQLite in the state folder) or a postgres:// URL, got "${spec}"`)
}
