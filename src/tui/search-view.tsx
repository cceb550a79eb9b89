// The dashboard's index search, drawn: the words typed, then one row per
// result (name shown safely, size, files, category, first seen, seeders), the
// selected one highlighted, the session's background crawl counters when one
// runs, and a line of keys. Props only.
import { Box, Text } from 'ink'
import { displaySafe, type SearchResult } from '../index/search.ts'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import { CrawlCounters, CRAWL_COUNTER_ROWS } from './crawl-counters.tsx'
import { formatBytes } from './format/format.ts'
import { fit } from './model.ts'

export interface SearchViewProps {
  text: string
  results: SearchResult[]
  selected: number
  /** "searching…", an error, or undefined. */
  note?: { text: string; error?: boolean }
  /** The session's background crawl, when it runs one. */
  crawl?: CrawlStatus
  width: number
  height: number
}

const SIZE_W = 10
const FILES_W = 6
const CAT_W = 8
const SEEN_W = 10
const SEEDS_W = 5

export function SearchView({ text, results, selected, note, crawl, width, height }: SearchViewProps) {
  const nameWidth = Math.max(8, width - SIZE_W - FILES_W - CAT_W - SEEN_W - SEEDS_W - 5)
  const rows = Math.max(1, height - 3 - (crawl ? CRAWL_COUNTER_ROWS : 0))
  const first = Math.max(0, Math.min(selected - Math.floor(rows / 2), results.length - rows))
  const shown = results.slice(first, first + rows)
  const header = [fit('name', nameWidth), fit('size', SIZE_W, 'right'), fit('files', FILES_W, 'right'), fit('kind', CAT_W), fit('seen', SEEN_W), fit('seeds', SEEDS_W, 'right')].join(' ')
  const empty = text.trim() === '' ? 'type words of a name or file; results come as you type' : note ? '' : `nothing in the index matches "${displaySafe(text)}"`
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          search the index:{' '}
        </Text>
        {displaySafe(text)}
        <Text inverse> </Text>
        {note ? <Text color={note.error ? 'red' : 'gray'}>{`  ${displaySafe(note.text)}`}</Text> : ''}
      </Text>
      <Text bold>{fit(header, width)}</Text>
      {results.length === 0 && <Text dimColor>{fit(`  ${empty}`, width)}</Text>}
      {shown.map((r, i) => (
        <Text key={r.infoHash} inverse={first + i === selected} wrap="truncate">
          {[
            fit(displaySafe(r.name), nameWidth),
            fit(formatBytes(r.sizeBytes), SIZE_W, 'right'),
            fit(String(r.fileCount), FILES_W, 'right'),
            fit(r.category, CAT_W),
            fit(r.discoveredAt.slice(0, 10), SEEN_W),
            fit(r.seeders === null ? '-' : String(r.seeders), SEEDS_W, 'right'),
          ].join(' ')}
        </Text>
      ))}
      <Box flexGrow={1} />
      {crawl && <CrawlCounters crawl={crawl} width={width} />}
      <Text dimColor wrap="truncate">
        {fit('Enter add the selected one (from the stored info dict, no metadata fetch) · ↑ ↓ choose · Esc back', width)}
      </Text>
    </Box>
  )
}
