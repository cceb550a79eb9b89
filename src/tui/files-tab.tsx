// The files tab: the torrent's files as a tree of folders (▸ folded, ▾ open)
// or as a flat list of paths, each row with its size, progress and priority
// (a folder's are those of everything below it; "mixed" when they differ).
// Draws the rows in sight from the page the session sent (file-page.ts); a
// row not in it yet shows as "…" until the next poll. Props only.
import { Box, Text } from 'ink'
import type { FilePage } from '../session/file-page.ts'
import { formatBytes, formatPercent } from './format/format.ts'
import { fit, progressBar, scrollFirst } from './model.ts'
import { usePalette } from './theme.ts'

export interface FilesTabProps {
  page: FilePage
  row: number
  width: number
  height: number
}

export function FilesTab({ page, row, width, height }: FilesTabProps) {
  const palette = usePalette()
  const fixed = 9 + 1 + 12 + 1 + 8
  const nameWidth = Math.max(8, width - fixed - 1)
  const rows = Math.max(1, height - 2)
  const first = scrollFirst(row, page.total, rows)
  const shown = Array.from({ length: Math.max(0, Math.min(rows, page.total - first)) }, (_, i) => first + i)
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit(page.flat ? 'File' : 'Name', nameWidth)} ${fit('Size', 9, 'right')} ${fit('Progress', 12)} Priority`, width)}</Text>
      {shown.map((at) => {
        const node = at >= page.from ? page.rows[at - page.from] : undefined
        if (!node) return <Text key={`…${at}`} dimColor inverse={at === row}>{fit('…', width)}</Text>
        const p = node.sizeBytes ? node.verifiedBytes / node.sizeBytes : 1
        const name = page.flat ? node.name : `${'  '.repeat(node.depth)}${node.folder ? (node.open ? '▾ ' : '▸ ') : '  '}${node.name}${node.folder ? '/' : ''}`
        const priorityColour = node.priority === 'high' ? palette.busy : node.priority === 'mixed' ? palette.accent : undefined
        return (
          <Text key={node.path} inverse={at === row} wrap="truncate" dimColor={node.priority === 'skip'} bold={node.folder}>
            {fit(name, nameWidth)} {fit(formatBytes(node.sizeBytes), 9, 'right')} <Text color={p >= 1 ? palette.ok : palette.down}>{progressBar(p, 5)}</Text>
            {fit(formatPercent(p), 7, 'right')} <Text color={priorityColour}>{fit(node.priority, 8)}</Text>
          </Text>
        )
      })}
      <Text dimColor>{fit(`space skip/unskip · + - priority${page.hasFolders ? ' · ← → Enter fold · t ' + (page.flat ? 'tree' : 'flat list') : ''} · Tab next tab`, width)}</Text>
    </Box>
  )
}
