// The dashboard's bottom line and what shows above it: the prompt being typed
// (add, filter, command, limits), the remove and delete questions, the last
// message, and Tab completions in columns. Components take props only.
import { Box, Text } from 'ink'
import type { TorrentSummary } from '../session/session.ts'
import { formatBytes } from './format/format.ts'
import { fit } from './model.ts'
import { usePalette } from './theme.ts'

/** What the dashboard is doing: which view, or which prompt or question is open. */
export type Mode =
  | { kind: 'list' }
  | { kind: 'detail' }
  | { kind: 'help'; back: 'list' | 'detail'; first?: number }
  | { kind: 'input'; prompt: 'add' | 'filter' | 'command' | 'limit' | 'peer'; value: string; back: 'list' | 'detail' }
  | { kind: 'bans'; back: 'list' | 'detail'; row: number }
  | { kind: 'remove'; torrent: TorrentSummary; back: 'list' | 'detail' }
  | { kind: 'delete'; torrent: TorrentSummary; back: 'list' | 'detail' }

/** The message line; `candidates` are Tab completions shown above it. */
export type Message = { text: string; error?: boolean; candidates?: string[] }

const PROMPTS = { add: 'add (path or magnet, Tab completes): ', filter: 'filter: ', command: ':', limit: 'limits KiB/s "down up" (0 = none): ', peer: 'add a peer HOST:PORT: ' }

/** The line under the views: an open prompt, a question (remove, delete), or the last message. */
export function BottomLine({ mode, message, width }: { mode: Mode; message: Message | undefined; width: number }) {
  const palette = usePalette()
  if (mode.kind === 'input') {
    const prompt = mode.prompt === 'limit' && mode.back === 'detail' ? 'this torrent\'s limits KiB/s "down up": ' : PROMPTS[mode.prompt]
    const room = Math.max(1, width - prompt.length - 1)
    const shown = [...mode.value].slice(-room).join('')
    return (
      <Text wrap="truncate">
        <Text color={palette.accent}>{prompt}</Text>
        {shown}
        <Text inverse> </Text>
      </Text>
    )
  }
  if (mode.kind === 'remove')
    return (
      <Text color={palette.busy} wrap="truncate">
        {fit(`remove ${mode.torrent.name}?  r: remove, keep the data · D: delete the data too… · Esc: cancel`, width)}
      </Text>
    )
  if (mode.kind === 'delete')
    return (
      <Text color={palette.bad} bold wrap="truncate">
        {fit(`delete ${formatBytes(mode.torrent.sizeBytes)} of data in ${mode.torrent.savePath} for good? y: delete · other keys: keep`, width)}
      </Text>
    )
  return (
    <Text color={message?.error ? palette.bad : undefined} dimColor={!message?.error} wrap="truncate">
      {fit(message?.text ?? '', width)}
    </Text>
  )
}

/** Tab completions in columns, at most `rows` lines. */
export function Candidates({ names, width, rows }: { names: string[]; width: number; rows: number }) {
  const palette = usePalette()
  const colWidth = Math.max(10, Math.floor(width / 4))
  const perRow = Math.max(1, Math.floor(width / colWidth))
  const lines: string[] = []
  for (let i = 0; i < names.length && lines.length < rows; i += perRow) lines.push(names.slice(i, i + perRow).map((n) => fit(n, colWidth - 1)).join(' '))
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} color={palette.accent} wrap="truncate">
          {fit(l, width)}
        </Text>
      ))}
    </Box>
  )
}
