// The debug log pane (--debug): a rule, then the session's latest log lines,
// one a row with its time, errors and warnings in the palette's bad colour and
// the rest dimmed; every line cut to the width. Props only.
import { Box, Text } from 'ink'
import type { LogLine } from '../session/event-log.ts'
import { fit } from './model.ts'
import { usePalette } from './theme.ts'

export function LogPane({ log, width, rows }: { log: LogLine[]; width: number; rows: number }) {
  const palette = usePalette()
  return (
    <Box flexDirection="column" height={rows}>
      <Text dimColor>{fit('── log ' + '─'.repeat(width), width)}</Text>
      {log.slice(-(rows - 1)).map((l) => (
        <Text key={`${l.seq}-${l.atMs}`} wrap="truncate" dimColor={!/^(error|warning)/.test(l.text)} color={/^(error|warning)/.test(l.text) ? palette.bad : undefined}>
          {fit(`${new Date(l.atMs).toTimeString().slice(0, 8)} ${l.text}`, width)}
        </Text>
      ))}
    </Box>
  )
}
