// The detail view of one torrent, with tabs: files (progress, priority),
// peers (address or web seed URL, client, flags, rates, progress, source), trackers (status,
// last and next announce with a live countdown, seeders/leechers) and the
// piece map. Props only; `nowMs` drives the countdowns.
import { Box, Text } from 'ink'
import type { TorrentDetails } from '../session/session.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from './format/format.ts'
import { fit, peerFlags, pieceMap, progressBar } from './model.ts'
import { STATE_COLOR } from './torrent-list.tsx'

export const TABS = ['files', 'peers', 'trackers', 'pieces'] as const
export type Tab = (typeof TABS)[number]

export interface DetailViewProps {
  details: TorrentDetails | undefined
  tab: Tab
  /** The highlighted row of a list tab (files: the file priorities act on). */
  row: number
  width: number
  height: number
  nowMs: number
}

export function DetailView({ details, tab, row, width, height, nowMs }: DetailViewProps) {
  if (!details) return <Text dimColor>loading…</Text>
  const s = details.summary
  const title = `${s.name}  ${formatBytes(s.sizeBytes)}  ${formatPercent(s.progress)}  ↓ ${formatRate(s.downloadRateBytesPerSec)} ↑ ${formatRate(s.uploadRateBytesPerSec)}`
  const bodyHeight = Math.max(1, height - 4)
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate">
        {fit(title, width)}
      </Text>
      <Text wrap="truncate">
        <Text color={STATE_COLOR[s.state]}>{s.state}</Text>
        {fit(`  ${s.error ? s.error + '  ' : ''}${s.savePath}`, Math.max(0, width - s.state.length))}
      </Text>
      <Text wrap="truncate">
        {TABS.map((t, i) => (
          <Text key={t} inverse={t === tab} bold={t === tab}>
            {i === 0 ? '' : ' '}
            {` ${i + 1} ${t} `}
          </Text>
        ))}
        <Text dimColor> ←/→ tab · Esc back</Text>
      </Text>
      {tab === 'files' && <FilesTab details={details} row={row} width={width} height={bodyHeight} />}
      {tab === 'peers' && <PeersTab details={details} row={row} width={width} height={bodyHeight} />}
      {tab === 'trackers' && <TrackersTab details={details} width={width} height={bodyHeight} nowMs={nowMs} />}
      {tab === 'pieces' && <PiecesTab details={details} width={width} height={bodyHeight} />}
    </Box>
  )
}

function window<T>(items: T[], row: number, rows: number): { first: number; shown: T[] } {
  const first = Math.max(0, Math.min(row - Math.floor(rows / 2), items.length - rows))
  return { first, shown: items.slice(first, first + rows) }
}

function FilesTab({ details, row, width, height }: { details: TorrentDetails; row: number; width: number; height: number }) {
  const fixed = 9 + 1 + 12 + 1 + 8
  const nameWidth = Math.max(8, width - fixed - 1)
  const { first, shown } = window(details.files, row, height - 2)
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit('File', nameWidth)} ${fit('Size', 9, 'right')} ${fit('Progress', 12)} Priority`, width)}</Text>
      {shown.map((f, i) => {
        const p = f.sizeBytes ? f.verifiedBytes / f.sizeBytes : 1
        return (
          <Text key={f.index} inverse={first + i === row} wrap="truncate" dimColor={f.priority === 'skip'}>
            {fit(f.path, nameWidth)} {fit(formatBytes(f.sizeBytes), 9, 'right')} {progressBar(p, 5)}
            {fit(formatPercent(p), 7, 'right')} {fit(f.priority, 8)}
          </Text>
        )
      })}
      <Text dimColor>{fit('space skip/unskip · + - priority', width)}</Text>
    </Box>
  )
}

function PeersTab({ details, row, width, height }: { details: TorrentDetails; row: number; width: number; height: number }) {
  if (details.peers.length === 0) return <Text dimColor>no peers connected</Text>
  const fixed = 18 + 1 + 5 + 1 + 10 + 1 + 10 + 1 + 6 + 1 + 8
  const addrWidth = Math.max(12, Math.min(40, width - fixed - 1))
  const { first, shown } = window(details.peers, row, height - 1)
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit('Address', addrWidth)} ${fit('Client', 18)} ${fit('Flags', 5)} ${fit('Down', 10, 'right')} ${fit('Up', 10, 'right')} ${fit('Has', 6, 'right')} Source`, width)}</Text>
      {shown.map((p, i) => (
        <Text key={p.key} inverse={first + i === row} wrap="truncate">
          {fit(p.source === 'webseed' ? p.key.replace(/^https?:\/\//, '') : p.key, addrWidth)} {fit(p.client || '?', 18)} {fit(peerFlags(p), 5)} {fit(p.downloadRate ? formatRate(p.downloadRate) : '', 10, 'right')}{' '}
          {fit(p.uploadRate ? formatRate(p.uploadRate) : '', 10, 'right')} {fit(formatPercent(p.progress), 6, 'right')} {p.source ?? ''}
        </Text>
      ))}
    </Box>
  )
}

function TrackersTab({ details, width, height, nowMs }: { details: TorrentDetails; width: number; height: number; nowMs: number }) {
  if (details.trackers.length === 0) return <Text dimColor>no trackers (peers come from the DHT and PEX)</Text>
  const ago = (ms: number | undefined) => (ms === undefined ? 'never' : `${formatEta((nowMs - ms) / 1000)} ago`)
  const next = (t: TorrentDetails['trackers'][number]) => {
    if (t.state === 'announcing') return 'announcing…'
    if (t.nextAnnounceAtMs === undefined) return '--'
    const inS = formatEta((t.nextAnnounceAtMs - nowMs) / 1000)
    return t.state === 'error' ? `retry in ${inS}` : `in ${inS}`
  }
  // Seeders/leechers/completed: the last scrape's, else the announce's (completed unknown then).
  const counts = (t: TorrentDetails['trackers'][number]) => (t.scrape ? `${t.scrape.seeders}/${t.scrape.leechers}/${t.scrape.completed}` : `${t.seeders ?? '?'}/${t.leechers ?? '?'}/?`)
  const urlWidth = Math.max(16, width - (7 + 1 + 10 + 1 + 14 + 1 + 11 + 1))
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit('Tracker', urlWidth)} ${fit('Status', 7)} ${fit('Last', 10)} ${fit('Next', 14)} Seed/Lch/Done`, width)}</Text>
      {details.trackers.slice(0, Math.max(1, Math.floor((height - 1) / 2))).map((t) => (
        <Box key={t.url} flexDirection="column">
          <Text wrap="truncate">
            {fit(`${t.tier + 1}. ${t.url}`, urlWidth)} <Text color={t.state === 'error' ? 'red' : t.state === 'ok' ? 'green' : undefined}>{fit(t.state, 7)}</Text>{' '}
            {fit(ago(t.lastAnnounceAtMs), 10)} {fit(next(t), 14)} {counts(t)}
          </Text>
          <Text dimColor wrap="truncate">
            {fit(`   ${t.lastError ? `${t.lastError} (${t.failures} failed)` : `${t.peersReceived} peers received`}${t.scrapeError ? ` · scrape: ${t.scrapeError}` : ''}`, width)}
          </Text>
        </Box>
      ))}
    </Box>
  )
}

function PiecesTab({ details, width, height }: { details: TorrentDetails; width: number; height: number }) {
  const pieces = Buffer.from(details.piecesBase64, 'base64')
  const rows = Math.max(1, height - 1)
  const map = pieceMap(pieces, details.pieceCount, width * rows)
  const lines: string[] = []
  for (let i = 0; i < map.length; i += width) lines.push(map.slice(i, i + width))
  let have = 0
  for (let p = 0; p < details.pieceCount; p++) if (pieces[p >> 3] & (0x80 >> (p & 7))) have++
  return (
    <Box flexDirection="column">
      <Text dimColor>
        {fit(`${have}/${details.pieceCount} pieces of ${formatBytes(details.pieceLength)}${details.pieceCount > map.length ? `, ${Math.ceil(details.pieceCount / map.length)} per cell` : ''} · █ have · ▓▒░ some · · none`, width)}
      </Text>
      {lines.map((line, i) => (
        <Text key={i} color="cyan">
          {line}
        </Text>
      ))}
    </Box>
  )
}
