// The files tab: the torrent's files as a tree of folders (▸ folded, ▾ open)
// or as a flat list of paths, each row with its size, progress and priority
// (a folder's are those of everything below it; "mixed" when they differ).
// Only the rows in sight are drawn. Props only.
import { Box, Text } from 'ink'
import { useMemo } from 'react'
import type { TorrentDetails } from '../session/session.ts'
import { formatBytes, formatPercent } from './format/format.ts'
import { nodeTotals, treeTotals } from './file-tree.ts'
import type { FileTree } from './file-tree.ts'
import { fit, progressBar, scrollFirst } from './model.ts'
import { usePalette } from './theme.ts'

export interface FilesTabProps {
  details: TorrentDetails
  tree: FileTree
  /** Node ids shown, in order (see visibleNodes). */
  visible: number[]
  expanded: ReadonlySet<number>
  flat: boolean
  row: number
  width: number
  height: number
}

export function FilesTab({ details, tree, visible, expanded, flat, row, width, height }: FilesTabProps) {
  const palette = usePalette()
  // One pass over the files per poll: every folder's totals are then O(1).
  const totals = useMemo(() => treeTotals(tree, details.files), [tree, details.files])
  const fixed = 9 + 1 + 12 + 1 + 8
  const nameWidth = Math.max(8, width - fixed - 1)
  const rows = Math.max(1, height - 2)
  const first = scrollFirst(row, visible.length, rows)
  const shown = visible.slice(first, first + rows)
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit(flat ? 'File' : 'Name', nameWidth)} ${fit('Size', 9, 'right')} ${fit('Progress', 12)} Priority`, width)}</Text>
      {shown.map((id, i) => {
        const node = tree.nodes[id]
        const t = nodeTotals(node, totals)
        const p = t.sizeBytes ? t.verifiedBytes / t.sizeBytes : 1
        const folder = node.file < 0
        const name = flat ? details.files[node.file].path : `${'  '.repeat(node.depth)}${folder ? (expanded.has(id) ? '▾ ' : '▸ ') : '  '}${node.name}${folder ? '/' : ''}`
        const priorityColour = t.priority === 'high' ? palette.busy : t.priority === 'mixed' ? palette.accent : undefined
        return (
          <Text key={id} inverse={first + i === row} wrap="truncate" dimColor={t.priority === 'skip'} bold={folder}>
            {fit(name, nameWidth)} {fit(formatBytes(t.sizeBytes), 9, 'right')} <Text color={p >= 1 ? palette.ok : palette.down}>{progressBar(p, 5)}</Text>
            {fit(formatPercent(p), 7, 'right')} <Text color={priorityColour}>{fit(t.priority, 8)}</Text>
          </Text>
        )
      })}
      <Text dimColor>{fit(`space skip/unskip · + - priority${tree.hasFolders ? ' · ← → Enter fold · t ' + (flat ? 'tree' : 'flat list') : ''} · Tab next tab`, width)}</Text>
    </Box>
  )
}
