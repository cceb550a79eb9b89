// The torrent list: one row per torrent with a progress bar, the selected row
// highlighted, the columns that fit the width. Props only.
import { Box, Text } from 'ink'
import type { TorrentSummary } from '../session/session.ts'
import { fit, fitColumns, progressBar } from './model.ts'
import type { SortKey } from './model.ts'

export const STATE_COLOR: Record<string, string> = {
  downloading: 'cyan',
  seeding: 'green',
  checking: 'yellow',
  'fetching metadata': 'yellow',
  queued: 'gray',
  paused: 'gray',
  error: 'red',
}

export interface TorrentListProps {
  torrents: TorrentSummary[]
  selected: number
  width: number
  height: number
  sort: SortKey
  descending: boolean
}

export function TorrentList({ torrents, selected, width, height, sort, descending }: TorrentListProps) {
  const { columns, nameWidth } = fitColumns(width)
  const rows = Math.max(1, height - 1)
  // Keep the selection in sight: scroll by whole pages around it.
  const first = Math.max(0, Math.min(selected - Math.floor(rows / 2), torrents.length - rows))
  const shown = torrents.slice(first, first + rows)
  const header = columns
    .map((c) => {
      const mark = c.key === sort ? (descending ? '▼' : '▲') : ''
      const w = c.key === 'name' ? nameWidth : c.width
      return fit(c.title + mark, w, c.key === 'name' || c.key === 'state' || c.key === 'progress' ? 'left' : 'right')
    })
    .join(' ')
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>{fit(header, width)}</Text>
      {torrents.length === 0 && <Text dimColor>{fit('  nothing here: press a to add a torrent or magnet link, ? for help', width)}</Text>}
      {shown.map((t, i) => {
        const isSelected = first + i === selected
        return (
          <Text key={t.infoHash} inverse={isSelected} wrap="truncate">
            {columns.map((c, ci) => {
              const sep = ci === 0 ? '' : ' '
              if (c.key === 'name') return sep + fit(c.cell(t), nameWidth)
              if (c.key === 'progress') {
                const bar = progressBar(t.progress, c.width - 7)
                return (
                  <Text key={c.key}>
                    {sep}
                    <Text color={t.progress >= 1 ? 'green' : 'cyan'}>{bar}</Text>
                    {fit(c.cell(t), 7, 'right')}
                  </Text>
                )
              }
              if (c.key === 'state')
                return (
                  <Text key={c.key} color={STATE_COLOR[t.state]}>
                    {sep + fit(c.cell(t), c.width)}
                  </Text>
                )
              return sep + fit(c.cell(t), c.width, 'right')
            })}
          </Text>
        )
      })}
    </Box>
  )
}
