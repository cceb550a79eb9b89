// The dashboard's pure logic: which torrents a view shows and in what order,
// which list columns fit a terminal's width, and how a cell reads. No React,
// no I/O: the components render what these return, the tests check them.
import type { TorrentSummary } from '../session/session.ts'
import { formatBytesShort, formatEta, formatPercent } from './format/format.ts'

export const VIEWS = ['all', 'downloading', 'seeding', 'paused', 'error'] as const
export type View = (typeof VIEWS)[number]

/** A view's tab in the header line, after "friendtorrent". */
export const viewLabel = (view: View, count: number) => ` ${view} ${count} `

export const DETAIL_TABS = ['files', 'peers', 'trackers', 'pieces', 'info'] as const
export type DetailTab = (typeof DETAIL_TABS)[number]

/** The `index`th tab of the detail view's tab line, with the space before it. */
export const tabLabel = (tab: DetailTab, index: number) => `${index === 0 ? '' : ' '} ${index + 1} ${tab} `

/** The first of `count` rows shown in a window of `rows` that keeps row `selected` in sight (near the middle). */
export function scrollFirst(selected: number, count: number, rows: number): number {
  return Math.max(0, Math.min(selected - Math.floor(rows / 2), count - rows))
}

export function inView(t: TorrentSummary, view: View): boolean {
  switch (view) {
    case 'all':
      return true
    case 'downloading':
      return t.state === 'downloading' || t.state === 'checking' || t.state === 'fetching metadata' || (t.state === 'queued' && t.progress < 1)
    case 'seeding':
      return t.state === 'seeding' || (t.state === 'queued' && t.progress >= 1)
    case 'paused':
      return t.state === 'paused'
    case 'error':
      return t.state === 'error'
  }
}

/** Uploaded over what we hold of it (downloaded, or the size when we seeded from our own files). */
export function ratioOf(t: TorrentSummary): number {
  const base = Math.max(t.downloadedBytes, t.progress * t.sizeBytes)
  return base > 0 ? t.uploadedBytes / base : 0
}

export interface Column {
  key: SortKey
  title: string
  width: number
  /** Lower is dropped last when the terminal is narrow. */
  keep: number
  cell(t: TorrentSummary): string
  value(t: TorrentSummary): number | string
}

export const SORT_KEYS = ['queue', 'name', 'size', 'progress', 'state', 'down', 'up', 'peers', 'seeds', 'eta', 'ratio'] as const
export type SortKey = (typeof SORT_KEYS)[number]

const STATE_ORDER = ['downloading', 'checking', 'fetching metadata', 'seeding', 'queued', 'paused', 'error']

/** The list's columns, name first; the progress column's cell is the percent (the bar is drawn beside it). */
export const COLUMNS: Column[] = [
  { key: 'queue', title: '#', width: 3, keep: 3, cell: (t) => (t.queuePosition < 0 ? '' : String(t.queuePosition + 1)), value: (t) => t.queuePosition },
  { key: 'name', title: 'Name', width: 0, keep: 0, cell: (t) => t.name, value: (t) => t.name.toLowerCase() },
  { key: 'size', title: 'Size', width: 6, keep: 2, cell: (t) => (t.sizeBytes ? formatBytesShort(t.sizeBytes) : '?'), value: (t) => t.sizeBytes },
  { key: 'progress', title: 'Progress', width: 13, keep: 0, cell: (t) => formatPercent(t.progress), value: (t) => t.progress },
  { key: 'state', title: 'State', width: 11, keep: 1, cell: (t) => (t.state === 'fetching metadata' ? 'metadata' : t.state), value: (t) => STATE_ORDER.indexOf(t.state) },
  { key: 'down', title: 'Down/s', width: 6, keep: 1, cell: (t) => (t.downloadRateBytesPerSec ? formatBytesShort(t.downloadRateBytesPerSec) : ''), value: (t) => t.downloadRateBytesPerSec },
  { key: 'up', title: 'Up/s', width: 6, keep: 1, cell: (t) => (t.uploadRateBytesPerSec ? formatBytesShort(t.uploadRateBytesPerSec) : ''), value: (t) => t.uploadRateBytesPerSec },
  { key: 'peers', title: 'Peers', width: 7, keep: 2, cell: (t) => `${t.connectedPeers}/${t.knownPeers}`, value: (t) => t.connectedPeers },
  { key: 'seeds', title: 'Seeds', width: 5, keep: 4, cell: (t) => String(t.seeds), value: (t) => t.seeds },
  { key: 'eta', title: 'ETA', width: 6, keep: 2, cell: (t) => (t.progress >= 1 ? '' : formatEta(t.etaSeconds ?? undefined)), value: (t) => t.etaSeconds ?? Infinity },
  { key: 'ratio', title: 'Ratio', width: 5, keep: 3, cell: (t) => ratioOf(t).toFixed(2), value: (t) => ratioOf(t) },
]

const MIN_NAME_WIDTH = 16

/**
 * The columns that fit `width` (one space between them), dropping the least
 * needed first; the name takes what is left. The # column is as wide as the
 * largest queue number of `rowCount` rows needs.
 */
export function fitColumns(width: number, rowCount = 0): { columns: Column[]; nameWidth: number } {
  const queueWidth = Math.max(3, String(rowCount).length)
  let columns = queueWidth === COLUMNS[0].width ? COLUMNS : [{ ...COLUMNS[0], width: queueWidth }, ...COLUMNS.slice(1)]
  const used = (cols: Column[]) => cols.reduce((n, c) => n + c.width + 1, 0)
  while (width - used(columns) < MIN_NAME_WIDTH) {
    const droppable = columns.filter((c) => c.keep > 0)
    if (droppable.length === 0) break
    const drop = droppable.reduce((a, b) => (b.keep >= a.keep ? b : a))
    columns = columns.filter((c) => c !== drop)
  }
  return { columns, nameWidth: Math.max(4, width - used(columns)) }
}

export interface ListQuery {
  view: View
  filter: string
  sort: SortKey
  descending: boolean
}

/** The torrents a view shows, filtered by name (case-insensitive substring) and sorted (ties keep queue order). */
export function visibleTorrents(torrents: TorrentSummary[], q: ListQuery): TorrentSummary[] {
  const needle = q.filter.trim().toLowerCase()
  const column = COLUMNS.find((c) => c.key === q.sort) ?? COLUMNS[0]
  const dir = q.descending ? -1 : 1
  return torrents
    .filter((t) => inView(t, q.view) && (!needle || t.name.toLowerCase().includes(needle)))
    .map((t, i) => ({ t, i }))
    .sort((a, b) => {
      const x = column.value(a.t)
      const y = column.value(b.t)
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.i - b.i
    })
    .map(({ t }) => t)
}

/** `text` cut or padded to exactly `width` cells (an ellipsis marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return ''
  const chars = [...text]
  if (chars.length > width) return width === 1 ? '…' : chars.slice(0, width - 1).join('') + '…'
  const pad = ' '.repeat(width - chars.length)
  return align === 'left' ? text + pad : pad + text
}

/** A bar of `width` cells, eighth blocks for the partial cell. */
export function progressBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0))
  const eighths = Math.floor(f * width * 8)
  const full = Math.floor(eighths / 8)
  const part = eighths % 8
  const partial = part ? '▏▎▍▌▋▊▉'[part - 1] : ''
  return ('█'.repeat(full) + partial).padEnd(width, '·').slice(0, width)
}

/** What a piece map cell shows, from its run of pieces. */
export const PIECE_CHARS = { verified: '█', partly: '▓', inFlight: '░', missing: '·' } as const

const hasBit = (bits: Uint8Array | undefined, p: number) => bits !== undefined && (bits[p >> 3] & (0x80 >> (p & 7))) !== 0

/**
 * A piece map of at most `cells` characters: each cell covers a run of pieces
 * and shows █ all verified, ░ some in flight (requested or partly received),
 * ▓ some verified, · none of them.
 */
export function pieceMap(pieces: Uint8Array, pieceCount: number, cells: number, inFlight?: Uint8Array): string {
  if (pieceCount === 0 || cells <= 0) return ''
  const n = Math.min(cells, pieceCount)
  let out = ''
  for (let c = 0; c < n; c++) {
    const from = Math.floor((c * pieceCount) / n)
    const to = Math.floor(((c + 1) * pieceCount) / n)
    let have = 0
    let flying = false
    for (let p = from; p < to; p++) {
      if (hasBit(pieces, p)) have++
      else if (!flying && hasBit(inFlight, p)) flying = true
    }
    out += have === to - from ? PIECE_CHARS.verified : flying ? PIECE_CHARS.inFlight : have > 0 ? PIECE_CHARS.partly : PIECE_CHARS.missing
  }
  return out
}

/** Availability per cell: the fewest peers having any piece of its run, 0-9, + for 10 or more. */
export function availabilityMap(availability: Uint8Array, pieceCount: number, cells: number): string {
  if (pieceCount === 0 || cells <= 0) return ''
  const n = Math.min(cells, pieceCount)
  let out = ''
  for (let c = 0; c < n; c++) {
    const from = Math.floor((c * pieceCount) / n)
    const to = Math.floor(((c + 1) * pieceCount) / n)
    let min = 255
    for (let p = from; p < to; p++) min = Math.min(min, availability[p] ?? 0)
    out += min >= 10 ? '+' : String(min)
  }
  return out
}

/** A line cut into runs of the same character, to colour each run with one Text. */
export function runsOf(line: string): string[] {
  const runs: string[] = []
  for (const ch of line) {
    if (runs.length && runs[runs.length - 1][0] === ch) runs[runs.length - 1] += ch
    else runs.push(ch)
  }
  return runs
}

/** Decodes a peer's flags the way rTorrent, Transmission and qBittorrent show them (P: over µTP). */
export function peerFlags(p: { amChoking: boolean; amInterested: boolean; peerChoking: boolean; peerInterested: boolean; snubbed: boolean; incoming: boolean; transport?: string }): string {
  return [
    p.peerChoking ? (p.amInterested ? 'd' : '') : p.amInterested ? 'D' : 'K',
    p.amChoking ? (p.peerInterested ? 'u' : '') : p.peerInterested ? 'U' : '?',
    p.snubbed ? 'S' : '',
    p.incoming ? 'I' : '',
    p.transport === 'utp' ? 'P' : '',
  ].join('')
}

/** Splits a command line like a shell would for simple cases: spaces separate, quotes group, backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quote) {
      if (ch === quote) quote = undefined
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i]
      else word += ch
    } else if (ch === '"' || ch === "'") {
      quote = ch
      inWord = true
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i]
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += ch
      inWord = true
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`)
  if (inWord) words.push(word)
  return words
}

/** Whether two plain JSON values are equal (what a poll answer is made of). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const y = b as unknown[]
    if (a.length !== y.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], y[i])) return false
    return true
  }
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  const keys = Object.keys(x)
  if (keys.length !== Object.keys(y).length) return false
  for (const k of keys) if (!sameJson(x[k], y[k])) return false
  return true
}

/**
 * The new list with each torrent that did not change replaced by its object
 * from the previous poll, and the previous array itself when nothing changed:
 * memoised rows and views then skip what is the same.
 */
export function reuseUnchanged(prev: TorrentSummary[], next: TorrentSummary[]): TorrentSummary[] {
  const byHash = new Map<string, TorrentSummary>()
  for (const t of prev) byHash.set(t.infoHash, t)
  let same = prev.length === next.length
  const out = next.map((t, i) => {
    const old = byHash.get(t.infoHash)
    if (old && sameJson(old, t)) {
      if (prev[i] !== old) same = false
      return old
    }
    same = false
    return t
  })
  return same ? prev : out
}
