// The library's banned addresses (B): one per line, the highlighted one
// lifted with x or Delete. Props only.
import { Box, Text } from 'ink'
import { fit, scrollFirst } from './model.ts'
import { usePalette } from './theme.ts'

export function BansView({ bans, row, width, height }: { bans: string[] | undefined; row: number; width: number; height: number }) {
  const palette = usePalette()
  const rows = Math.max(1, height - 2)
  const first = scrollFirst(row, bans?.length ?? 0, rows)
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>{fit(`Banned addresses${bans ? ` (${bans.length})` : ''}: never dialled, refused when they call, in every torrent`, width)}</Text>
      {bans === undefined && <Text dimColor>loading…</Text>}
      {bans?.length === 0 && <Text dimColor>{fit('none: b in a torrent\'s peers tab bans a peer\'s address', width)}</Text>}
      {bans?.slice(first, first + rows).map((b, i) => (
        <Text key={b} inverse={first + i === row} color={palette.bad} wrap="truncate">
          {fit(b, width)}
        </Text>
      ))}
      <Text dimColor>{fit('x / Delete unban · Esc back', width)}</Text>
    </Box>
  )
}
