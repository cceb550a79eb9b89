// The session's background crawl (config `indexWhileRunning`), drawn: its
// counters and rates on one line, its queues, nodes and database size on the
// next, from the `crawl` of the session's `status`. Props only.
import { Box, Text } from 'ink'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import { crawlText } from './format/crawl-text.ts'
import { fit } from './model.ts'
import { usePalette } from './theme.ts'

/** Lines CrawlCounters takes. */
export const CRAWL_COUNTER_ROWS = 2

export function CrawlCounters({ crawl, width }: { crawl: CrawlStatus; width: number }) {
  const palette = usePalette()
  const { counters, queues } = crawlText(crawl)
  return (
    <Box flexDirection="column" height={CRAWL_COUNTER_ROWS}>
      <Text wrap="truncate" color={crawl.stopped ? palette.bad : undefined}>
        {fit(`index crawl${crawl.stopped ? ' (stopped, see the log)' : ''}: ${counters}`, width)}
      </Text>
      <Text wrap="truncate" dimColor>
        {fit(`  ${queues}`, width)}
      </Text>
    </Box>
  )
}
