// `friendtorrent search <words> [--limit N] [--category C] [--min-size S] [--json]`:
// ranked results from the index (`crawl` fills it). Names are shown safely
// (control characters replaced); `--json` prints the documented shape, the
// names as stored. The index is opened only here, when asked for.
import { FriendError } from '../core/types.ts'
import { CATEGORIES, isCategory } from '../index/classify.ts'
import { displaySafe, MAX_SEARCH_LIMIT, queryWords, type SearchResult } from '../index/search.ts'
import { formatBytes } from '../tui/format/format.ts'
import { parseCommandLine } from './command-line.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import { noIndexError, openConfiguredIndex } from './index-access.ts'
import type { CliIo } from './io.ts'

export const SEARCH_USAGE = `usage: friendtorrent search <words…> [--limit N] [--category C] [--min-size S] [--json]

  Searches the index (names and file paths; every word must match), best first.
  -n, --limit N        at most N results (default 20, at most ${MAX_SEARCH_LIMIT})
  -c, --category C     only ${CATEGORIES.join(', ')}
      --min-size S     only torrents of at least S bytes (suffixes K, M, G, T: 700M, 1.5G)
      --json           a JSON array of results (README: search --json)
  \`friendtorrent add <info hash>\` of a result starts at once from the stored info dict.`

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** "700M", "1.5G", "1000", "2 GiB" → bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text)
  if (!m) throw new FriendError(`--min-size must be a size like 700M or 1.5G, got "${text}"`)
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()])
}

export async function runSearch(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('search', {
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string', short: 'n' },
      category: { type: 'string', short: 'c' },
      'min-size': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    io.out(SEARCH_USAGE)
    return 0
  }
  const text = positionals.join(' ')
  if (queryWords(text).length === 0) throw new FriendError('search needs at least one word (letters or digits); see friendtorrent search --help')
  const limit = values.limit === undefined ? 20 : Number(values.limit)
  if (!/^\d+$/.test(values.limit ?? '20') || limit < 1 || limit > MAX_SEARCH_LIMIT) throw new FriendError(`--limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}, got "${values.limit}"`)
  const category = values.category?.toLowerCase()
  if (category !== undefined && !isCategory(category)) throw new FriendError(`--category must be one of ${CATEGORIES.join(', ')}, got "${values.category}"`)
  const minSizeBytes = values['min-size'] === undefined ? undefined : parseSize(values['min-size'])

  const config = await loadConfig(paths(io.env).configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const index = await openConfiguredIndex(config, stateDir)
  if (!index) throw noIndexError(stateDir)
  let results: SearchResult[]
  try {
    results = await index.search({ text, limit, category, minSizeBytes })
  } finally {
    await index.close()
  }
  if (values.json) {
    io.out(JSON.stringify(results, null, 2))
    return 0
  }
  if (results.length === 0) {
    io.out(`nothing found for "${displaySafe(text)}"`)
    return 0
  }
  for (const line of formatResults(results)) io.out(line)
  return 0
}

/** One line per result: info hash (what `add` takes), size, files, category, first seen, seeders, name. */
export function formatResults(results: readonly SearchResult[]): string[] {
  const rows = results.map((r) => [
    r.infoHash,
    formatBytes(r.sizeBytes),
    `${r.fileCount} file${r.fileCount === 1 ? '' : 's'}`,
    r.category,
    r.discoveredAt.slice(0, 10),
    r.seeders === null ? '-' : `${r.seeders} seeds`,
    displaySafe(r.name),
  ])
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
  const align = [false, true, true, false, false, true, false]
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : align[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  '),
  )
}
