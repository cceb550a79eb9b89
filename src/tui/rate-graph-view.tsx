// Download and upload rates over the last minutes as two braille graphs, each
// under a label with the rate now, the scale (a full column) and the time
// the graph spans (its width, at one sample per poll). Props only; the lines come from rate-graph.ts.
import { Box, Text } from 'ink'
import { memo } from 'react'
import { formatEta, formatRate } from './format/format.ts'
import { fit } from './model.ts'
import { brailleGraph, niceTop } from './rate-graph.ts'
import type { RateHistory } from './rate-graph.ts'
import { usePalette } from './theme.ts'

export interface RateGraphProps {
  history: RateHistory
  width: number
  /** Rows in all: a label and graph rows for each direction. */
  height: number
  /** Time between samples. */
  sampleMs: number
}

export const RateGraph = memo(function RateGraph({ history, width, height, sampleMs }: RateGraphProps) {
  const palette = usePalette()
  const graphRows = Math.max(1, Math.floor((height - 2) / 2))
  const span = Math.min(Math.max(history.down.length, history.up.length), width * 2)
  const spanText = formatEta((span * sampleMs) / 1000)
  const part = (label: string, series: readonly number[], colour: string | undefined) => {
    const visible = series.slice(-width * 2)
    const top = niceTop(Math.max(0, ...visible))
    const now = series.length ? series[series.length - 1] : 0
    const head = `${label} ${formatRate(now)}`
    const scale = ` scale ${formatRate(top)} · ${spanText}`
    return (
      <Box flexDirection="column">
        <Text wrap="truncate">
          <Text color={colour} bold>
            {head}
          </Text>
          <Text dimColor>{fit(scale, Math.max(0, width - [...head].length), 'right')}</Text>
        </Text>
        {brailleGraph(series, width, graphRows, top).map((line, i) => (
          <Text key={i} color={colour}>
            {line}
          </Text>
        ))}
      </Box>
    )
  }
  return (
    <Box flexDirection="column" height={height}>
      {part('↓ down', history.down, palette.down)}
      {part('↑ up', history.up, palette.up)}
    </Box>
  )
})
