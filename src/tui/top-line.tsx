// The dashboard's top line: the name, the list views with how many torrents
// each holds (the current one inverse) and the list's filter while one is set.
// Props only.
import { Text } from 'ink'
import { viewLabel } from './model.ts'
import type { View } from './model.ts'
import { usePalette } from './theme.ts'

export interface TopLineProps {
  counts: readonly (readonly [View, number])[]
  view: View
  filter: string
}

export function TopLine({ counts, view, filter }: TopLineProps) {
  const palette = usePalette()
  return (
    <Text wrap="truncate">
      <Text bold color={palette.accent}>
        friendtorrent
      </Text>
      {counts.map(([v, n]) => (
        <Text key={v} inverse={v === view}>
          {viewLabel(v, n)}
        </Text>
      ))}
      {filter ? <Text color={palette.busy}>{` /${filter}`}</Text> : ''}
    </Text>
  )
}
