// The detail view of one torrent, with tabs: files (a tree, see files-tab),
// peers (address or web seed URL, client, flags, rates, progress, where we learnt of it),
// trackers (status, last and next announce with a live countdown,
// seeders/leechers), the piece map (verified, in flight, missing; or how many
// peers have each piece) and info (limits, ratio, seed time, the error, and
// the torrent's rate graph). Props only; `nowMs` drives the countdowns.
import { Box, Text } from 'ink'
import type { TorrentDetails } from '../session/session.ts'
import { FilesTab } from './files-tab.tsx'
import { formatBytes, formatEta, formatPercent, formatRate } from './format/format.ts'
import { availabilityMap, DETAIL_TABS, fit, PIECE_CHARS, peerFlags, pieceMap, ratioOf, runsOf, scrollFirst, tabLabel } from './model.ts'
import type { DetailTab } from './model.ts'
import { RateGraph } from './rate-graph-view.tsx'
import type { RateHistory } from './rate-graph.ts'
import { stateColour, usePalette } from './theme.ts'
import type { Palette } from './theme.ts'

export const TABS = DETAIL_TABS
export type Tab = DetailTab

export interface DetailViewProps {
  details: TorrentDetails | undefined
  tab: Tab
  /** The highlighted row of a list tab (files: what priorities act on; peers: what x and b act on). */
  row: number
  width: number
  height: number
  nowMs: number
  /** This torrent's rates, one sample per poll. */
  history: RateHistory
  sampleMs: number
  /** The pieces tab shows availability instead of the piece states. */
  availability: boolean
}

export function DetailView({ details, tab, row, width, height, nowMs, history, sampleMs, availability }: DetailViewProps) {
  const palette = usePalette()
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
        <Text color={stateColour(palette, s.state)}>{s.state}</Text>
        {s.error ? <Text color={palette.bad}>{fit(`  ${s.error}`, Math.max(0, width - s.state.length))}</Text> : fit(`  ${s.savePath}`, Math.max(0, width - s.state.length))}
      </Text>
      <Text wrap="truncate">
        {TABS.map((t, i) => (
          <Text key={t} inverse={t === tab} bold={t === tab}>
            {tabLabel(t, i)}
          </Text>
        ))}
        <Text dimColor> Tab/1-5 · Esc back</Text>
      </Text>
      {tab === 'files' && <FilesTab page={details.files} row={row} width={width} height={bodyHeight} />}
      {tab === 'peers' && <PeersTab details={details} row={row} width={width} height={bodyHeight} palette={palette} />}
      {tab === 'trackers' && <TrackersTab details={details} width={width} height={bodyHeight} nowMs={nowMs} palette={palette} />}
      {tab === 'pieces' && <PiecesTab details={details} width={width} height={bodyHeight} availability={availability} palette={palette} />}
      {tab === 'info' && <InfoTab details={details} width={width} height={bodyHeight} nowMs={nowMs} history={history} sampleMs={sampleMs} />}
    </Box>
  )
}

function window<T>(items: T[], row: number, rows: number): { first: number; shown: T[] } {
  const first = scrollFirst(row, items.length, rows)
  return { first, shown: items.slice(first, first + rows) }
}

const SOURCE_NAMES: Record<string, string> = { dht: 'DHT', pex: 'PEX', lsd: 'LSD', webseed: 'web seed', manual: 'added' }

function PeersTab({ details, row, width, height, palette }: { details: TorrentDetails; row: number; width: number; height: number; palette: Palette }) {
  const hint = <Text dimColor>{fit('x disconnect · b ban its address · n add a peer HOST:PORT · B banned addresses', width)}</Text>
  if (details.peers.length === 0)
    return (
      <Box flexDirection="column">
        <Text dimColor>no peers connected</Text>
        {hint}
      </Box>
    )
  const fixed = 18 + 1 + 5 + 1 + 10 + 1 + 10 + 1 + 6 + 1 + 8
  const addrWidth = Math.max(12, Math.min(40, width - fixed - 1))
  const { first, shown } = window(details.peers, row, height - 2)
  return (
    <Box flexDirection="column">
      <Text bold>{fit(`${fit('Address', addrWidth)} ${fit('Client', 18)} ${fit('Flags', 5)} ${fit('Down', 10, 'right')} ${fit('Up', 10, 'right')} ${fit('Has', 6, 'right')} Source`, width)}</Text>
      {shown.map((p, i) => (
        <Text key={p.key} inverse={first + i === row} wrap="truncate">
          {fit(p.source === 'webseed' ? p.key.replace(/^https?:\/\//, '') : p.key, addrWidth)} {fit(p.client || '?', 18)} {fit(peerFlags(p), 5)} <Text color={palette.down}>{fit(p.downloadRate ? formatRate(p.downloadRate) : '', 10, 'right')}</Text>{' '}
          <Text color={palette.up}>{fit(p.uploadRate ? formatRate(p.uploadRate) : '', 10, 'right')}</Text> <Text color={p.progress >= 1 ? palette.ok : undefined}>{fit(formatPercent(p.progress), 6, 'right')}</Text>{' '}
          {SOURCE_NAMES[p.source ?? ''] ?? p.source ?? ''}
        </Text>
      ))}
      {hint}
    </Box>
  )
}

function TrackersTab({ details, width, height, nowMs, palette }: { details: TorrentDetails; width: number; height: number; nowMs: number; palette: Palette }) {
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
            {fit(`${t.tier + 1}. ${t.url}`, urlWidth)} <Text color={t.state === 'error' ? palette.bad : t.state === 'ok' ? palette.ok : undefined}>{fit(t.state, 7)}</Text>{' '}
            {fit(ago(t.lastAnnounceAtMs), 10)} {fit(next(t), 14)} {counts(t)}
          </Text>
          <Text dimColor={!t.lastError} color={t.lastError ? palette.bad : undefined} wrap="truncate">
            {fit(`   ${t.lastError ? `${t.lastError} (${t.failures} failed)` : `${t.peersReceived} peers received`}${t.scrapeError ? ` · scrape: ${t.scrapeError}` : ''}`, width)}
          </Text>
        </Box>
      ))}
    </Box>
  )
}

function PiecesTab({ details, width, height, availability, palette }: { details: TorrentDetails; width: number; height: number; availability: boolean; palette: Palette }) {
  const pieces = Buffer.from(details.piecesBase64, 'base64')
  const rows = Math.max(1, height - 1)
  const avail = availability && details.availabilityBase64 !== undefined ? Buffer.from(details.availabilityBase64, 'base64') : undefined
  const inFlight = details.inFlightBase64 !== undefined ? Buffer.from(details.inFlightBase64, 'base64') : undefined
  const map = avail ? availabilityMap(avail, details.pieceCount, width * rows) : pieceMap(pieces, details.pieceCount, width * rows, inFlight)
  const lines: string[] = []
  for (let i = 0; i < map.length; i += width) lines.push(map.slice(i, i + width))
  let have = 0
  for (let p = 0; p < details.pieceCount; p++) if (pieces[p >> 3] & (0x80 >> (p & 7))) have++
  const perCell = details.pieceCount > map.length ? `, ${Math.ceil(details.pieceCount / map.length)} per cell` : ''
  const legend = avail
    ? `peers having each piece (fewest in the cell): 0-9, + 10 or more · A piece states`
    : availability
      ? 'availability: only while it runs · A piece states'
      : `${PIECE_CHARS.verified} verified ${PIECE_CHARS.partly} partly ${PIECE_CHARS.inFlight} in flight ${PIECE_CHARS.missing} missing · A availability`
  const colourOf = (ch: string) =>
    avail ? (ch === '0' ? palette.bad : ch === '1' ? palette.busy : palette.ok) : ch === PIECE_CHARS.inFlight ? palette.busy : ch === PIECE_CHARS.missing ? undefined : palette.ok
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate">
        {fit(`${have}/${details.pieceCount} pieces of ${formatBytes(details.pieceLength)}${perCell} · ${legend}`, width)}
      </Text>
      {lines.map((line, i) => (
        <Text key={i}>
          {runsOf(line).map((run, j) => (
            <Text key={j} color={colourOf(run[0])} dimColor={run[0] === PIECE_CHARS.missing}>
              {run}
            </Text>
          ))}
        </Text>
      ))}
    </Box>
  )
}

function InfoTab({ details, width, height, nowMs, history, sampleMs }: { details: TorrentDetails; width: number; height: number; nowMs: number; history: RateHistory; sampleMs: number }) {
  const palette = usePalette()
  const s = details.summary
  const limit = (n: number | undefined) => (n ? formatRate(n) : 'none')
  const seedFor = details.seedingSinceMs !== undefined ? formatEta((nowMs - details.seedingSinceMs) / 1000) : s.state === 'seeding' ? '--' : 'not seeding'
  const lines: [string, string][] = [
    ['limits', `↓ ${limit(details.limits?.downloadBytesPerSec)}  ↑ ${limit(details.limits?.uploadBytesPerSec)}  (this torrent's; l sets them)`],
    ['ratio', `${ratioOf(s).toFixed(2)}  (↑ ${formatBytes(s.uploadedBytes)} / ↓ ${formatBytes(s.downloadedBytes)})`],
    ['seeding for', seedFor],
    ['ETA', s.progress >= 1 ? 'complete' : formatEta(s.etaSeconds ?? undefined)],
    ['peers', `${s.connectedPeers} connected, ${s.seeds} seeds, ${s.knownPeers} known`],
    ['added', `${s.addedAt.slice(0, 19).replace('T', ' ')}${s.completedAt ? `  completed ${s.completedAt.slice(0, 19).replace('T', ' ')}` : ''}`],
    ['saved in', s.savePath],
  ]
  const shownLines = lines.slice(0, Math.max(0, height - 7))
  const graphHeight = Math.max(4, height - shownLines.length - (s.error ? 1 : 0))
  return (
    <Box flexDirection="column">
      {s.error && (
        <Text color={palette.bad} wrap="truncate">
          {fit(`error: ${s.error}`, width)}
        </Text>
      )}
      {shownLines.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          <Text bold>{fit(k, 12)}</Text>
          {fit(v, Math.max(0, width - 12))}
        </Text>
      ))}
      {height >= 8 && <RateGraph history={history} width={width} height={graphHeight} sampleMs={sampleMs} />}
    </Box>
  )
}
