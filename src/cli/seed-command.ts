// `friendtorrent seed [--download]`: the headless session. Resumes the
// library and seeds (and downloads, with --download), logging one plain line
// per event and a summary every minute, until SIGINT/SIGTERM; then it tells
// the trackers, saves resume data and exits 0. Listens on the control socket
// so `friendtorrent add|list|pause|...` reach it from another process.
// With --pid-file it writes its process id there (atomically) once it runs,
// and removes the file when it stops cleanly.
import { rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import { isoTime } from '../core/iso-time.ts'
import { parseCommandLine } from './command-line.ts'
import { writeFileAtomic } from '../core/atomic-write.ts'
import { errorMessage, FriendError } from '../core/types.ts'
import type { TorrentSummary } from '../session/session.ts'
import { formatPercent, formatRate } from '../tui/format/format.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import type { CliIo } from './io.ts'
import { hostSession } from './session-host.ts'

export const SEED_USAGE = `usage: friendtorrent seed [--download] [--pid-file PATH]

  Runs the library headless until SIGINT/SIGTERM, seeding complete torrents.
      --download       also download incomplete torrents
      --pid-file PATH  write this process's id to PATH once running; removed at a clean stop`

const SUMMARY_EVERY_MS = 60_000

export async function runSeed(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('seed', { args: argv, options: { download: { type: 'boolean' }, 'pid-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.out(SEED_USAGE)
    return 0
  }
  const where = paths(io.env)
  const config = await loadConfig(where.configFile)
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const log = (line: string) => io.out(`${isoTime()} ${line}`)

  const { session, control, close } = await hostSession({
    config,
    stateDir,
    cwd: io.cwd,
    saveDir: config.downloadDir,
    download: Boolean(values.download),
    onLog: (line) => log(line.text),
  })
  const pidFile = values['pid-file'] === undefined ? undefined : resolve(io.cwd, values['pid-file'])
  if (pidFile) {
    try {
      await writeFileAtomic(pidFile, `${process.pid}\n`, 0o644)
    } catch (err) {
      await close()
      throw new FriendError(`cannot write the pid file ${pidFile}: ${errorMessage(err)}`)
    }
  }
  await session.start()
  const torrents = session.list()
  log(`session on port ${session.port}: ${torrents.length} torrent${torrents.length === 1 ? '' : 's'}, control socket ${control.path}`)
  const summary = setInterval(() => log(summaryLine(session.list())), SUMMARY_EVERY_MS)
  summary.unref()

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  log(`${signal}: stopping (telling trackers, saving resume data)…`)
  clearInterval(summary)
  await close()
  if (pidFile) await rm(pidFile, { force: true })
  log('stopped')
  return 0
}

export function summaryLine(torrents: TorrentSummary[]): string {
  const by = (s: string) => torrents.filter((t) => t.state === s).length
  const down = torrents.reduce((n, t) => n + t.downloadRateBytesPerSec, 0)
  const up = torrents.reduce((n, t) => n + t.uploadRateBytesPerSec, 0)
  const peers = torrents.reduce((n, t) => n + t.connectedPeers, 0)
  const active = torrents.filter((t) => t.state === 'downloading').map((t) => `${t.name} ${formatPercent(t.progress)}`)
  return `summary: ${by('seeding')} seeding, ${by('downloading')} downloading, ${by('queued')} queued, ${by('paused')} paused, ${by('error')} error; ↓ ${formatRate(down)} ↑ ${formatRate(up)}; ${peers} peers${active.length ? `; ${active.join(', ')}` : ''}`
}
