// The dashboard's container: polls the session (use-session-poll: list,
// status, the open torrent's details, new log lines, rate history) and redraws
// at most once per poll, not at all when nothing changed; turns each key or
// click (mouse.ts) into at most one session command (a folder's priority, a
// ban, a disconnect are one each). The components it renders (top-line,
// log-pane and the views) take props only. Errors from commands show in the
// message line, never as a crash.
import { Box } from 'ink'
import type { Key } from 'ink'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { TorrentSummary } from '../session/session.ts'
import { addArgs, addedText } from './add-input.ts'
import type { DashboardBackend } from './backend.ts'
import { BansView } from './bans-view.tsx'
import { completePath } from './complete-path.ts'
import { DetailView, TABS } from './detail-view.tsx'
import type { Tab } from './detail-view.tsx'
import { useFilesTab } from './use-files-tab.ts'
import { HelpOverlay, helpRows, KEYS } from './help-overlay.tsx'
import { LogPane } from './log-pane.tsx'
import { SearchPanel } from './search-panel.tsx'
import { inView, SORT_KEYS, splitCommandLine, VIEWS, visibleTorrents } from './model.ts'
import type { SortKey, View } from './model.ts'
import { BottomLine, Candidates } from './bottom-line.tsx'
import type { Message, Mode } from './bottom-line.tsx'
import { mouseAction } from './mouse.ts'
import type { Click, MouseEvent, ScreenLayout } from './mouse.ts'
import { RateGraph } from './rate-graph-view.tsx'
import { StatusBar } from './status-bar.tsx'
import { COLOURS, NO_COLOURS, PaletteContext } from './theme.ts'
import { TopLine } from './top-line.tsx'
import { TorrentList } from './torrent-list.tsx'
import { useKeyQueue } from './use-key-queue.ts'
import { useSessionPoll, type PollWants } from './use-session-poll.ts'
import { useTerminalSize } from './use-terminal-size.ts'

export interface DashboardProps {
  backend: DashboardBackend
  /** Where added torrents are saved (--path); the session's default when undefined. */
  saveDir?: string
  cwd: string
  /** Shows the log pane. */
  debug?: boolean
  refreshMs?: number
  /** Runs a CLI command line (the `:` prompt) and returns what it printed. */
  runCommand?: (argv: string[]) => Promise<{ code: number; lines: string[] }>
  /** Called once when the person quits. */
  onQuit: () => void
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: { columns: number; rows: number }
  /** A first message (e.g. about flags that do not apply when attached). */
  notice?: string
  /** NO_COLOR: no colour, only bold, dim and inverse. */
  noColor?: boolean
  /** Clicks and the wheel (the terminal reports them while the dashboard runs; default on). */
  mouse?: boolean
  /** Ctrl-Z: hand the terminal back and stop, as a shell job. */
  onSuspend?: () => void
  /** Changed when the process continues after a suspend: the frame is drawn again. */
  resumedAt?: number
}

const LOG_PANE_ROWS = 6
const REFUSED_VERBS = new Set(['seed', 'tracker', 'help', undefined])

export function Dashboard(props: DashboardProps) {
  const { backend, refreshMs = 500 } = props
  const { columns, rows } = useTerminalSize(props.size)
  const [mode, setModeState] = useState<Mode>({ kind: 'list' })
  // Keys can arrive faster than renders: the handler reads the latest mode from here.
  const modeRef = useRef(mode)
  const setMode = (next: Mode) => {
    modeRef.current = next
    setModeState(next)
  }
  const [view, setView] = useState<View>('all')
  const [filter, setFilter] = useState('')
  const [sort, setSort] = useState<SortKey>('queue')
  const [descending, setDescending] = useState(false)
  const [selectedHash, setSelectedHash] = useState<string | undefined>()
  /** The torrent the detail view shows: pinned, whatever the list's view and order do meanwhile. */
  const [detailHash, setDetailHash] = useState<string | undefined>()
  const [tab, setTab] = useState<Tab>('files')
  const [row, setRow] = useState(0)
  const [message, setMessage] = useState<Message | undefined>(props.notice ? { text: props.notice } : undefined)
  const [showRates, setShowRates] = useState<boolean | undefined>()
  const [availability, setAvailability] = useState(false)
  const quitting = useRef(false)
  // The index search (f) holds the keyboard while open (search-panel.tsx).
  const [searching, setSearchingState] = useState(false)
  const searchingRef = useRef(false)
  const setSearching = (open: boolean) => {
    searchingRef.current = open
    setSearchingState(open)
  }

  const inDetail = mode.kind === 'detail' || (mode.kind !== 'list' && mode.back === 'detail')
  // What the poller asks for: refs, so one interval serves every state, and a key can change them at once.
  const wants = useRef<PollWants>({ detailHash: undefined, availability: false, bans: false, clock: false })
  wants.current = { detailHash: inDetail ? detailHash : undefined, availability: inDetail && tab === 'pieces' && availability, bans: mode.kind === 'bans', files: wants.current.files, clock: tab === 'trackers' || tab === 'info' }
  const { data, setData, poll, stop } = useSessionPoll(backend, refreshMs, () => wants.current, (log) => {
    if (props.debug) return
    const last = log[log.length - 1]
    setMessage({ text: last.text, error: /^(error|warning)/.test(last.text) })
  })

  const visible = useMemo(() => visibleTorrents(data.torrents, { view, filter, sort, descending }), [data.torrents, view, filter, sort, descending])
  const foundIndex = visible.findIndex((t) => t.infoHash === selectedHash)
  const lastIndex = useRef(0)
  const selectedIndex = foundIndex >= 0 ? foundIndex : Math.min(lastIndex.current, Math.max(0, visible.length - 1))
  lastIndex.current = selectedIndex
  const selected: TorrentSummary | undefined = visible[selectedIndex]
  const detailTorrent = data.torrents.find((t) => t.infoHash === detailHash)
  const details = data.details?.summary.infoHash === detailHash ? data.details : undefined


  const act = useCallback(
    async (what: string, command: string, args: Record<string, unknown>, done?: (result: unknown) => string | undefined) => {
      try {
        const result = await backend.call(command, args)
        const text = done?.(result)
        if (text) setMessage({ text })
      } catch (err) {
        setMessage({ text: `${what}: ${(err as Error).message}`, error: true })
      }
      void poll()
    },
    [backend, poll],
  )

  // The terminal's height bounds the rows in sight; the files window is asked for with the details.
  const files = useFilesTab(details, row, setRow, act, rows, () => void poll())
  wants.current.files = inDetail && tab === 'files' ? files.window : undefined
  const lastClick = useRef<Click | undefined>(undefined)
  useEffect(() => {
    if (props.resumedAt) setMessage({ text: 'resumed' })
  }, [props.resumedAt])

  const quit = () => {
    if (quitting.current) return
    quitting.current = true
    stop()
    setMessage({ text: backend.attachedTo ? 'detaching…' : 'stopping: telling trackers, saving state…' })
    props.onQuit()
  }

  const moveSelection = (to: number) => {
    const t = visible[Math.max(0, Math.min(visible.length - 1, to))]
    if (t) setSelectedHash(t.infoHash)
  }

  const openDetail = (t: TorrentSummary) => {
    setSelectedHash(t.infoHash)
    setDetailHash(t.infoHash)
    setRow(0)
    setMode({ kind: 'detail' })
    wants.current.detailHash = t.infoHash
    void poll()
  }

  const addTorrent = async (input: string) => {
    const args = addArgs(input, props.cwd, props.saveDir)
    if (args) await act('add', 'add', args, addedText)
  }

  const runLine = async (line: string) => {
    let argv: string[]
    try {
      argv = splitCommandLine(line.trim().replace(/^friendtorrent\s+/, ''))
    } catch (err) {
      setMessage({ text: `: ${(err as Error).message}`, error: true })
      return
    }
    if (argv.length === 0) return
    if (argv[0] === 'q' || argv[0] === 'quit') return quit()
    if (!props.runCommand || REFUSED_VERBS.has(argv[0])) {
      setMessage({ text: `:${argv[0] ?? ''} is not for the dashboard; press ? for the keys`, error: true })
      return
    }
    const { code, lines } = await props.runCommand(argv)
    setData((d) => ({ ...d, log: d.log.concat(lines.map((text, i) => ({ seq: -1 - i, atMs: Date.now(), text }))).slice(-200) }))
    setMessage({ text: lines.filter(Boolean).at(-1) ?? (code === 0 ? 'done' : `exit ${code}`), error: code !== 0 })
    void poll()
  }

  const setLimits = async (value: string, forTorrent: TorrentSummary | undefined) => {
    const parts = value.trim().split(/[\s,/]+/).filter(Boolean)
    const nums = parts.map(Number)
    if (parts.length === 0 || parts.length > 2 || nums.some((n) => !Number.isFinite(n) || n < 0)) {
      setMessage({ text: `limits: give "down up" in KiB/s, 0 = none (got "${value}")`, error: true })
      return
    }
    const args: Record<string, unknown> = { downKiBps: nums[0], ...(nums.length > 1 && { upKiBps: nums[1] }), ...(forTorrent && { id: forTorrent.infoHash }) }
    await act('limit', 'limit', args, (r) => {
      const set = r as { upKiBps: number; downKiBps: number }
      const show = (n: number) => (n > 0 ? `${n} KiB/s` : 'none')
      return `limits${forTorrent ? ` for ${forTorrent.name}` : ''}: ↓ ${show(set.downKiBps)} ↑ ${show(set.upKiBps)}`
    })
  }

  /** x, b, n in the peers tab. */
  const peerKey = (input: string): boolean => {
    const t = detailTorrent
    const peer = details?.peers[row]
    if (input === 'n' && t) {
      setMode({ kind: 'input', prompt: 'peer', value: '', back: 'detail' })
      return true
    }
    if (!t || !peer || (input !== 'x' && input !== 'b')) return false
    if (input === 'x') void act('disconnect', 'disconnect', { id: t.infoHash, peer: peer.key }, () => `disconnected ${peer.key}`)
    else {
      const address = peer.key.startsWith('[') ? peer.key.slice(1, peer.key.indexOf(']')) : peer.key.slice(0, peer.key.lastIndexOf(':'))
      void act('ban', 'ban', { address }, (r) => {
        const b = r as { address: string; closed: number }
        return `banned ${b.address} in every torrent${b.closed ? `, closed ${b.closed} connection${b.closed === 1 ? '' : 's'}` : ''}; B lists bans`
      })
    }
    return true
  }

  /** Keys that act on the selected torrent, in the list and in details alike. */
  const torrentKey = (input: string, back: 'list' | 'detail'): boolean => {
    const t = back === 'detail' ? detailTorrent : selected
    switch (input) {
      case 'a':
        setMode({ kind: 'input', prompt: 'add', value: '', back })
        return true
      case ':':
        setMode({ kind: 'input', prompt: 'command', value: '', back })
        return true
      case '?':
        setMode({ kind: 'help', back })
        return true
      case 'f':
        setSearching(true)
        return true
      case 'B':
        setMode({ kind: 'bans', back, row: 0 })
        wants.current.bans = true
        void poll()
        return true
      case 'q':
        quit()
        return true
      case 'l': {
        const s = data.status
        const current = back === 'detail' || !s ? '' : `${Math.round(s.downloadLimitBytesPerSec / 1024)} ${Math.round(s.uploadLimitBytesPerSec / 1024)}`
        setMode({ kind: 'input', prompt: 'limit', value: current, back })
        return true
      }
    }
    if (!t) return false
    switch (input) {
      case 'p': {
        const pausing = t.state !== 'paused' && t.state !== 'error'
        void act(pausing ? 'pause' : 'resume', pausing ? 'pause' : 'resume', { id: t.infoHash }, () => `${pausing ? 'paused' : 'resumed'} ${t.name}`)
        return true
      }
      case 's':
        void act('start', 'start', { id: t.infoHash }, () => `started ${t.name} (outside the queue limits until paused)`)
        return true
      case 'v':
        void act('verify', 'verify', { id: t.infoHash }, () => `verifying ${t.name}: every piece is hashed again`)
        return true
      case 'u':
      case 'K':
        void act('queue', 'queue', { id: t.infoHash, direction: 'up' })
        return true
      case 'J':
        void act('queue', 'queue', { id: t.infoHash, direction: 'down' })
        return true
      case 'd':
        setMode({ kind: 'remove', torrent: t, back })
        return true
    }
    return false
  }

  useKeyQueue({ onKey: (input, key) => onKey(input, key), onMouse: (m) => onMouse(m), splitChunks: () => modeRef.current.kind !== 'input', mouse: props.mouse !== false })
  const onKey = (input: string, key: Key) => {
    if (key.ctrl && input === 'c') return quit()
    if (key.ctrl && input === 'z' && props.onSuspend) return props.onSuspend()
    if (quitting.current || searchingRef.current) return
    const mode = modeRef.current
    switch (mode.kind) {
      case 'help': {
        const first = mode.first ?? 0
        if ((key.downArrow || input === 'j' || input === ' ') && first + helpRows(bodyHeight) < KEYS.length) setMode({ ...mode, first: first + 1 })
        else if ((key.upArrow || input === 'k') && first > 0) setMode({ ...mode, first: first - 1 })
        else if (!key.downArrow && !key.upArrow && input !== 'j' && input !== 'k' && input !== ' ') setMode({ kind: mode.back })
        return
      }
      case 'bans': {
        const bans = data.bans ?? []
        if (key.escape || input === 'q' || input === 'B') setMode({ kind: mode.back })
        else if (key.downArrow || input === 'j') setMode({ ...mode, row: Math.min(bans.length - 1, mode.row + 1) })
        else if (key.upArrow || input === 'k') setMode({ ...mode, row: Math.max(0, mode.row - 1) })
        else if ((input === 'x' || key.delete || key.backspace) && bans[mode.row]) {
          const address = bans[mode.row]
          setMode({ ...mode, row: Math.max(0, Math.min(mode.row, bans.length - 2)) })
          void act('unban', 'unban', { address }, () => `unbanned ${address}`)
        }
        return
      }
      case 'remove':
        if (input === 'r') {
          setMode({ kind: 'list' })
          void act('remove', 'remove', { id: mode.torrent.infoHash, deleteData: false }, () => `removed ${mode.torrent.name}; its data stays in ${mode.torrent.savePath}`)
        } else if (input === 'D') setMode({ kind: 'delete', torrent: mode.torrent, back: mode.back })
        else setMode({ kind: mode.back })
        return
      case 'delete':
        if (input === 'y') {
          setMode({ kind: 'list' })
          void act('remove', 'remove', { id: mode.torrent.infoHash, deleteData: true }, () => `removed ${mode.torrent.name} and deleted its data`)
        } else {
          setMode({ kind: mode.back })
          setMessage({ text: 'nothing deleted' })
        }
        return
      case 'input': {
        if (key.escape) {
          if (mode.prompt === 'filter') setFilter('')
          setMessage(undefined)
          setMode({ kind: mode.back })
          return
        }
        if (key.return) {
          setMode({ kind: mode.back })
          setMessage(undefined)
          if (mode.prompt === 'add') void addTorrent(mode.value)
          else if (mode.prompt === 'command') void runLine(mode.value)
          else if (mode.prompt === 'limit') void setLimits(mode.value, mode.back === 'detail' ? detailTorrent : undefined)
          else if (mode.prompt === 'peer' && detailTorrent && mode.value.trim()) {
            const peer = mode.value.trim()
            void act('add peer', 'add-peers', { id: detailTorrent.infoHash, peers: [peer] }, () => `added peer ${peer} to ${detailTorrent.name}`)
          }
          return
        }
        if (key.tab && mode.prompt === 'add') {
          void completePath(mode.value, props.cwd).then((c) => {
            const m = modeRef.current
            if (m.kind === 'input' && m.value === mode.value) setMode({ ...m, value: c.value })
            setMessage(c.candidates.length ? { text: '', candidates: c.candidates } : undefined)
          })
          return
        }
        let value = mode.value
        if (key.backspace || key.delete) value = [...value].slice(0, -1).join('')
        else if (key.ctrl && input === 'u') value = ''
        else if (key.ctrl && input === 'w') value = value.replace(/\S+\s*$/, '')
        else if (!key.ctrl && !key.meta && input && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow && !key.tab) value += input.replace(/[\r\n]+/g, '')
        setMode({ ...mode, value })
        if (mode.prompt === 'filter') setFilter(value)
        return
      }
      case 'detail': {
        if (key.escape || key.backspace || key.delete) {
          setMode({ kind: 'list' })
          return
        }
        const tabIndex = TABS.indexOf(tab)
        if (tab === 'files' && (key.leftArrow || key.rightArrow || key.return) && files.foldKey(key)) return
        if (key.rightArrow || (key.tab && !key.shift)) return switchTab(TABS[(tabIndex + 1) % TABS.length])
        if (key.leftArrow || (key.tab && key.shift)) return switchTab(TABS[(tabIndex + TABS.length - 1) % TABS.length])
        if (/^[1-5]$/.test(input)) return switchTab(TABS[Number(input) - 1])
        const count = tab === 'files' ? files.total : tab === 'peers' ? (details?.peers.length ?? 0) : 0
        if (key.downArrow || input === 'j') return setRow((r) => Math.max(0, Math.min(count - 1, r + 1)))
        if (key.upArrow || input === 'k') return setRow((r) => Math.max(0, r - 1))
        if (tab === 'files' && input === ' ') return void files.changePriority('toggle')
        if (tab === 'files' && (input === '+' || input === '=')) return void files.changePriority('up')
        if (tab === 'files' && input === '-') return void files.changePriority('down')
        if (tab === 'files' && input === 't') return files.toggleFlat()
        if (tab === 'peers' && peerKey(input)) return
        if (tab === 'pieces' && input === 'A') {
          setAvailability((a) => !a)
          wants.current.availability = !availability
          void poll()
          return
        }
        torrentKey(input, 'detail')
        return
      }
      case 'list': {
        if (key.downArrow || input === 'j') return moveSelection(selectedIndex + 1)
        if (key.upArrow || input === 'k') return moveSelection(selectedIndex - 1)
        if (key.pageDown) return moveSelection(selectedIndex + Math.max(1, rows - 6))
        if (key.pageUp) return moveSelection(selectedIndex - Math.max(1, rows - 6))
        if (input === 'g') return moveSelection(0)
        if (input === 'G') return moveSelection(visible.length - 1)
        if (key.rightArrow || (key.tab && !key.shift)) return setView(VIEWS[(VIEWS.indexOf(view) + 1) % VIEWS.length])
        if (key.leftArrow || (key.tab && key.shift)) return setView(VIEWS[(VIEWS.indexOf(view) + VIEWS.length - 1) % VIEWS.length])
        if (key.return && selected) return openDetail(selected)
        if (input === '/') {
          setMode({ kind: 'input', prompt: 'filter', value: filter, back: 'list' })
          return
        }
        if (input === 'r') return setShowRates(!ratesShown)
        if (input === 'o') return setSort(SORT_KEYS[(SORT_KEYS.indexOf(sort) + 1) % SORT_KEYS.length])
        if (input === 'O') return setDescending((d) => !d)
        if (key.escape && filter) return setFilter('')
        torrentKey(input, 'list')
        return
      }
    }
  }

  function switchTab(next: Tab) {
    setTab(next)
    setRow(0)
  }

  /** A click selects what is under it (a double click opens a torrent); the wheel moves the selection. */
  const onMouse = (m: MouseEvent) => {
    const kind = quitting.current || searchingRef.current ? 'other' : modeRef.current.kind
    const layout: ScreenLayout =
      kind === 'list'
        ? { kind, width, bodyHeight, views: counts, count: visible.length, selected: selectedIndex, listHeight: bodyHeight - ratesRows, maxQueue: visible.reduce((n, t) => Math.max(n, t.queuePosition + 1), 0) }
        : kind === 'detail'
          ? { kind, width, bodyHeight, views: counts, loaded: details !== undefined, tab, row, rowCount: tab === 'files' ? files.total : (details?.peers.length ?? 0) }
          : kind === 'bans'
            ? { kind, width, bodyHeight, views: counts, count: data.bans?.length ?? 0, row: modeRef.current.kind === 'bans' ? modeRef.current.row : 0 }
            : { kind: 'other', width, bodyHeight, views: counts }
    const { action, click } = mouseAction(layout, m, lastClick.current, Date.now())
    lastClick.current = click
    const mode = modeRef.current
    if (!action) return
    if (action.kind === 'view' && mode.kind === 'list') setView(action.view)
    else if (action.kind === 'sort') action.key === sort ? setDescending((d) => !d) : setSort(action.key)
    else if (action.kind === 'torrent') moveSelection(action.index)
    else if (action.kind === 'open' && visible[action.index]) openDetail(visible[action.index])
    else if (action.kind === 'tab') switchTab(action.tab)
    else if (action.kind === 'row' && mode.kind === 'bans') setMode({ ...mode, row: action.row })
    else if (action.kind === 'row') setRow(action.row)
    else if (action.kind === 'move' && mode.kind === 'list') moveSelection(selectedIndex + action.by)
    else if (action.kind === 'move' && mode.kind === 'bans') setMode({ ...mode, row: Math.max(0, Math.min((data.bans?.length ?? 0) - 1, mode.row + action.by)) })
    else if (action.kind === 'move') setRow((r) => Math.max(0, Math.min(layout.kind === 'detail' ? layout.rowCount - 1 : 0, r + action.by)))
  }

  // --- layout: every line fits `columns`; the frame is one row shorter than the terminal ---
  const width = Math.max(20, columns)
  const logRows = props.debug ? LOG_PANE_ROWS : 0
  const candidateRows = message?.candidates?.length ? Math.min(4, Math.ceil(message.candidates.length / 4)) : 0
  const bodyHeight = Math.max(3, rows - 1 - 1 - 1 - 1 - logRows - candidateRows)
  // The session's rate graph: shown by default when the terminal has room for it and the list.
  const ratesShown = showRates ?? rows >= 30
  const ratesRows = ratesShown && !inDetail && mode.kind !== 'help' && mode.kind !== 'bans' ? Math.max(4, Math.min(10, Math.floor(bodyHeight / 3))) : 0
  const counts = useMemo(() => VIEWS.map((v) => [v, v === 'all' ? data.torrents.length : data.torrents.reduce((n, t) => n + (inView(t, v) ? 1 : 0), 0)] as const), [data.torrents])
  const nowMs = (data.details?.nowMs ?? Date.now()) + (Date.now() - (data.detailsAtMs || Date.now()))
  const palette = props.noColor ? NO_COLOURS : COLOURS

  return (
    <PaletteContext.Provider value={palette}>
      <Box flexDirection="column" width={width}>
        <TopLine counts={counts} view={view} filter={filter} />
        {searching ? (
          <SearchPanel
            backend={backend}
            width={width}
            height={bodyHeight}
            saveDir={props.saveDir} crawl={data.status?.crawl}
            onClose={(m) => {
              setSearching(false)
              if (m) setMessage(m)
            }}
          />
        ) : mode.kind === 'help' ? (
          <HelpOverlay width={width} height={bodyHeight} first={mode.first} />
        ) : mode.kind === 'bans' ? (
          <BansView bans={data.bans} row={mode.row} width={width} height={bodyHeight} />
        ) : inDetail ? (
          <DetailView
            details={details}
            tab={tab}
            row={row}
            width={width}
            height={bodyHeight}
            nowMs={nowMs}
            history={data.detailRates}
            sampleMs={refreshMs}
            availability={availability}
          />
        ) : (
          <TorrentList torrents={visible} selected={selectedIndex} width={width} height={bodyHeight - ratesRows} sort={sort} descending={descending} />
        )}
        {ratesRows > 0 && <RateGraph history={data.rates} width={width} height={ratesRows} sampleMs={refreshMs} />}
        {props.debug && <LogPane log={data.log} width={width} rows={logRows} />}
        <BottomLine mode={mode} message={data.lost ? { text: data.lost, error: true } : message} width={width} />
        {candidateRows > 0 && <Candidates names={message!.candidates!} width={width} rows={candidateRows} />}
        <StatusBar status={data.status} attachedTo={backend.attachedTo} width={width} />
      </Box>
    </PaletteContext.Provider>
  )
}
