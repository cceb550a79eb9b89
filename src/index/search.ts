// Searching the index: the query a person gives (words, category, minimum
// size, limit), the ranked result each store returns, and the pure helpers
// both stores share: splitting text into search words the same way for
// indexing and for querying, the FTS5 query string, the ranking of SQLite's
// candidates, the magnet link.
// Never touches a database: sqlite-store.ts and pg-store.ts run the queries.
import type { Category } from './classify.ts'

export interface SearchQuery {
  /** What the person typed; split into words, every word must match (name or a file path). */
  text: string
  limit: number
  category?: Category
  minSizeBytes?: number
  /** The last word matches as a prefix too (results as you type). */
  prefix?: boolean
}

export interface SearchResult {
  infoHash: string
  name: string
  sizeBytes: number
  fileCount: number
  category: Category
  /** ISO date when the index first stored it. */
  discoveredAt: string
  /** ISO date when a crawler last saw its hash. */
  lastSeenAt: string
  seeders: number | null
  leechers: number | null
  magnet: string
}

/** What `search` and `add` read from an index (both stores implement it beside IndexStore). */
export interface IndexReader {
  search(query: SearchQuery): Promise<SearchResult[]>
  /** The stored info dict of a hash, exactly as fetched (decompressed), or undefined when not stored. */
  infoDict(infoHash: string): Promise<Buffer | undefined>
}

export const MAX_SEARCH_LIMIT = 1000
/** Words past this many are ignored: a query is for finding, not for slowing the database down. */
const MAX_WORDS = 16
const MAX_WORD_CHARS = 64

/**
 * The words of a name or path as the index sees them: letters and digits of any
 * script, lower-cased; everything else separates (so `Big.Buck.Bunny-1080p.mkv`
 * is big, buck, bunny, 1080p, mkv). Used for indexing (PostgreSQL) and querying (both).
 */
export function searchWords(text: string): string[] {
  // Most names are ASCII: the same words without NFKC and Unicode classes, several times faster.
  const words = /^[\x00-\x7f]*$/.test(text) ? text.toLowerCase().split(/[^a-z0-9]+/) : text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u)
  return words.filter((w) => w.length > 0)
}

/** Words of file paths put in the full-text index per torrent (distinct words; the files table keeps every path). */
const MAX_PATH_WORDS = 2000

/** The distinct words of a torrent's file paths, for the full-text index. */
export function pathWords(files: readonly { path: string }[]): string {
  const words = new Set<string>()
  for (const f of files) {
    for (const w of searchWords(f.path)) {
      words.add(w)
      if (words.size >= MAX_PATH_WORDS) return [...words].join(' ')
    }
  }
  return [...words].join(' ')
}

/** The text stored for full-text search: the words joined by spaces. */
export function searchText(text: string): string {
  return searchWords(text).join(' ')
}

/** The words of a query, bounded in number and length; empty when nothing searchable was typed. */
export function queryWords(text: string): string[] {
  return searchWords(text)
    .slice(0, MAX_WORDS)
    .map((w) => w.slice(0, MAX_WORD_CHARS))
}

/** A candidate for ranking: its row id (newer is larger) and its name. */
export type RankCandidate = [id: number, name: string]

const DIACRITICS = /\p{M}+/gu

function plainWords(name: string): string[] {
  const words = searchWords(name)
  return /^[\x00-\x7f]*$/.test(name) ? words : words.map((w) => w.normalize('NFD').replace(DIACRITICS, ''))
}

/**
 * Candidates (every one matches all the words in its name or a file path) best
 * first: more query words in the name, then a shorter name (fewer other words),
 * then newer. Needs nothing but the names, so no full scan of a common word's
 * matches (as bm25's word weights do) is ever paid.
 */
export function rankByName(candidates: RankCandidate[], words: string[], prefix = false): RankCandidate[] {
  const wanted = words.map((w) => w.normalize('NFD').replace(DIACRITICS, ''))
  const last = wanted.length - 1
  const scored = candidates.map((c) => {
    const nameWords = plainWords(c[1])
    let hits = 0
    wanted.forEach((w, i) => {
      if (nameWords.some((n) => n === w || (prefix && i === last && n.startsWith(w)))) hits++
    })
    return { c, hits, length: nameWords.length }
  })
  scored.sort((a, b) => b.hits - a.hits || a.length - b.length || b.c[0] - a.c[0])
  return scored.map((s) => s.c)
}

/** An FTS5 MATCH expression: every word quoted (so no word is read as an operator), all required. */
export function ftsQuery(words: string[], prefix = false): string {
  return words.map((w, i) => `"${w.replaceAll('"', '""')}"${prefix && i === words.length - 1 ? '*' : ''}`).join(' ')
}

export function magnetOf(infoHash: string, name: string): string {
  return `magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(name)}`
}

/**
 * A name as a terminal may show it: control characters (C0, DEL, C1), which
 * could move the cursor or change colours, and bidi overrides, which could make
 * text read backwards, become U+FFFD. The stored name keeps them.
 */
export function displaySafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd')
}
