// The bottom line: total rates and limits, peers, DHT nodes, listen port (and
// the router's external address and port once port forwarding maps it), free
// space where new torrents are saved and, while the session crawls the DHT,
// what its crawl fetched (the search view, f, has all its counters). Props only.
import { Text } from 'ink'
import type { SessionStatus } from '../session/session.ts'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import { crawlBrief } from './format/crawl-text.ts'
import { formatBytesShort } from './format/format.ts'
import { fit } from './model.ts'

/** What `status` answers (with `portForwarding` from a session that maps its port through UPnP or NAT-PMP). */
export type DashboardStatus = SessionStatus & {
  saveDir: string
  freeBytes: number | null
  /** The background crawl's figures (config `indexWhileRunning`), when it runs. */
  crawl?: CrawlStatus
}

export function statusLine(s: DashboardStatus | undefined, attachedTo: string | undefined): string {
  if (!s) return 'connecting to the session…'
  const rate = (n: number) => `${formatBytesShort(n)}/s`
  const limit = (n: number) => (n > 0 ? ` [≤${formatBytesShort(n)}]` : '')
  return [
    `↓ ${rate(s.downloadRateBytesPerSec)}${limit(s.downloadLimitBytesPerSec)}`,
    `↑ ${rate(s.uploadRateBytesPerSec)}${limit(s.uploadLimitBytesPerSec)}`,
    `peers ${s.connectedPeers}`,
    `DHT ${s.dhtNodes}`,
    `port ${s.port}${s.portForwarding?.state === 'mapped' ? ` ⇄ ${s.portForwarding.externalAddress}:${s.portForwarding.externalTcpPort}` : ''}`,
    `free ${s.freeBytes === null ? '?' : formatBytesShort(s.freeBytes)}`,
    s.crawl ? crawlBrief(s.crawl) : '',
    attachedTo ? 'attached' : '',
    '? help',
  ]
    .filter(Boolean)
    .join('  ')
}

export function StatusBar({ status, attachedTo, width }: { status: DashboardStatus | undefined; attachedTo?: string; width: number }) {
  return (
    <Text inverse wrap="truncate">
      {fit(' ' + statusLine(status, attachedTo), width)}
    </Text>
  )
}
