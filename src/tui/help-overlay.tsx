// The help overlay (`?`): every key the dashboard takes, from one table,
// scrolled with ↓/j when the terminal is too short for all of them.
import { Box, Text } from 'ink'
import { fit } from './model.ts'
import { usePalette } from './theme.ts'

export const KEYS: [keys: string, what: string][] = [
  ['↑ ↓  k j', 'move (PgUp/PgDn, g/G: page, top, bottom)'],
  ['← →  Tab', 'view: all, downloading, seeding, paused, error'],
  ['Enter  Esc', 'details of the selected torrent; back'],
  ['a', 'add a .torrent path (Tab completes) or a magnet link / info hash'],
  ['p', 'pause / resume'],
  ['s', 'start now, whatever the queue limits'],
  ['v', 'verify: hash every piece again'],
  ['u  K / J', 'move up / down the queue'],
  ['d', 'remove: asks whether to keep or delete the data'],
  ['l', "rate limits in KiB/s, 0 = none (the session's; in details, the torrent's)"],
  ['/', 'filter by name (Esc clears)'],
  ['f', 'find in the index (crawled torrents): results as you type, Enter adds one'],
  ['o  O', 'sort by the next column; reverse the order'],
  ['r', "the session's rate graph, shown or hidden"],
  ['B', 'banned addresses (x / Delete unbans)'],
  [':', 'command line: the CLI verbs (pause <t>, limit --down 500, ban <ip>, …)'],
  ['Tab  1-5', 'details: next tab, or a tab by number (← → too, outside a file tree)'],
  ['← → Enter', 'files: fold / unfold a folder (← to its parent)'],
  ['space + -', 'files: skip/unskip, raise/lower priority (a folder: all in it)'],
  ['t', 'files: the tree or the flat list'],
  ['x  b', 'peers: disconnect the peer; ban its address in every torrent'],
  ['n', 'peers: add a peer by HOST:PORT'],
  ['A', 'pieces: how many peers have each piece, or the piece states'],
  ['mouse', 'click: select (twice: open), view, sort column, tab; wheel: move'],
  ['Ctrl-Z', 'suspend (fg resumes)'],
  ['q  Ctrl-C', 'quit (an owned session saves its state and stops)'],
]

export const FLAGS_LEGEND = 'Flags: D downloading · d wants, choked · K unchoked, not wanted · U uploading · u they want, we choke · S snubbed · I incoming · P µTP'

/** Rows of keys that fit a help overlay of `height`. */
export function helpRows(height: number): number {
  return Math.max(1, height - 5)
}

export function HelpOverlay({ width, height, first = 0 }: { width: number; height: number; first?: number }) {
  const palette = usePalette()
  const keyWidth = 16
  const rows = helpRows(height)
  const start = Math.max(0, Math.min(first, KEYS.length - rows))
  const more = start + rows < KEYS.length
  return (
    <Box flexDirection="column" height={height} borderStyle="round" paddingX={1} width={width}>
      <Text bold>{fit(`friendtorrent keys${more || start > 0 ? ` (${start + 1}-${Math.min(KEYS.length, start + rows)} of ${KEYS.length}: ↓ j more, any other key closes)` : ''}`, Math.max(0, width - 4))}</Text>
      {KEYS.slice(start, start + rows).map(([k, what]) => (
        <Text key={k} wrap="truncate">
          <Text color={palette.accent}>{fit(k, keyWidth)}</Text>
          {fit(what, Math.max(0, width - keyWidth - 4))}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {FLAGS_LEGEND}
      </Text>
    </Box>
  )
}
