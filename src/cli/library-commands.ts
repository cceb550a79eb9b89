// `friendtorrent list|pause|resume|verify|remove|queue`: sent to the running
// session over its control socket; with no session running they act on the
// stored library directly (the next `seed` picks the change up).
import { rm } from 'node:fs/promises'
import { FriendError } from '../core/types.ts'
import { dataRoot, parseTorrentFile } from '../metainfo/metainfo.ts'
import { resolveInside } from '../metainfo/safe-path.ts'
import type { TorrentSummary } from '../session/session.ts'
import { countOf, fileRows, withPriority, type FileRow } from '../session/file-choices.ts'
import { StateStore } from '../session/state-store.ts'
import type { LibraryEntry } from '../session/state-store.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from '../tui/format/format.ts'
import { FILE_PRIORITIES, type FilePriority } from '../storage/file-priorities.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import { ControlClient } from './control-client.ts'
import { parseCommandLine } from './command-line.ts'
import type { CliIo } from './io.ts'
import { controlSocketPath, type FilesPage } from './session-control.ts'
import { isoTime } from '../core/iso-time.ts'

/**
 * Rows of `files` asked from the session and written at once: ~100 KB of
 * JSON, under V8's large-object size, so neither side's heap grows with a
 * page (5,000 rows took twice the time in both processes).
 */
const FILES_PAGE = 1000

export const LIBRARY_USAGE = `usage: friendtorrent list [--json]
       friendtorrent pause|resume|verify <torrent>
       friendtorrent remove <torrent> [--delete-data]
       friendtorrent queue <torrent> up|down
       friendtorrent limit [--up KiB/s] [--down KiB/s] [<torrent>]   (0 = no limit; the session's limits without <torrent>)
       friendtorrent files <torrent> [--json]
       friendtorrent priority <torrent> <N[,N…]|all> skip|low|normal|high

  <torrent> is an info hash, a unique prefix of one, or the torrent's name.`

/** Runs `command` in the running session, or undefined when none runs. */
export async function inSession(io: CliIo, command: string, args: Record<string, unknown>): Promise<unknown | undefined> {
  const client = await ControlClient.connect(controlSocketPath(await stateDirOf(io)))
  if (!client) return undefined
  try {
    return await client.call(command, args)
  } finally {
    client.close()
  }
}

function usage(io: CliIo): number {
  io.out(LIBRARY_USAGE)
  return 0
}

export async function openStore(io: CliIo): Promise<StateStore> {
  return StateStore.open(await stateDirOf(io))
}

async function stateDirOf(io: CliIo): Promise<string> {
  return resolveStateDir(await loadConfig(paths(io.env).configFile), io.env, io.cwd)
}

export function find(store: StateStore, id: string): LibraryEntry {
  const key = id.toLowerCase()
  const matches = store.list().filter((e) => e.infoHash === key || e.infoHash.startsWith(key) || e.name === id)
  if (matches.length === 1) return matches[0]
  throw new FriendError(matches.length === 0 ? `no torrent "${id}" in the library` : `"${id}" matches ${matches.length} torrents; give more of the info hash`)
}

async function offlineSummary(store: StateStore, e: LibraryEntry): Promise<TorrentSummary> {
  const meta = await parseTorrentFile(await store.torrentFile(e.infoHash)).catch(() => undefined)
  return {
    infoHash: e.infoHash,
    name: e.name,
    state: e.state,
    error: e.error ?? null,
    savePath: e.savePath,
    sizeBytes: meta?.length ?? 0,
    progress: e.state === 'seeding' ? 1 : meta?.length ? (e.verifiedBytes ?? 0) / meta.length : 0,
    downloadRateBytesPerSec: 0,
    uploadRateBytesPerSec: 0,
    downloadedBytes: e.downloadedBytes,
    uploadedBytes: e.uploadedBytes,
    connectedPeers: 0,
    knownPeers: 0,
    seeds: 0,
    etaSeconds: null,
    queuePosition: e.queuePosition,
    addedAt: isoTime(e.addedAtMs),
    completedAt: e.completedAtMs ? isoTime(e.completedAtMs) : null,
  }
}

/** The options every library command takes, with its own. */
function parse<O extends Record<string, { type: 'string' | 'boolean' }>>(command: string, argv: string[], options: O, allowPositionals = true) {
  return parseCommandLine(command, { args: argv, allowPositionals, options: { ...options, help: { type: 'boolean', short: 'h' } } as O & { help: { type: 'boolean'; short: 'h' } } })
}

export async function runList(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse('list', argv, { json: { type: 'boolean' } }, false)
  if (values.help) return usage(io)
  let torrents = (await inSession(io, 'list', {})) as TorrentSummary[] | undefined
  const running = torrents !== undefined
  if (!torrents) {
    const store = await openStore(io)
    torrents = await Promise.all(store.list().map((e) => offlineSummary(store, e)))
  }
  if (values.json) {
    io.out(JSON.stringify(torrents, null, 2))
    return 0
  }
  if (torrents.length === 0) io.out('the library is empty; add a torrent with `friendtorrent add`')
  for (const t of torrents) io.out(listLine(t, running))
  if (!running) io.out('(no session is running: `friendtorrent seed` starts one)')
  return 0
}

/** One torrent in `list`; rates, peers and an ETA only from a running session. */
export function listLine(t: TorrentSummary, running: boolean): string {
  // An ETA only means something while downloading: a seed has none (not "0s").
  const eta = t.state === 'downloading' ? `  ETA ${formatEta(t.etaSeconds ?? undefined)}` : ''
  const rates = running ? `  ↓ ${formatRate(t.downloadRateBytesPerSec)} ↑ ${formatRate(t.uploadRateBytesPerSec)}  peers ${t.connectedPeers}${eta}` : ''
  return `${t.infoHash.slice(0, 8)}  ${t.state.padEnd(11)} ${formatPercent(t.progress).padStart(6)}  ${formatBytes(t.sizeBytes).padStart(10)}  ${t.name}${rates}${t.error ? `  (${t.error})` : ''}`
}

/** `files <torrent> [--json]`: its files, numbered, with size and priority (from the session or the library). */
export async function runFiles(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('files', argv, { json: { type: 'boolean' } })
  if (values.help) return usage(io)
  const id = positionals[0]
  if (!id || positionals.length > 1) throw new FriendError('files needs one torrent: its info hash (or a unique prefix) or its name')
  // Written a page (1,000 lines) at a time: 100,000 files make one ~10 MB string otherwise, twice over.
  const line = values.json ? (f: FileRow) => `  ${JSON.stringify(f)}` : (f: FileRow) => `${String(f.index).padStart(4)}  ${f.priority.padEnd(6)}  ${formatBytes(f.sizeBytes).padStart(10)}  ${f.path}`
  let started = false
  const write = (rows: FileRow[], more: boolean) => {
    if (values.json && !started) io.out('[')
    started = true
    if (rows.length > 0) io.out(rows.map(line).join(values.json ? ',\n' : '\n') + (values.json && more ? ',' : ''))
  }
  if (!(await filesFromSession(io, id, write))) {
    const store = await openStore(io)
    const entry = find(store, id)
    const files = fileRows(await parseTorrentFile(await store.torrentFile(entry.infoHash)), entry.filePriorities)
    for (let at = 0; at < files.length || at === 0; at += FILES_PAGE) write(files.slice(at, at + FILES_PAGE), at + FILES_PAGE < files.length)
  }
  if (values.json) io.out(']')
  return 0
}

/**
 * Writes the running session's rows a page at a time, asking for the next
 * page before writing this one; false when no session runs. Pages keep both
 * sides from building, sending and parsing one ~10 MB line for 100,000 files.
 * (Two pages ahead was no faster, and used more CPU.)
 */
async function filesFromSession(io: CliIo, id: string, write: (rows: FileRow[], more: boolean) => void): Promise<boolean> {
  const client = await ControlClient.connect(controlSocketPath(await stateDirOf(io)))
  if (!client) return false
  try {
    const page = (from: number) => client.call('files', { id, from, count: FILES_PAGE }) as Promise<FilesPage | FileRow[]>
    let next = page(0)
    for (let from = 0; ; ) {
      const answer = await next
      // A session from before pages answers every row at once.
      const { total, rows } = Array.isArray(answer) ? { total: answer.length, rows: answer } : answer
      from += rows.length
      const more = rows.length > 0 && from < total
      if (more) next = page(from)
      write(rows, more)
      if (!more) return true
    }
  } finally {
    client.close()
  }
}

/** `priority <torrent> <N,N…|all> <priority>`: in the running session at once (which checks the numbers), else in the library. */
export async function runPriority(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('priority', argv, {})
  if (values.help) return usage(io)
  const [id, which, priority] = positionals
  if (!id || !which || !priority || positionals.length > 3) throw new FriendError('usage: friendtorrent priority <torrent> <N[,N…]|all> skip|low|normal|high')
  if (!FILE_PRIORITIES.includes(priority as FilePriority)) throw new FriendError(`a priority is one of ${FILE_PRIORITIES.join(', ')}, got "${priority}"`)
  const chosen: number[] | 'all' = which === 'all' ? 'all' : which.split(',').map((n) => Number(n.trim()))
  if (chosen !== 'all' && chosen.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new FriendError(`files are numbers from \`friendtorrent files ${id}\` (N or N,N,…) or "all", not "${which}"`)
  const said = (name: string, count: number, note = '') => io.out(`${name}: ${count} file${count === 1 ? '' : 's'} set to ${priority}${note}`)
  const done = (await inSession(io, 'priority', { id, files: chosen, priority })) as { name: string; files: number } | undefined
  if (done) {
    said(done.name, done.files)
    return 0
  }
  const store = await openStore(io)
  const entry = find(store, id)
  const meta = await parseTorrentFile(await store.torrentFile(entry.infoHash))
  const priorities = withPriority(meta, entry.name, entry.filePriorities, chosen, priority as FilePriority)
  await store.update(entry.infoHash, { filePriorities: priorities })
  await store.flush()
  said(entry.name, countOf(meta, chosen), ' (no session running: the library is updated)')
  return 0
}

/** Rate limits change in the running session; without one, the session-wide ones live in config.json. */
export async function runLimit(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('limit', argv, { up: { type: 'string' }, down: { type: 'string' } })
  if (values.help) return usage(io)
  const kib = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined
    const n = Number(text)
    if (!Number.isFinite(n) || n < 0) throw new FriendError(`--${name} is KiB/s, a number ≥ 0 (0 = no limit), got "${text}"`)
    return n
  }
  if (positionals.length > 1) throw new FriendError(`limit takes at most one torrent, got ${positionals.length}; see friendtorrent limit --help`)
  const args = { id: positionals[0], upKiBps: kib(values.up, 'up'), downKiBps: kib(values.down, 'down') }
  const result = (await inSession(io, 'limit', args)) as { upKiBps: number; downKiBps: number } | undefined
  if (result === undefined) {
    throw new FriendError(`no session is running; set uploadLimitKiBps / downloadLimitKiBps in ${paths(io.env).configFile} for the next one`)
  }
  const show = (v: number) => (v === 0 ? 'unlimited' : `${v} KiB/s`)
  io.out(`${positionals[0] ?? 'session'}: up ${show(result.upKiBps)}, down ${show(result.downKiBps)}`)
  return 0
}

export async function runLibraryCommand(command: 'pause' | 'resume' | 'verify' | 'remove' | 'queue', argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(command, argv, command === 'remove' ? { 'delete-data': { type: 'boolean' } } : {})
  if (values.help) return usage(io)
  const id = positionals[0]
  if (!id) throw new FriendError(`${command} needs a torrent: its info hash (or a unique prefix) or its name`)
  const direction = positionals[1]
  if (command === 'queue' && (direction !== 'up' && direction !== 'down' || positionals.length > 2)) throw new FriendError('usage: friendtorrent queue <torrent> up|down')
  if (command !== 'queue' && positionals.length > 1) throw new FriendError(`${command} takes one torrent, got ${positionals.length}; see friendtorrent ${command} --help`)
  const args = { id, deleteData: values['delete-data'] === true, direction }
  const result = await inSession(io, command, args)
  if (result !== undefined) {
    io.out(command === 'remove' ? `removed ${id}` : command === 'queue' ? 'moved' : `${command}: ${(result as TorrentSummary).name} is now ${(result as TorrentSummary).state}`)
    return 0
  }
  const store = await openStore(io)
  const entry = find(store, id)
  switch (command) {
    case 'pause':
      await store.update(entry.infoHash, { state: 'paused' })
      break
    case 'resume':
      if (entry.state === 'paused' || entry.state === 'error') await store.update(entry.infoHash, { state: 'queued', error: undefined })
      break
    case 'verify':
      // Without a session nothing runs the check now: forgetting the resume data makes the next start re-hash every piece.
      await store.clearResume(entry.infoHash)
      break
    case 'remove': {
      const meta = await parseTorrentFile(await store.torrentFile(entry.infoHash)).catch(() => undefined)
      await store.remove(entry.infoHash)
      if (values['delete-data'] && meta) await rm(resolveInside(entry.savePath, dataRoot(meta)), { recursive: true, force: true })
      break
    }
    case 'queue': {
      const ordered = store.list()
      const i = ordered.findIndex((e) => e.infoHash === entry.infoHash)
      const j = direction === 'up' ? i - 1 : i + 1
      if (j >= 0 && j < ordered.length) {
        const [a, b] = [ordered[i].queuePosition, ordered[j].queuePosition]
        await store.update(ordered[i].infoHash, { queuePosition: b })
        await store.update(ordered[j].infoHash, { queuePosition: a })
      }
      break
    }
  }
  await store.flush()
  io.out(`${command}: ${entry.name} (no session running: the library is updated${command === 'verify' ? '; it is re-checked when it next starts' : ''})`)
  return 0
}
