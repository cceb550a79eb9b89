// The torrent list: one row per torrent with a progress bar, the selected row
// highlighted, the columns that fit the width. Props only. Rows are memoised:
// the container keeps an unchanged torrent's summary object from one poll to
// the next, so only rows whose torrent changed render again.
import { Box, Text } from 'ink'
import { memo, useMemo } from 'react'
import type { TorrentSummary } from '../session/session.ts'
import { fit, fitColumns, progressBar, scrollFirst } from './model.ts'
import type { Column, SortKey } from './model.ts'
import { stateColour, usePalette } from './theme.ts'

export interface TorrentListProps {
  torrents: TorrentSummary[]
  selected: number
  width: number
  height: number
  sort: SortKey
  descending: boolean
}

export function TorrentList({ torrents, selected, width, height, sort, descending }: TorrentListProps) {
  const maxQueue = useMemo(() => torrents.reduce((m, t) => Math.max(m, t.queuePosition + 1), 0), [torrents])
  const { columns, nameWidth } = useMemo(() => fitColumns(width, maxQueue), [width, maxQueue])
  const rows = Math.max(1, height - 1)
  // Keep the selection in sight: scroll by whole pages around it.
  const first = scrollFirst(selected, torrents.length, rows)
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
      {shown.map((t, i) => (
        <TorrentRow key={t.infoHash} torrent={t} selected={first + i === selected} columns={columns} nameWidth={nameWidth} />
      ))}
    </Box>
  )
}

const TorrentRow = memo(function TorrentRow({ torrent: t, selected, columns, nameWidth }: { torrent: TorrentSummary; selected: boolean; columns: Column[]; nameWidth: number }) {
  const palette = usePalette()
  return (
    <Text inverse={selected} wrap="truncate">
      {columns.map((c, ci) => {
        const sep = ci === 0 ? '' : ' '
        if (c.key === 'name') return sep + fit(c.cell(t), nameWidth)
        if (c.key === 'progress') {
          const bar = progressBar(t.progress, c.width - 7)
          return (
            <Text key={c.key}>
              {sep}
              <Text color={t.progress >= 1 ? palette.ok : palette.down}>{bar}</Text>
              {fit(c.cell(t), 7, 'right')}
            </Text>
          )
        }
        if (c.key === 'state')
          return (
            <Text key={c.key} color={stateColour(palette, t.state)}>
              {sep + fit(c.cell(t), c.width)}
            </Text>
          )
        if (c.key === 'down' && t.downloadRateBytesPerSec > 0)
          return (
            <Text key={c.key} color={palette.down}>
              {sep + fit(c.cell(t), c.width, 'right')}
            </Text>
          )
        if (c.key === 'up' && t.uploadRateBytesPerSec > 0)
          return (
            <Text key={c.key} color={palette.up}>
              {sep + fit(c.cell(t), c.width, 'right')}
            </Text>
          )
        return sep + fit(c.cell(t), c.width, 'right')
      })}
    </Text>
  )
})
