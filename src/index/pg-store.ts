// The index in a shared PostgreSQL, for crawlers on several machines: unique
// info hashes with ON CONFLICT, fetch work handed out through the `claims`
// table with FOR UPDATE SKIP LOCKED (a claim older than the claim lifetime
// may be taken by another worker), tsvector search over a GIN index. The
// schema is made and migrated here, under an advisory lock, with a version.
// Several crawlers write the same rows at once: rows are written in info-hash
// order, and a statement or transaction PostgreSQL aborts as a deadlock or a
// serialization failure is run again (each of ours may be repeated).
// `?schema=NAME` in the URL keeps the tables in their own schema.
// pg is loaded only when this module opens a database.
import type PgTypes from 'pg'
import { isoTime } from '../core/iso-time.ts'
import { FriendError } from '../core/types.ts'
import type { Blocklist } from './blocklist.ts'
import { classify, type Category } from './classify.ts'
import { HEX_INFO_HASH, type IndexedTorrent, type IndexStore } from './index-store.ts'
import { compressInfoDict, decompressInfoDict } from './info-dict-codec.ts'
import { magnetOf, MAX_SEARCH_LIMIT, pathWords, queryWords, searchText, type IndexReader, type SearchQuery, type SearchResult } from './search.ts'

type Pool = PgTypes.Pool
type PoolClient = PgTypes.PoolClient

/** A batch of new torrents as the INSERT's column arrays, in info-hash order. */
interface InsertColumns {
  hash: Buffer[]
  name: string[]
  size: number[]
  pieceLength: number[]
  pieceCount: number[]
  fileCount: number[]
  comment: (string | null)[]
  createdAt: (number | null)[]
  collectedAt: number[]
  category: string[]
  infoDict: (Buffer | null)[]
  nameWords: string[]
  pathWords: string[]
}

const MIGRATIONS: string[] = [
  `CREATE TABLE torrents (
     id bigserial PRIMARY KEY,
     info_hash bytea NOT NULL UNIQUE,
     name text NOT NULL,
     size_bytes bigint NOT NULL,
     piece_length bigint NOT NULL,
     piece_count integer NOT NULL,
     file_count integer NOT NULL,
     comment text,
     created_at bigint,
     collected_at bigint NOT NULL,
     first_seen bigint NOT NULL,
     last_seen bigint NOT NULL,
     seeders integer,
     leechers integer,
     category text NOT NULL,
     info_dict bytea,
     search tsvector NOT NULL
   );
   CREATE INDEX torrents_search ON torrents USING gin (search);
   CREATE TABLE files (
     torrent_id bigint NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
     idx integer NOT NULL,
     path text NOT NULL,
     size_bytes bigint NOT NULL,
     PRIMARY KEY (torrent_id, idx)
   );
   CREATE TABLE claims (
     info_hash bytea PRIMARY KEY,
     worker text,
     claimed_at timestamptz
   );`,
]
export const PG_SCHEMA_VERSION = MIGRATIONS.length

/** Any fixed number: the advisory lock that keeps two crawlers from migrating at once. */
const MIGRATION_LOCK = 0x66746978
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/
/** As in SQLite: ts_rank runs over the newest this many matches, not over every row a common word finds. */
const RANK_WINDOW = 5000

export interface PgStoreOptions {
  blocklist?: Blocklist
  keepInfoDicts?: boolean
  /** A claim not stored or released within this long may go to another worker (default 10 min). */
  claimLifetimeMs?: number
  now?: () => number
}

async function loadDriver(): Promise<typeof PgTypes> {
  try {
    return (await import('pg')).default
  } catch (err) {
    throw new FriendError('the PostgreSQL index needs pg: npm install pg@8', { cause: err })
  }
}

/** PostgreSQL text cannot hold NUL; the one character it refuses becomes U+FFFD. */
function pgText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s
}

const bytes = (hex: string) => Buffer.from(hex, 'hex')

/** SQLSTATEs that ask for the transaction to be run again: serialization_failure, deadlock_detected. */
const RETRY_STATES = new Set(['40001', '40P01'])
const MAX_ATTEMPTS = 5

/** `run()`, again after a short random pause when PostgreSQL aborted it as a deadlock or serialization failure. */
async function retried<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !RETRY_STATES.has((err as { code?: string }).code ?? '')) throw err
      await new Promise((resolve) => setTimeout(resolve, attempt * 20 + Math.random() * 50))
    }
  }
}

/** Byte order of info hashes, the order every writer locks rows in. */
function byHash(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b)
}

function pgError(err: unknown, where: string): FriendError {
  if (err instanceof FriendError) return err
  const e = err as { code?: string; message?: string }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT') return new FriendError(`cannot reach the index database at ${where}: ${e.code}`, { cause: err })
  if (e.code === '53100') return new FriendError(`index database at ${where}: the disk is full; free some space and try again (nothing stored so far is lost)`, { cause: err })
  return new FriendError(`index database at ${where}: ${(e.message ?? String(err)).split('\n')[0]}`, { cause: err })
}

/** The URL without our own `schema` parameter, and that schema (validated). */
export function parsePgSpec(spec: string): { url: string; schema?: string; where: string } {
  let parsed: URL
  try {
    parsed = new URL(spec)
  } catch {
    throw new FriendError('indexDatabase is not a valid postgres:// URL')
  }
  const schema = parsed.searchParams.get('schema') ?? undefined
  parsed.searchParams.delete('schema')
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new FriendError(`indexDatabase: schema "${schema}" must be lower-case letters, digits and _`)
  // Named in messages without the password.
  const where = `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`
  return { url: parsed.toString(), schema, where }
}

export class PgIndexStore implements IndexStore, IndexReader {
  readonly #pool: Pool
  readonly #where: string
  readonly #options: PgStoreOptions
  readonly #now: () => number

  private constructor(pool: Pool, where: string, options: PgStoreOptions) {
    this.#pool = pool
    this.#where = where
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  static async open(spec: string, options: PgStoreOptions = {}): Promise<PgIndexStore> {
    const pg = await loadDriver()
    const { url, schema, where } = parsePgSpec(spec)
    const pool = new pg.Pool({ connectionString: url, max: 4, options: schema ? `-c search_path=${schema}` : undefined })
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => {})
    try {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
        if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
        await migrate(client, where)
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    } catch (err) {
      await pool.end().catch(() => {})
      throw pgError(err, where)
    }
    return new PgIndexStore(pool, where, options)
  }

  async #query<R extends PgTypes.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await retried(() => this.#pool.query<R>(sql, params))).rows
    } catch (err) {
      throw pgError(err, this.#where)
    }
  }

  async storedAmong(infoHashes: string[]): Promise<Set<string>> {
    const wanted = infoHashes.filter((h) => HEX_INFO_HASH.test(h))
    if (wanted.length === 0) return new Set()
    const rows = await this.#query<{ h: string }>("SELECT encode(info_hash, 'hex') AS h FROM torrents WHERE info_hash = ANY($1::bytea[])", [wanted.map(bytes)])
    return new Set(rows.map((r) => r.h))
  }

  async claim(infoHashes: string[], worker: string): Promise<string[]> {
    const wanted = [...new Set(infoHashes)].filter((h) => HEX_INFO_HASH.test(h) && !this.#options.blocklist?.blocksHash(h)).map(bytes).sort(byHash)
    if (wanted.length === 0) return []
    // Every hash not stored gets a claim row (unclaimed) once, whoever asks first...
    await this.#query(
      `INSERT INTO claims (info_hash) SELECT h FROM unnest($1::bytea[]) AS h
       WHERE NOT EXISTS (SELECT 1 FROM torrents t WHERE t.info_hash = h) ORDER BY h ON CONFLICT (info_hash) DO NOTHING`,
      [wanted],
    )
    // ...then each worker takes the rows nobody holds (or whose holder has gone quiet), skipping rows
    // another worker is taking right now. A row locked and updated meanwhile is re-checked by PostgreSQL.
    const rows = await this.#query<{ h: string }>(
      `UPDATE claims c SET worker = $2, claimed_at = now()
       FROM (SELECT info_hash FROM claims
             WHERE info_hash = ANY($1::bytea[])
               AND (worker IS NULL OR worker = $2 OR claimed_at < now() - $3 * interval '1 millisecond')
               AND NOT EXISTS (SELECT 1 FROM torrents t WHERE t.info_hash = claims.info_hash)
             FOR UPDATE SKIP LOCKED) picked
       WHERE c.info_hash = picked.info_hash
       RETURNING encode(c.info_hash, 'hex') AS h`,
      [wanted, worker, this.#options.claimLifetimeMs ?? 600_000],
    )
    return rows.map((r) => r.h)
  }

  async release(infoHash: string, worker: string): Promise<void> {
    if (!HEX_INFO_HASH.test(infoHash)) return
    await this.#query('UPDATE claims SET worker = NULL, claimed_at = NULL WHERE info_hash = $1 AND worker = $2', [bytes(infoHash), worker])
  }

  async insert(torrents: IndexedTorrent[]): Promise<void> {
    for (const t of torrents) if (!HEX_INFO_HASH.test(t.infoHash)) throw new FriendError(`index: "${t.infoHash}" is not a 40-character lower-case hex info hash`)
    const allowed = torrents.filter((t) => !this.#options.blocklist?.blocks(t))
    // A hash already stored costs one read and no write (no tuple, no sequence number).
    const stored = await this.storedAmong(allowed.map((t) => t.infoHash))
    const fresh = new Map<string, IndexedTorrent>()
    for (const t of allowed) if (!stored.has(t.infoHash) && !fresh.has(t.infoHash)) fresh.set(t.infoHash, t)
    const batch = [...fresh.values()].sort((a, b) => (a.infoHash < b.infoHash ? -1 : a.infoHash > b.infoHash ? 1 : 0))
    const claimed = torrents.map((t) => t.infoHash).filter((h) => HEX_INFO_HASH.test(h)).sort()
    if (batch.length === 0) {
      if (claimed.length > 0) await this.#query('DELETE FROM claims WHERE info_hash = ANY($1::bytea[])', [claimed.map(bytes)])
      return
    }
    const now = this.#now()
    const keep = this.#options.keepInfoDicts !== false
    const columns: InsertColumns = {
      hash: batch.map((t) => bytes(t.infoHash)),
      name: batch.map((t) => pgText(t.name)),
      size: batch.map((t) => t.sizeBytes),
      pieceLength: batch.map((t) => t.pieceLength),
      pieceCount: batch.map((t) => t.pieceCount),
      fileCount: batch.map((t) => t.files.length),
      comment: batch.map((t) => (t.comment === undefined ? null : pgText(t.comment))),
      createdAt: batch.map((t) => t.createdAt ?? null),
      collectedAt: batch.map((t) => t.collectedAt),
      category: batch.map((t) => classify(t.files) as string),
      infoDict: batch.map((t) => (keep ? compressInfoDict(t.infoDict) : null)),
      nameWords: batch.map((t) => searchText(t.name)),
      pathWords: batch.map((t) => pathWords(t.files)),
    }
    try {
      await retried(() => this.#insertBatch(columns, fresh, claimed, now))
    } catch (err) {
      throw pgError(err, this.#where)
    }
  }

  /** One transaction: the new torrents, their files, their claims gone. */
  async #insertBatch(columns: InsertColumns, fresh: Map<string, IndexedTorrent>, claimed: string[], now: number): Promise<void> {
    let client: PoolClient | undefined
    try {
      client = await this.#pool.connect()
      await client.query('BEGIN')
      const inserted = await client.query<{ id: string; h: string }>(
        `INSERT INTO torrents (info_hash, name, size_bytes, piece_length, piece_count, file_count, comment, created_at, collected_at, first_seen, last_seen, category, info_dict, search)
         SELECT h, n, s, pl, pc, fc, cm, ca, co, $14, $14, cat, d, setweight(to_tsvector('simple', nw), 'A') || setweight(to_tsvector('simple', pw), 'B')
         FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bytea[], $12::text[], $13::text[])
           AS u (h, n, s, pl, pc, fc, cm, ca, co, cat, d, nw, pw)
         ON CONFLICT (info_hash) DO NOTHING
         RETURNING id, encode(info_hash, 'hex') AS h`,
        [columns.hash, columns.name, columns.size, columns.pieceLength, columns.pieceCount, columns.fileCount, columns.comment, columns.createdAt, columns.collectedAt, columns.category, columns.infoDict, columns.nameWords, columns.pathWords, now],
      )
      const files = { id: [] as string[], idx: [] as number[], path: [] as string[], size: [] as number[] }
      for (const row of inserted.rows) {
        fresh.get(row.h)!.files.forEach((f, i) => {
          files.id.push(row.id)
          files.idx.push(i)
          files.path.push(pgText(f.path))
          files.size.push(f.sizeBytes)
        })
      }
      if (files.id.length > 0) {
        await client.query('INSERT INTO files (torrent_id, idx, path, size_bytes) SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bigint[])', [files.id, files.idx, files.path, files.size])
      }
      await client.query('DELETE FROM claims WHERE info_hash = ANY($1::bytea[])', [claimed.map(bytes)])
      await client.query('COMMIT')
    } catch (err) {
      await client?.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client?.release()
    }
  }

  async seen(infoHashes: string[]): Promise<void> {
    const hashes = infoHashes.filter((h) => HEX_INFO_HASH.test(h))
    if (hashes.length === 0) return
    const now = this.#now()
    await this.#query('UPDATE torrents SET last_seen = $1 WHERE info_hash = ANY($2::bytea[]) AND last_seen < $1', [now, hashes.map(bytes)])
  }

  async sizeBytes(): Promise<number> {
    const [row] = await this.#query<{ n: string }>("SELECT pg_total_relation_size('torrents') + pg_total_relation_size('files') + pg_total_relation_size('claims') AS n")
    return Number(row.n)
  }

  async search(query: SearchQuery): Promise<SearchResult[]> {
    const words = queryWords(query.text)
    if (words.length === 0) return []
    const limit = Math.max(1, Math.min(MAX_SEARCH_LIMIT, Math.floor(query.limit)))
    const tsquery = words.map((w, i) => `'${w}'${query.prefix && i === words.length - 1 ? ':*' : ''}`).join(' & ')
    const params: unknown[] = [tsquery, limit]
    let filters = ''
    if (query.category) filters += ` AND category = $${params.push(query.category)}`
    if (query.minSizeBytes) filters += ` AND size_bytes >= $${params.push(query.minSizeBytes)}`
    const rows = await this.#query<PgRow>(
      `SELECT encode(info_hash, 'hex') AS "infoHash", name, size_bytes AS "sizeBytes", file_count AS "fileCount", category,
              first_seen AS "firstSeen", last_seen AS "lastSeen", seeders, leechers
       FROM (SELECT * FROM torrents, to_tsquery('simple', $1) AS q WHERE search @@ q${filters} ORDER BY id DESC LIMIT ${RANK_WINDOW}) w
       ORDER BY ts_rank(search, q) DESC, id DESC LIMIT $2`,
      params,
    )
    return rows.map((r) => ({
      infoHash: r.infoHash,
      name: r.name,
      sizeBytes: Number(r.sizeBytes),
      fileCount: r.fileCount,
      category: r.category,
      discoveredAt: isoTime(Number(r.firstSeen)),
      lastSeenAt: isoTime(Number(r.lastSeen)),
      seeders: r.seeders,
      leechers: r.leechers,
      magnet: magnetOf(r.infoHash, r.name),
    }))
  }

  async infoDict(infoHash: string): Promise<Buffer | undefined> {
    if (!HEX_INFO_HASH.test(infoHash)) return undefined
    const [row] = await this.#query<{ d: Buffer | null }>('SELECT info_dict AS d FROM torrents WHERE info_hash = $1', [bytes(infoHash)])
    return row?.d ? decompressInfoDict(row.d) : undefined
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {})
  }
}

interface PgRow {
  infoHash: string
  name: string
  sizeBytes: string
  fileCount: number
  category: Category
  firstSeen: string
  lastSeen: string
  seeders: number | null
  leechers: number | null
}

async function migrate(client: PoolClient, where: string): Promise<void> {
  await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)')
  const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version')
  const version = rows[0].v ?? 0
  if (version > MIGRATIONS.length) throw new FriendError(`index database at ${where} has schema version ${version}, newer than this friendtorrent knows (${MIGRATIONS.length}); upgrade friendtorrent`)
  for (let v = version; v < MIGRATIONS.length; v++) {
    await client.query(MIGRATIONS[v])
    await client.query('INSERT INTO schema_version (version) VALUES ($1)', [v + 1])
  }
}
