// Big-torrent benchmark: a `friendtorrent seed` with an empty library is
// handed, one after the other, (1) 100,000 files of 1,000 bytes in 100
// folders (a ~5 MB .torrent) and (2) 500,000 pieces of 64 KiB over one
// sparse file of zeros (~30 GiB, a ~10 MB .torrent), both with their data
// already on disk. Per torrent, as a user would see it from another shell:
// `add` (to its return), the check (until `list` says seeding), `files
// --json`, `priority all skip` and back, `details` (what the dashboard's
// files tab asks for), then SIGTERM and a new `seed`: the time until the
// torrent seeds again from its resume data. Peak RSS is the session's over
// all of it. Data is made once and cached under the bench folder.
import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlClient } from '../src/cli/control-client.ts'
import { controlSocketPath } from '../src/cli/session-control.ts'
import { buildManyFilesTorrent, buildZeroPiecesTorrent, writeManyFiles, writeZeroFile } from '../test/helpers/big-torrents.ts'
import { CLI_PATH, runCli } from '../test/helpers/cli.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { fixed, formatTable, lastLines, oneLine, peakRssBytes, sleep } from './measure.ts'
import { startSeedSession, stopSeedSession, writeSeedingLibrary } from './our-session.ts'

export interface BigSectionOptions {
  benchDir: string
  timeoutMs: number
  cpuProfDir?: string
  /** One torrent's label only (e.g. "100,000 files"); both when undefined. */
  only?: string
}

export interface BigRow {
  torrent: string
  ok: boolean
  torrentBytes?: number
  files?: number
  pieces?: number
  addMs?: number
  checkMs?: number
  filesJsonMs?: number
  skipAllMs?: number
  unskipAllMs?: number
  detailsMs?: number
  resumeMs?: number
  peakRssMB?: number
  error?: string
}

const POLL_MS = 100
const execFileAsync = promisify(execFile)
const RSS_GOAL_MB = 120

interface BigInput {
  label: string
  torrentPath: string
  saveDir: string
  infoHashHex: string
  files: number
  pieces: number
}

async function ensureInputs(benchDir: string): Promise<BigInput[]> {
  const root = join(benchDir, 'big')
  await mkdir(root, { recursive: true })
  const many = buildManyFilesTorrent({ name: 'many-files', fileCount: 100_000, folderCount: 100, length: () => 1000, pieceLength: 256 * 1024 })
  const manyDir = join(root, 'many-files-data')
  if (!existsSync(join(root, 'many-files.complete'))) {
    console.log(`big: writing 100,000 files of 1,000 bytes under ${manyDir} (once)…`)
    await rm(manyDir, { recursive: true, force: true })
    await writeManyFiles(many, manyDir)
    writeFileSync(join(root, 'many-files.complete'), 'done\n')
  }
  await writeFile(join(root, 'many-files.torrent'), many.torrent)
  const zeros = buildZeroPiecesTorrent({ name: 'zeros.bin', pieceCount: 500_000, pieceLength: 64 * 1024 })
  const zeroDir = join(root, 'zeros-data')
  await mkdir(zeroDir, { recursive: true })
  if (!existsSync(join(zeroDir, 'zeros.bin'))) await writeZeroFile(join(zeroDir, 'zeros.bin'), zeros.length)
  await writeFile(join(root, 'zeros.torrent'), zeros.torrent)
  return [
    { label: '100,000 files', torrentPath: join(root, 'many-files.torrent'), saveDir: manyDir, infoHashHex: many.infoHashHex, files: 100_000, pieces: Math.ceil(100_000_000 / (256 * 1024)) },
    { label: '500,000 pieces', torrentPath: join(root, 'zeros.torrent'), saveDir: zeroDir, infoHashHex: zeros.infoHashHex, files: 1, pieces: 500_000 },
  ]
}

export async function runBigSection(options: BigSectionOptions): Promise<BigRow[]> {
  const inputs = (await ensureInputs(options.benchDir)).filter((i) => !options.only || i.label === options.only)
  const rows: BigRow[] = []
  for (const input of inputs) rows.push(await runOne(input, options).catch((err: unknown): BigRow => ({ torrent: input.label, ok: false, error: oneLine(err) })))
  return rows
}

async function runOne(input: BigInput, options: BigSectionOptions): Promise<BigRow> {
  const row: BigRow = { torrent: input.label, ok: false, files: input.files, pieces: input.pieces }
  const home = tempDir('bench-big-home')
  let session: Awaited<ReturnType<typeof startSeedSession>> | undefined
  let peak = 0
  const sampler = setInterval(() => {
    if (session) peak = Math.max(peak, peakRssBytes(session.proc.pid) ?? 0)
  }, POLL_MS)
  try {
    const { env, stateDir } = await writeSeedingLibrary(home.path, await freePort(), [])
    const cli = async (args: string[]) => {
      const r = await runCli(args, { timeoutMs: options.timeoutMs, homeDir: home.path, env })
      if (r.code !== 0) throw new Error(`friendtorrent ${args[0]} exited ${r.code}: ${lastLines(r.stderr || r.stdout, 2)}`)
      return r
    }
    const seedingWithin = async (client: ControlClient): Promise<void> => {
      const deadline = performance.now() + options.timeoutMs
      for (;;) {
        const list = (await client.call('list')) as { infoHash: string; state: string; error: string | null }[]
        const t = list.find((x) => x.infoHash === input.infoHashHex)
        if (t?.state === 'seeding') return
        if (t?.state === 'error') throw new Error(`the session says: ${t.error}`)
        if (performance.now() > deadline) throw new Error(`not seeding within ${options.timeoutMs / 1000} s (state ${t?.state ?? 'absent'})`)
        await sleep(POLL_MS)
      }
    }
    session = await startSeedSession(env, options.timeoutMs, options.cpuProfDir)
    const client = await ControlClient.connect(controlSocketPath(stateDir))
    if (!client) throw new Error('cannot reach the control socket')
    try {
      console.log(`big: ${input.label}: add, check, files, priorities…`)
      const added = await cli(['add', input.torrentPath, '-o', input.saveDir])
      row.addMs = added.durationMs
      const checkStarted = performance.now()
      await seedingWithin(client)
      row.checkMs = performance.now() - checkStarted
      // runCli keeps 1 MiB of output; the list of 100,000 files is ~15 MB, all read here.
      const listedStarted = performance.now()
      const { stdout } = await execFileAsync(CLI_PATH, ['files', input.infoHashHex, '--json'], { env, maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs })
      row.filesJsonMs = performance.now() - listedStarted
      const count = (JSON.parse(stdout) as unknown[]).length
      if (count !== input.files) throw new Error(`files --json lists ${count} files, the torrent has ${input.files}`)
      row.skipAllMs = (await cli(['priority', input.infoHashHex, 'all', 'skip'])).durationMs
      row.unskipAllMs = (await cli(['priority', input.infoHashHex, 'all', 'normal'])).durationMs
      const detailsStarted = performance.now()
      await client.call('details', { id: input.infoHashHex })
      row.detailsMs = performance.now() - detailsStarted
    } finally {
      client.close()
    }
    const stopped = await stopSeedSession(session.proc, options.timeoutMs)
    session = undefined
    if (stopped.exitCode !== 0) throw new Error(`friendtorrent seed exited ${stopped.exitCode} on SIGTERM`)

    console.log(`big: ${input.label}: restart and resume…`)
    const restarted = performance.now()
    session = await startSeedSession(env, options.timeoutMs, options.cpuProfDir)
    const again = await ControlClient.connect(controlSocketPath(stateDir))
    if (!again) throw new Error('cannot reach the control socket after the restart')
    try {
      await seedingWithin(again)
      row.resumeMs = performance.now() - restarted
    } finally {
      again.close()
    }
    peak = Math.max(peak, peakRssBytes(session.proc.pid) ?? 0)
    const logs = session.proc.logs()
    await stopSeedSession(session.proc, options.timeoutMs)
    session = undefined
    if (!/resumed .*: \d+ pieces from resume data$/m.test(logs)) throw new Error(`the restart did not resume from resume data: ${lastLines(logs, 2)}`)
    row.ok = true
  } catch (err) {
    row.error = oneLine(err)
  } finally {
    clearInterval(sampler)
    if (session) {
      peak = Math.max(peak, peakRssBytes(session.proc.pid) ?? 0)
      await session.proc.stop()
    }
    row.peakRssMB = peak ? peak / 1e6 : undefined
    await home.cleanup()
  }
  return row
}

export function formatBigSection(rows: BigRow[]): string {
  const table = formatTable(
    `big: one \`friendtorrent seed\`, torrents added from another shell (CLI times include Node's start-up); peak RSS goal ≤ ${RSS_GOAL_MB} MB`,
    ['torrent', 'add (ms)', 'check (ms)', 'files --json (ms)', 'all skip (ms)', 'all normal (ms)', 'details (ms)', 'resume (ms)', 'peak RSS (MB)', 'note'],
    rows.map((r) => [
      r.torrent,
      fixed(r.addMs, 0),
      fixed(r.checkMs, 0),
      fixed(r.filesJsonMs, 0),
      fixed(r.skipAllMs, 0),
      fixed(r.unskipAllMs, 0),
      fixed(r.detailsMs, 0),
      fixed(r.resumeMs, 0),
      fixed(r.peakRssMB, 1),
      r.ok ? (r.peakRssMB !== undefined && r.peakRssMB > RSS_GOAL_MB ? 'RSS goal NOT met' : 'ok') : `FAILED: ${r.error ?? 'unknown'}`,
    ]),
  )
  return table
}
