// The dashboard's poll of the session: list, status, the open torrent's
// details, the ban list while it is shown, and new log lines, a few times a
// second, through the control command table. It keeps the rate history of
// the session and of every active torrent, and ends each poll in at most one
// state update, none at all when nothing changed (an idle library redraws
// nothing). Unchanged torrents keep their objects, so memoised rows skip.
// While every torrent is at rest (no data moving, nothing checking or
// fetching) the list is asked for only every few polls, or at once after a
// log line or an action: for a big idle library, parsing the list is most of
// what a poll costs. The open torrent's details count as changed only when
// more than the session's clock moved, unless what is shown runs on that
// clock (tracker countdowns, seeding time): a peers tab of quiet peers is
// not drawn again.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { TorrentDetails, TorrentSummary } from '../session/session.ts'
import type { LogLine } from '../session/event-log.ts'
import type { FilesWindow } from '../session/file-page.ts'
import type { DashboardBackend } from './backend.ts'
import { reuseUnchanged, sameJson } from './model.ts'
import { EMPTY_HISTORY, RateSeries } from './rate-graph.ts'
import type { RateHistory } from './rate-graph.ts'
import { statusLine } from './status-bar.tsx'
import type { DashboardStatus } from './status-bar.tsx'

/** Polls between list refreshes while nothing moves. */
const IDLE_LIST_EVERY = 4
const BUSY_STATES = new Set(['downloading', 'checking', 'fetching metadata'])

export interface SessionData {
  torrents: TorrentSummary[]
  status?: DashboardStatus
  details?: TorrentDetails
  /** Date.now() when `details` arrived, to run countdowns between polls. */
  detailsAtMs: number
  log: LogLine[]
  /** The session's rates, one sample per poll. */
  rates: RateHistory
  /** The open torrent's rates. */
  detailRates: RateHistory
  /** The library's ban list, while it is shown. */
  bans?: string[]
  /** The session is unreachable (a headless session that stopped). */
  lost?: string
}

/** What the next poll asks for beyond the list and status (read at each poll). */
export interface PollWants {
  detailHash?: string
  availability?: boolean
  bans?: boolean
  /** The files tab's window of rows (file-page.ts), while it is shown. */
  files?: FilesWindow
  /** What is shown counts time from the details' clock (draw every poll). */
  clock?: boolean
}

export function useSessionPoll(backend: DashboardBackend, refreshMs: number, wants: () => PollWants, onLog: (lines: LogLine[]) => void) {
  const [data, setData] = useState<SessionData>({ torrents: [], detailsAtMs: 0, log: [], rates: EMPTY_HISTORY, detailRates: EMPTY_HISTORY })
  const state = useRef({ logSeq: 0, busy: false, again: false, stopped: false, session: new RateSeries(), torrents: new Map<string, RateSeries>(), list: undefined as TorrentSummary[] | undefined, sinceList: 0, listNow: true })
  const latest = useRef({ wants, onLog })
  latest.current = { wants, onLog }

  const poll = useCallback(async (opts: { fresh?: boolean } = {}) => {
    const ps = state.current
    if (opts.fresh) ps.listNow = true
    if (ps.busy) {
      ps.again = true
      return
    }
    ps.busy = true
    try {
      const want = latest.current.wants()
      const fetchList = ps.listNow || !ps.list || ++ps.sinceList >= IDLE_LIST_EVERY || ps.list.some((t) => t.downloadRateBytesPerSec > 0 || t.uploadRateBytesPerSec > 0 || BUSY_STATES.has(t.state))
      ps.listNow = false
      if (fetchList) ps.sinceList = 0
      const [torrents, status, details, log, bans] = await Promise.all([
        fetchList || !ps.list ? (backend.call('list') as Promise<TorrentSummary[]>) : ps.list,
        backend.call('status') as Promise<DashboardStatus>,
        want.detailHash ? (backend.call('details', { id: want.detailHash, ...(want.availability && { availability: true }), ...(want.files && { files: want.files }) }) as Promise<TorrentDetails>).catch(() => undefined) : undefined,
        backend.call('events', { since: ps.logSeq }) as Promise<LogLine[]>,
        want.bans ? (backend.call('bans') as Promise<string[]>).catch(() => undefined) : undefined,
      ])
      // The first answer is the session's history: it fills the log pane, not the message line.
      const history = ps.logSeq === 0
      if (log.length) ps.logSeq = log[log.length - 1].seq
      ps.list = torrents
      // A log line is a change (added, completed, a state): the next poll reads the list.
      if (log.length) ps.listNow = true
      if (ps.stopped) return
      const wasIdle = ps.session.idle
      ps.session.push(status.downloadRateBytesPerSec, status.uploadRateBytesPerSec)
      const ratesMoved = !(wasIdle && ps.session.idle)
      const detailSeries = recordTorrentRates(ps.torrents, torrents, want.detailHash)
      setData((d) => {
        const sameDetails = d.details !== undefined && details !== undefined && sameJson({ ...d.details, nowMs: 0 }, { ...details, nowMs: 0 })
        const next: SessionData = {
          torrents: reuseUnchanged(d.torrents, torrents),
          // Only what the status bar and the search view show counts (free space moves by bytes all the time).
          status: d.status && statusLine(d.status, undefined) === statusLine(status, undefined) && sameJson(d.status.crawl, status.crawl) ? d.status : status,
          // Kept with the time it came: the clock shown runs on from its nowMs.
          details: sameDetails ? d.details : details,
          detailsAtMs: sameDetails ? d.detailsAtMs : details ? Date.now() : d.detailsAtMs,
          log: log.length ? d.log.concat(log).slice(-200) : d.log,
          rates: ratesMoved ? ps.session.snapshot() : d.rates,
          detailRates: detailSeries ? detailSeries.snapshot() : EMPTY_HISTORY,
          bans: bans === undefined ? d.bans : sameJson(d.bans, bans) ? d.bans : bans,
        }
        const same =
          !d.lost && next.torrents === d.torrents && next.status === d.status && next.log === d.log && next.rates === d.rates && next.bans === d.bans && (sameDetails ? !want.clock : !details && !d.details)
        return same ? d : next
      })
      if (log.length && !history) latest.current.onLog(log)
    } catch (err) {
      if (!ps.stopped) setData((d) => ({ ...d, lost: `the session is unreachable: ${(err as Error).message}; q quits` }))
    } finally {
      ps.busy = false
      if (ps.again) {
        ps.again = false
        void poll()
      }
    }
  }, [backend])
  /** Polls now, the list included (after an action). */
  const refresh = useCallback(() => poll({ fresh: true }), [poll])

  useEffect(() => {
    void poll()
    const timer = setInterval(() => void poll(), refreshMs)
    return () => clearInterval(timer)
  }, [poll, refreshMs])

  /** No more state updates (quitting). */
  const stop = useCallback(() => {
    state.current.stopped = true
  }, [])

  return { data, setData, poll: refresh, stop }
}

/** One sample for every torrent that moves data (or is open), forgetting those idle for the whole history. */
function recordTorrentRates(series: Map<string, RateSeries>, torrents: TorrentSummary[], open: string | undefined): RateSeries | undefined {
  const seen = new Set<string>()
  for (const t of torrents) {
    let s = series.get(t.infoHash)
    if (!s && (t.downloadRateBytesPerSec > 0 || t.uploadRateBytesPerSec > 0 || t.infoHash === open)) series.set(t.infoHash, (s = new RateSeries()))
    if (!s) continue
    seen.add(t.infoHash)
    s.push(t.downloadRateBytesPerSec, t.uploadRateBytesPerSec)
    if (s.idle && t.infoHash !== open) series.delete(t.infoHash)
  }
  for (const key of series.keys()) if (!seen.has(key)) series.delete(key)
  return open ? series.get(open) : undefined
}
