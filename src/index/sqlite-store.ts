// The index in one SQLite file (the default; `index.sqlite` in the state
// folder): torrents and their files, deduplicated by info hash, an FTS5 table
// over names and file paths, the compressed info dict, WAL journal. Batches go
// in one transaction; a hash already stored costs no write. The schema is made
// and migrated here, with its version in `schema_version`.
// better-sqlite3 is an optional dependency, loaded only when this module opens
// a database: nothing on the download path may import this file.
import { statSync } from 'node:fs'
import type BetterSqlite3 from 'better-sqlite3'
import { FriendError } from '../core/types.ts'
import type { Blocklist } from './blocklist.ts'
import { classify, type Category } from './classify.ts'
import { HEX_INFO_HASH, type IndexedTorrent, type IndexStore } from './index-store.ts'
import { compressInfoDict, decompressInfoDict } from './info-dict-codec.ts'
import { ftsQuery, magnetOf, MAX_SEARCH_LIMIT, pathWords, queryWords, rankByName, searchText, type IndexReader, type RankCandidate, type SearchQuery, type SearchResult } from './search.ts'
import { sqliteError } from './sqlite-errors.ts'
import { isoTime } from '../core/iso-time.ts'

type Database = BetterSqlite3.Database
type Statement = BetterSqlite3.Statement

export const MISSING_SQLITE = 'the index needs better-sqlite3: npm install better-sqlite3@12'

/** Each entry moves the schema from version i to i + 1; append, never edit one that shipped. */
const MIGRATIONS: string[] = [
  `CREATE TABLE torrents (
     id INTEGER PRIMARY KEY,
     info_hash BLOB NOT NULL UNIQUE,
     name TEXT NOT NULL,
     size_bytes INTEGER NOT NULL,
     piece_length INTEGER NOT NULL,
     piece_count INTEGER NOT NULL,
     file_count INTEGER NOT NULL,
     comment TEXT,
     created_at INTEGER,
     collected_at INTEGER NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     seeders INTEGER,
     leechers INTEGER,
     category TEXT NOT NULL,
     info_dict BLOB
   );
   CREATE INDEX torrents_first_seen ON torrents (first_seen);
   CREATE TABLE files (
     torrent_id INTEGER NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     path TEXT NOT NULL,
     size_bytes INTEGER NOT NULL,
     PRIMARY KEY (torrent_id, idx)
   ) WITHOUT ROWID;
   CREATE VIRTUAL TABLE torrents_fts USING fts5 (name, paths, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');`,
]

/** Matches ranked per search, newest first: more than this many match only for common words, and then the newest are what a person wants. */
export const RANK_WINDOW = 1000

export interface SqliteStoreOptions {
  blocklist?: Blocklist
  /** Keep the compressed info dict (default true; without it `add` of a result fetches metadata). */
  keepInfoDicts?: boolean
  /** How long a write waits for another process's lock before giving up (default 5 s). */
  busyTimeoutMs?: number
  now?: () => number
}

async function loadDriver(): Promise<typeof BetterSqlite3> {
  try {
    return (await import('better-sqlite3')).default
  } catch (err) {
    throw new FriendError(MISSING_SQLITE, { cause: err })
  }
}

function hashBlob(hex: string): Buffer {
  return Buffer.from(hex, 'hex')
}

export class SqliteIndexStore implements IndexStore, IndexReader {
  readonly file: string
  readonly #db: Database
  readonly #options: SqliteStoreOptions
  readonly #now: () => number
  /** Hash → worker, for crawlers in this process (one process owns a SQLite index). */
  readonly #claims = new Map<string, string>()
  readonly #stmt: Record<'insertTorrent' | 'insertFile' | 'insertFts' | 'stored' | 'seen' | 'infoDict' | 'results', Statement>

  private constructor(db: Database, file: string, options: SqliteStoreOptions) {
    this.#db = db
    this.file = file
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#stmt = {
      insertTorrent: db.prepare(`INSERT INTO torrents (info_hash, name, size_bytes, piece_length, piece_count, file_count, comment, created_at, collected_at, first_seen, last_seen, category, info_dict)
        VALUES (@infoHash, @name, @sizeBytes, @pieceLength, @pieceCount, @fileCount, @comment, @createdAt, @collectedAt, @now, @now, @category, @infoDict)
        ON CONFLICT (info_hash) DO NOTHING RETURNING id`),
      insertFile: db.prepare('INSERT INTO files (torrent_id, idx, path, size_bytes) VALUES (?, ?, ?, ?)'),
      insertFts: db.prepare('INSERT INTO torrents_fts (rowid, name, paths) VALUES (?, ?, ?)'),
      stored: db.prepare('SELECT lower(hex(info_hash)) AS h FROM torrents WHERE info_hash IN (SELECT unhex(value) FROM json_each(?))').pluck(),
      seen: db.prepare('UPDATE torrents SET last_seen = ? WHERE info_hash IN (SELECT unhex(value) FROM json_each(?)) AND last_seen < ?'),
      infoDict: db.prepare('SELECT info_dict FROM torrents WHERE info_hash = ?').pluck(),
      results: db.prepare(`SELECT id, lower(hex(info_hash)) AS infoHash, name, size_bytes AS sizeBytes, file_count AS fileCount, category,
        first_seen AS firstSeen, last_seen AS lastSeen, seeders, leechers FROM torrents WHERE id IN (SELECT value FROM json_each(?))`),
    }
  }

  /** Opens (creating and migrating as needed) the index in `file`. */
  static async open(file: string, options: SqliteStoreOptions = {}): Promise<SqliteIndexStore> {
    const Driver = await loadDriver()
    let db: Database | undefined
    try {
      db = new Driver(file, { timeout: options.busyTimeoutMs ?? 5000 })
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      db.pragma('foreign_keys = ON')
      migrate(db)
      return new SqliteIndexStore(db, file, options)
    } catch (err) {
      try {
        db?.close()
      } catch {
        // Closing after a failed open says nothing the first error did not.
      }
      // A binding built for another Node fails here, not at import.
      if (/bindings|NODE_MODULE_VERSION|\.node\b/.test((err as Error)?.message ?? '')) throw new FriendError(`${MISSING_SQLITE} (${(err as Error).message.split('\n')[0]})`)
      throw sqliteError(err, file)
    }
  }

  #run<T>(work: () => T): T {
    try {
      return work()
    } catch (err) {
      throw sqliteError(err, this.file)
    }
  }

  async storedAmong(infoHashes: string[]): Promise<Set<string>> {
    const wanted = infoHashes.filter((h) => HEX_INFO_HASH.test(h))
    if (wanted.length === 0) return new Set()
    return this.#run(() => new Set(this.#stmt.stored.all(JSON.stringify(wanted)) as string[]))
  }

  async claim(infoHashes: string[], worker: string): Promise<string[]> {
    const candidates = [...new Set(infoHashes)].filter((h) => HEX_INFO_HASH.test(h) && !this.#options.blocklist?.blocksHash(h))
    const stored = await this.storedAmong(candidates)
    const out: string[] = []
    for (const h of candidates) {
      if (stored.has(h)) continue
      const holder = this.#claims.get(h)
      if (holder !== undefined && holder !== worker) continue
      this.#claims.set(h, worker)
      out.push(h)
    }
    return out
  }

  async release(infoHash: string, worker: string): Promise<void> {
    if (this.#claims.get(infoHash) === worker) this.#claims.delete(infoHash)
  }

  async insert(torrents: IndexedTorrent[]): Promise<void> {
    for (const t of torrents) if (!HEX_INFO_HASH.test(t.infoHash)) throw new FriendError(`index: "${t.infoHash}" is not a 40-character lower-case hex info hash`)
    const batch = torrents.filter((t) => !this.#options.blocklist?.blocks(t))
    // Rows are built before the transaction opens, so the write lock is held only for the writes.
    const rows = batch.map((t) => ({
      torrent: t,
      params: {
        infoHash: hashBlob(t.infoHash),
        name: t.name,
        sizeBytes: t.sizeBytes,
        pieceLength: t.pieceLength,
        pieceCount: t.pieceCount,
        fileCount: t.files.length,
        comment: t.comment ?? null,
        createdAt: t.createdAt ?? null,
        collectedAt: t.collectedAt,
        now: this.#now(),
        category: classify(t.files) as Category,
        infoDict: this.#options.keepInfoDicts === false ? null : compressInfoDict(t.infoDict),
      },
      name: searchText(t.name),
      paths: pathWords(t.files),
    }))
    const write = this.#db.transaction(() => {
      for (const row of rows) {
        const inserted = this.#stmt.insertTorrent.get(row.params) as { id: number } | undefined
        if (!inserted) continue // already stored (or twice in this batch): no write
        row.torrent.files.forEach((f, i) => this.#stmt.insertFile.run(inserted.id, i, f.path, f.sizeBytes))
        this.#stmt.insertFts.run(inserted.id, row.name, row.paths)
      }
    })
    this.#run(() => write.immediate())
    for (const t of torrents) this.#claims.delete(t.infoHash)
  }

  async seen(infoHashes: string[]): Promise<void> {
    const hashes = infoHashes.filter((h) => HEX_INFO_HASH.test(h))
    if (hashes.length === 0) return
    const now = this.#now()
    this.#run(() => this.#stmt.seen.run(now, JSON.stringify(hashes), now))
  }

  async sizeBytes(): Promise<number> {
    let total = 0
    for (const f of [this.file, `${this.file}-wal`]) {
      try {
        total += statSync(f).size
      } catch {
        // No WAL file between checkpoints.
      }
    }
    return total
  }

  async search(query: SearchQuery): Promise<SearchResult[]> {
    const words = queryWords(query.text)
    if (words.length === 0) return []
    const limit = Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(query.limit)))
    // The newest RANK_WINDOW matches (FTS5 walks them newest first and stops) are ranked by their names
    // (rankByName): bm25 would first count every match of each word, tens of ms for a common word at a million.
    const filters = `${query.category ? 'AND t.category = @category' : ''} ${query.minSizeBytes ? 'AND t.size_bytes >= @minSize' : ''}`
    const params: Record<string, unknown> = { match: ftsQuery(words, query.prefix) }
    if (query.category) params.category = query.category
    if (query.minSizeBytes) params.minSize = query.minSizeBytes
    const candidates = this.#run(() =>
      this.#db
        .prepare(`SELECT t.id, t.name FROM torrents_fts f JOIN torrents t ON t.id = f.rowid WHERE torrents_fts MATCH @match ${filters} ORDER BY f.rowid DESC LIMIT ${RANK_WINDOW}`)
        .raw()
        .all(params),
    ) as RankCandidate[]
    const chosen = rankByName(candidates, words, query.prefix).slice(0, limit)
    if (chosen.length === 0) return []
    const rows = this.#run(() => this.#stmt.results.all(JSON.stringify(chosen.map((c) => c[0])))) as (SqliteRow & { id: number })[]
    const byId = new Map(rows.map((row) => [row.id, row]))
    return chosen.flatMap((c) => {
      const row = byId.get(c[0])
      return row ? [toResult(row)] : []
    })
  }

  async infoDict(infoHash: string): Promise<Buffer | undefined> {
    if (!HEX_INFO_HASH.test(infoHash)) return undefined
    const stored = this.#run(() => this.#stmt.infoDict.get(hashBlob(infoHash))) as Buffer | null | undefined
    return stored ? decompressInfoDict(stored) : undefined
  }

  async close(): Promise<void> {
    if (!this.#db.open) return
    try {
      // Folds the WAL back into the file, so the folder holds one file when nothing runs.
      this.#db.pragma('wal_checkpoint(TRUNCATE)')
    } catch {
      // Another process reading keeps the WAL; it is folded in next time.
    }
    this.#db.close()
  }
}

interface SqliteRow {
  infoHash: string
  name: string
  sizeBytes: number
  fileCount: number
  category: Category
  firstSeen: number
  lastSeen: number
  seeders: number | null
  leechers: number | null
}

function toResult(r: SqliteRow): SearchResult {
  return {
    infoHash: r.infoHash,
    name: r.name,
    sizeBytes: r.sizeBytes,
    fileCount: r.fileCount,
    category: r.category,
    discoveredAt: isoTime(r.firstSeen),
    lastSeenAt: isoTime(r.lastSeen),
    seeders: r.seeders,
    leechers: r.leechers,
    magnet: magnetOf(r.infoHash, r.name),
  }
}

function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)')
  const version = (db.prepare('SELECT max(version) FROM schema_version').pluck().get() as number | null) ?? 0
  if (version > MIGRATIONS.length) throw new FriendError(`index database ${db.name} has schema version ${version}, newer than this friendtorrent knows (${MIGRATIONS.length}); upgrade friendtorrent`)
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v])
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v + 1)
    }).immediate()
  }
}

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length
