// The dashboard's container: polls the session (list, status, the open
// torrent's details, new log lines) a few times a second and keeps the
// result in one state update per poll, so it redraws at most that often;
// turns each key into at most one session command. The components it renders
// take props only. Errors from commands show in the message line, never as a crash.
import { homedir } from 'node:os'
import { resolve } from 'node:path'
import { Box, Text, useInput, useStdout } from 'ink'
import type { Key } from 'ink'
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { TorrentDetails, TorrentSummary } from '../session/session.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import type { LogLine } from '../session/event-log.ts'
import type { DashboardBackend } from './backend.ts'
import { completePath } from './complete-path.ts'
import { DetailView, TABS } from './detail-view.tsx'
import type { Tab } from './detail-view.tsx'
import { formatBytes } from './format/format.ts'
import { HelpOverlay } from './help-overlay.tsx'
import { SearchPanel } from './search-panel.tsx'
import { fit, SORT_KEYS, splitCommandLine, VIEWS, visibleTorrents } from './model.ts'
import type { SortKey, View } from './model.ts'
import { BottomLine, Candidates } from './bottom-line.tsx'
import type { Message, Mode } from './bottom-line.tsx'
import { StatusBar } from './status-bar.tsx'
import type { DashboardStatus } from './status-bar.tsx'
import { TorrentList } from './torrent-list.tsx'

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
}

interface Data {
  torrents: TorrentSummary[]
  status?: DashboardStatus
  details?: TorrentDetails
  /** Date.now() when `details` arrived, to run countdowns between polls. */
  detailsAtMs: number
  log: LogLine[]
  /** The session is unreachable (a headless session that stopped). */
  lost?: string
}

const LOG_PANE_ROWS = 6
const PRIORITY_UP: Record<FilePriority, FilePriority> = { skip: 'low', low: 'normal', normal: 'high', high: 'high' }
const PRIORITY_DOWN: Record<FilePriority, FilePriority> = { skip: 'skip', low: 'skip', normal: 'low', high: 'normal' }
const REFUSED_VERBS = new Set(['seed', 'tracker', 'help', undefined])

function useTerminalSize(fixed?: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout()
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 }
  const [size, setSize] = useState(read)
  useEffect(() => {
    if (fixed) return
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout, fixed])
  return size
}

export function Dashboard(props: DashboardProps) {
  const { backend, refreshMs = 500 } = props
  const { columns, rows } = useTerminalSize(props.size)
  const [data, setData] = useState<Data>({ torrents: [], detailsAtMs: 0, log: [] })
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
  const [, setTick] = useState(0)
  const quitting = useRef(false)
  // The index search (f) holds the keyboard while open (search-panel.tsx).
  const [searching, setSearchingState] = useState(false)
  const searchingRef = useRef(false)
  const setSearching = (open: boolean) => {
    searchingRef.current = open
    setSearchingState(open)
  }

  const visible = useMemo(() => visibleTorrents(data.torrents, { view, filter, sort, descending }), [data.torrents, view, filter, sort, descending])
  const foundIndex = visible.findIndex((t) => t.infoHash === selectedHash)
  const lastIndex = useRef(0)
  const selectedIndex = foundIndex >= 0 ? foundIndex : Math.min(lastIndex.current, Math.max(0, visible.length - 1))
  lastIndex.current = selectedIndex
  const selected: TorrentSummary | undefined = visible[selectedIndex]
  const inDetail = mode.kind === 'detail' || (mode.kind !== 'list' && mode.back === 'detail')
  const detailTorrent = data.torrents.find((t) => t.infoHash === detailHash)

  // What the poller reads: refs, so one interval serves every state.
  const pollState = useRef({ detailHash: undefined as string | undefined, logSeq: 0, busy: false, again: false })
  pollState.current.detailHash = inDetail ? detailHash : undefined

  const poll = useCallback(async () => {
    const ps = pollState.current
    if (ps.busy) {
      ps.again = true
      return
    }
    ps.busy = true
    try {
      const detailHash = ps.detailHash
      const [torrents, status, details, log] = await Promise.all([
        backend.call('list') as Promise<TorrentSummary[]>,
        backend.call('status') as Promise<DashboardStatus>,
        detailHash ? (backend.call('details', { id: detailHash }) as Promise<TorrentDetails>).catch(() => undefined) : undefined,
        backend.call('events', { since: ps.logSeq }) as Promise<LogLine[]>,
      ])
      // The first answer is the session's history: it fills the log pane, not the message line.
      const history = ps.logSeq === 0
      if (log.length) ps.logSeq = log[log.length - 1].seq
      if (quitting.current) return
      setData((d) => ({ torrents, status, details, detailsAtMs: Date.now(), log: log.length ? d.log.concat(log).slice(-200) : d.log }))
      if (log.length && !props.debug && !history) {
        const last = log[log.length - 1]
        setMessage({ text: last.text, error: /^(error|warning)/.test(last.text) })
      }
    } catch (err) {
      if (!quitting.current) setData((d) => ({ ...d, lost: `the session is unreachable: ${(err as Error).message}; q quits` }))
    } finally {
      ps.busy = false
      if (ps.again) {
        ps.again = false
        void poll()
      }
    }
  }, [backend, props.debug])

  useEffect(() => {
    void poll()
    const timer = setInterval(() => {
      void poll()
      setTick((n) => n + 1)
    }, refreshMs)
    return () => clearInterval(timer)
  }, [poll, refreshMs])

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

  const quit = () => {
    if (quitting.current) return
    quitting.current = true
    setMessage({ text: backend.attachedTo ? 'detaching…' : 'stopping: telling trackers, saving state…' })
    props.onQuit()
  }

  const moveSelection = (to: number) => {
    const t = visible[Math.max(0, Math.min(visible.length - 1, to))]
    if (t) setSelectedHash(t.infoHash)
  }

  const addTorrent = async (input: string) => {
    const value = input.trim()
    if (!value) return
    const savePath = props.saveDir
    if (/^magnet:/i.test(value) || /^([0-9a-f]{40}|[a-z2-7]{32})$/i.test(value)) {
      await act('add', 'add', { magnet: value, savePath, cwd: props.cwd }, (r) => addedText(r))
      return
    }
    if (/^https?:\/\//i.test(value)) {
      await act('add', 'add', { url: value, savePath, cwd: props.cwd }, (r) => addedText(r))
      return
    }
    // The session reads the file itself (same machine, same user): megabytes of torrent never cross the control channel.
    const path = resolve(props.cwd, value.replace(/^~(?=\/|$)/, homedir()))
    await act('add', 'add', { path, savePath, cwd: props.cwd }, (r) => addedText(r))
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

  const changePriority = async (how: 'toggle' | 'up' | 'down') => {
    const d = data.details
    const f = d?.files[row]
    if (!d || !f) return
    const priority = how === 'toggle' ? (f.priority === 'skip' ? 'normal' : 'skip') : how === 'up' ? PRIORITY_UP[f.priority] : PRIORITY_DOWN[f.priority]
    if (priority === f.priority) return
    await act('priority', 'priority', { id: d.summary.infoHash, files: [f.index], priority }, () => `${f.path}: ${priority}`)
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

  // Ink subscribes a handler after a render's effects run; keys that come sooner
  // must still see the latest state, so the subscription calls the newest handler.
  const onKey = useRef<(input: string, key: Key) => void>(() => {})
  useInput((input, key) => onKey.current(input, key))
  onKey.current = (input, key) => {
    if (key.ctrl && input === 'c') return quit()
    if (quitting.current || searchingRef.current) return
    const mode = modeRef.current
    switch (mode.kind) {
      case 'help':
        setMode({ kind: mode.back })
        return
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
        if (key.rightArrow || (key.tab && !key.shift)) return switchTab(TABS[(tabIndex + 1) % TABS.length])
        if (key.leftArrow || (key.tab && key.shift)) return switchTab(TABS[(tabIndex + TABS.length - 1) % TABS.length])
        if (/^[1-4]$/.test(input)) return switchTab(TABS[Number(input) - 1])
        const count = tab === 'files' ? (data.details?.files.length ?? 0) : tab === 'peers' ? (data.details?.peers.length ?? 0) : 0
        if (key.downArrow || input === 'j') return setRow((r) => Math.max(0, Math.min(count - 1, r + 1)))
        if (key.upArrow || input === 'k') return setRow((r) => Math.max(0, r - 1))
        if (tab === 'files' && input === ' ') return void changePriority('toggle')
        if (tab === 'files' && (input === '+' || input === '=')) return void changePriority('up')
        if (tab === 'files' && input === '-') return void changePriority('down')
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
        if (key.return && selected) {
          setSelectedHash(selected.infoHash)
          setDetailHash(selected.infoHash)
          setRow(0)
          setMode({ kind: 'detail' })
          pollState.current.detailHash = selected.infoHash
          void poll()
          return
        }
        if (input === '/') {
          setMode({ kind: 'input', prompt: 'filter', value: filter, back: 'list' })
          return
        }
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

  // --- layout: every line fits `columns`; the frame is one row shorter than the terminal ---
  const width = Math.max(20, columns)
  const logRows = props.debug ? LOG_PANE_ROWS : 0
  const candidateRows = message?.candidates?.length ? Math.min(4, Math.ceil(message.candidates.length / 4)) : 0
  const bodyHeight = Math.max(3, rows - 1 - 1 - 1 - 1 - logRows - candidateRows)
  const counts = VIEWS.map((v) => [v, visibleTorrents(data.torrents, { view: v, filter: '', sort: 'queue', descending: false }).length] as const)
  const nowMs = (data.details?.nowMs ?? Date.now()) + (Date.now() - (data.detailsAtMs || Date.now()))

  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color="cyan">
          friendtorrent
        </Text>
        {counts.map(([v, n]) => (
          <Text key={v} inverse={v === view}>
            {` ${v} ${n} `}
          </Text>
        ))}
        {filter ? <Text color="yellow">{` /${filter}`}</Text> : ''}
      </Text>
      {searching ? (
        <SearchPanel
          backend={backend}
          width={width}
          height={bodyHeight}
          saveDir={props.saveDir}
          onClose={(m) => {
            setSearching(false)
            if (m) setMessage(m)
          }}
        />
      ) : mode.kind === 'help' ? (
        <HelpOverlay width={width} height={bodyHeight} />
      ) : inDetail ? (
        <DetailView details={data.details?.summary.infoHash === detailHash ? data.details : undefined} tab={tab} row={row} width={width} height={bodyHeight} nowMs={nowMs} />
      ) : (
        <TorrentList torrents={visible} selected={selectedIndex} width={width} height={bodyHeight} sort={sort} descending={descending} />
      )}
      {props.debug && (
        <Box flexDirection="column" height={logRows}>
          <Text dimColor>{fit('── log ' + '─'.repeat(width), width)}</Text>
          {data.log.slice(-(logRows - 1)).map((l) => (
            <Text key={`${l.seq}-${l.atMs}`} wrap="truncate" dimColor={!/^(error|warning)/.test(l.text)} color={/^(error|warning)/.test(l.text) ? 'red' : undefined}>
              {fit(`${new Date(l.atMs).toTimeString().slice(0, 8)} ${l.text}`, width)}
            </Text>
          ))}
        </Box>
      )}
      <BottomLine mode={mode} message={data.lost ? { text: data.lost, error: true } : message} width={width} />
      {candidateRows > 0 && <Candidates names={message!.candidates!} width={width} rows={candidateRows} />}
      <StatusBar status={data.status} attachedTo={backend.attachedTo} width={width} />
    </Box>
  )
}

function addedText(result: unknown): string {
  const r = result as { summary: TorrentSummary; added: boolean; note?: string }
  return r.note ?? `added ${r.summary.name}${r.summary.sizeBytes ? ` (${formatBytes(r.summary.sizeBytes)})` : ''} → ${r.summary.savePath}`
}
