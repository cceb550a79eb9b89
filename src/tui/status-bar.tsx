// The bottom line: total rates and limits, peers, DHT nodes, listen port, the
// external address and port mapping when the session reports them, and free
// space where new torrents are saved. Props only.
import { Text } from 'ink'
import type { SessionStatus } from '../session/session.ts'
import { formatBytesShort } from './format/format.ts'
import { fit } from './model.ts'

/**
 * What `status` answers. The external address and the port mapping come from
 * sessions that map their port (UPnP, NAT-PMP) and are absent otherwise.
 */
export type DashboardStatus = SessionStatus & {
  saveDir: string
  freeBytes: number | null
  externalAddress?: string
  portMapping?: string | { protocol?: string; externalPort?: number; state?: string; error?: string }
}

/** "203.0.113.7:6881 via UPnP", or what is known of it; undefined when the session reports neither. */
export function networkText(s: DashboardStatus): string | undefined {
  const m = s.portMapping
  let mapping: string | undefined
  if (typeof m === 'string') mapping = m
  else if (m && typeof m === 'object') {
    const how = m.protocol ?? 'mapping'
    mapping = m.error ? `${how}: ${m.error}` : m.externalPort !== undefined ? `${how} :${m.externalPort}` : `${how} ${m.state ?? ''}`.trim()
  }
  const address = typeof s.externalAddress === 'string' ? s.externalAddress : undefined
  if (!address && !mapping) return undefined
  return ['ext', address, mapping && `(${mapping})`].filter(Boolean).join(' ')
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
    `port ${s.port}`,
    networkText(s) ?? '',
    `free ${s.freeBytes === null ? '?' : formatBytesShort(s.freeBytes)}`,
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
