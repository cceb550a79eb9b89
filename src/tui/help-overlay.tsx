// The help overlay (`?`): every key the dashboard takes, from one table.
import { Box, Text } from 'ink'
import { fit } from './model.ts'

export const KEYS: [keys: string, what: string][] = [
  ['↑ ↓  k j', 'move (PgUp/PgDn, g/G: page, top, bottom)'],
  ['← →  Tab', 'view: all, downloading, seeding, paused, error (tabs in details)'],
  ['Enter  Esc', 'details of the selected torrent; back'],
  ['a', 'add a .torrent path (Tab completes) or a magnet link / info hash'],
  ['p', 'pause / resume'],
  ['s', 'start now, whatever the queue limits'],
  ['v', 'verify: hash every piece again'],
  ['u  K / J', 'move up / down the queue'],
  ['d', 'remove: asks whether to keep or delete the data'],
  ['l', 'rate limits in KiB/s, 0 = none (the session\'s; in details, the torrent\'s)'],
  ['/', 'filter by name (Esc clears)'],
  ['f', 'find in the index (crawled torrents): results as you type, Enter adds one'],
  ['o  O', 'sort by the next column; reverse the order'],
  [':', 'command line: the CLI verbs (pause <t>, limit --down 500, …)'],
  ['space + -', 'files tab: skip/unskip, raise/lower priority'],
  ['q  Ctrl-C', 'quit (an owned session saves its state and stops)'],
]

export const FLAGS_LEGEND = 'Flags: D downloading · d wants, choked · K unchoked, not wanted · U uploading · u they want, we choke · S snubbed · I incoming'

export function HelpOverlay({ width, height }: { width: number; height: number }) {
  const keyWidth = 16
  return (
    <Box flexDirection="column" height={height} borderStyle="round" paddingX={1} width={width}>
      <Text bold>friendtorrent keys</Text>
      {KEYS.slice(0, Math.max(0, height - 5)).map(([k, what]) => (
        <Text key={k} wrap="truncate">
          <Text color="cyan">{fit(k, keyWidth)}</Text>
          {fit(what, Math.max(0, width - keyWidth - 4))}
        </Text>
      ))}
      <Text dimColor wrap="truncate">
        {FLAGS_LEGEND}
      </Text>
    </Box>
  )
}
