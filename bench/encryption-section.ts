// Encryption benchmark (MSE/PE):
//  - the cached payload from our own `friendtorrent seed` into our own
//    `friendtorrent add`, both with `encryption: "require"` (RC4 both ways)
//    and both with `encryption: "off"` (plaintext), alternating and swapping
//    which goes first each round; MB/s of each, the ratio of each round and
//    their spread (goal: encrypted ≥ 70 % of plaintext), with the load average
//    before and after, since a shared machine moves absolute rates a lot;
//  - 200 MSE handshakes at once on 127.0.0.1, both ends in this process (so
//    twice the work one side would do): the event loop's worst delay
//    (perf_hooks monitorEventLoopDelay; goal ≤ 100 ms) and the time for all,
//    five times, each beside the worst delay of the idle loop over as long (on
//    a loaded machine the scheduler alone delays a turn by tens of ms).
// Never aborts the run because one row fails.
import { readFileSync } from 'node:fs'
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Socket } from 'node:net'
import { readInfoHash, writeWithAnnounce } from '../fixtures/make-fixtures.ts'
import { systemClock } from '../src/core/clock.ts'
import { dialPeer } from '../src/peer/dial.ts'
import { Listener } from '../src/session/listener.ts'
import { EncryptionPolicy } from '../src/transport/encryption-policy.ts'
import type { EncryptionMode } from '../src/transport/encryption-policy.ts'
import { Rc4 } from '../src/transport/rc4.ts'
import { encodeHandshake } from '../src/wire/handshake.ts'
import { isolatedEnv } from '../test/helpers/cli.ts'
import { exitWithin, type ManagedProcess } from '../test/helpers/managed-process.ts'
import { freePort, tempDir } from '../test/helpers/net.ts'
import { startTracker, type TestTracker } from '../test/helpers/tracker.ts'
import { MIB, fixed, formatTable, lastLines, oneLine, runCommand, sha1File } from './measure.ts'
import { friendtorrentProcess, startSeedSession, stopSeedSession, writeSeedingLibrary } from './our-session.ts'
import type { SeedBenchPayload } from './seed-section.ts'

export interface EncryptionRow {
  mode: EncryptionMode
  ok: boolean
  seconds?: number
  mbPerSec?: number
  /** CPU seconds (user + system, from /proc) the seed spent during the download, and the add in all. */
  cpuSeconds?: { seed: number; add: number }
  error?: string
}

export interface HandshakeResult {
  count: number
  ok: number
  totalMs?: number
  maxLoopDelayMs?: number
  /** The idle event loop's worst delay over as long, measured right after. */
  idleMaxLoopDelayMs?: number
  error?: string
}

export interface EncryptionResult {
  rows: EncryptionRow[]
  /** Encrypted/plaintext MB/s of each round whose two rows succeeded. */
  ratios: number[]
  /** os.loadavg() before the first download and after the last. */
  loadAverage: { before: number[]; after: number[] }
  handshakes: HandshakeResult[]
  rc4MBPerSec: number
}

const SEED_STARTUP_TIMEOUT_MS = 60_000
const SEED_STOP_GRACE_MS = 30_000
const HANDSHAKES = 200
const HANDSHAKE_RUNS = 5
/** USER_HZ: Linux reports /proc times in 1/100 s on every architecture it runs on. */
const CLOCK_TICKS_PER_SEC = 100

async function downloadOnce(mode: EncryptionMode, payload: SeedBenchPayload, runDir: string, expectedSha1: string, timeoutMs: number, cpuProfDir?: string): Promise<EncryptionRow> {
  const row: EncryptionRow = { mode, ok: false }
  const seedHome = tempDir('bench-enc-seed')
  const leechHome = tempDir('bench-enc-leech')
  const outDir = join(runDir, `dl-${mode}`)
  let tracker: TestTracker | undefined
  let seed: Awaited<ReturnType<typeof startSeedSession>> | undefined
  let leecher: ManagedProcess | undefined
  try {
    tracker = await startTracker()
    const torrentPath = join(runDir, `enc-${mode}.torrent`)
    await writeWithAnnounce(payload.torrentPath, torrentPath, [tracker.httpUrl])
    const { env } = await writeSeedingLibrary(seedHome.path, await freePort(), [{ torrentFile: await readFile(torrentPath), savePath: payload.payloadDir }], { encryption: mode })
    seed = await startSeedSession(env, SEED_STARTUP_TIMEOUT_MS, cpuProfDir)
    await tracker.waitForSeeders(await readInfoHash(torrentPath), 1, 30_000)
    await rm(outDir, { recursive: true, force: true })
    await mkdir(outDir, { recursive: true })
    const leechEnv = isolatedEnv(leechHome.path)
    await writeFile(join(leechHome.path, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, encryption: mode }))
    await runCommand('sync', [])
    console.log(`encryption: ${mode}: downloading…`)
    const seedCpuBefore = cpuSecondsOf(seed.proc.pid)
    const started = performance.now()
    const addArgs = ['add', torrentPath, '-o', outDir, '--port', String(await freePort())]
    leecher = friendtorrentProcess('friendtorrent', addArgs, leechEnv, cpuProfDir)
    // The add's own figure is read until it exits (at most 100 ms of CPU short).
    let addCpu = 0
    const poll = setInterval(() => (addCpu = cpuSecondsOf(leecher!.pid) ?? addCpu), 100)
    const code = await exitWithin(leecher.exited, timeoutMs).finally(() => clearInterval(poll))
    const seconds = (performance.now() - started) / 1000
    const seedCpuAfter = cpuSecondsOf(seed.proc.pid)
    if (seedCpuBefore !== undefined && seedCpuAfter !== undefined) row.cpuSeconds = { seed: seedCpuAfter - seedCpuBefore, add: addCpu }
    if (code === 'timeout') throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${lastLines(leecher.logs(), 2)}`)
    if (code !== 0) throw new Error(`exit ${code}: ${lastLines(leecher.logs(), 2)}`)
    const actualSha1 = await sha1File(join(outDir, payload.name)).catch((err: Error) => `unreadable (${err.message})`)
    if (actualSha1 !== expectedSha1) throw new Error(`finished, but the file differs from the payload (sha1 ${actualSha1})`)
    row.seconds = seconds
    row.mbPerSec = payload.sizeBytes / 1e6 / seconds
    row.ok = true
  } catch (err) {
    row.error = oneLine(err)
  } finally {
    await leecher?.stop()
    if (seed) await stopSeedSession(seed.proc, SEED_STOP_GRACE_MS)
    await tracker?.close()
    await rm(outDir, { recursive: true, force: true })
    await seedHome.cleanup()
    await leechHome.cleanup()
  }
  console.log(`encryption: ${mode}: ${row.ok ? `${row.seconds!.toFixed(2)} s` : row.error}`)
  return row
}

/** `count` dials at once, each an MSE handshake carrying our BitTorrent handshake, to one listener in this process. */
export async function measureHandshakes(count: number): Promise<HandshakeResult> {
  const infoHash = Buffer.alloc(20, 0xab)
  const listener = new Listener(systemClock, { maxPendingHandshakes: count + 8, maxPendingHandshakesPerHost: count + 8, encryption: new EncryptionPolicy('require') })
  const pending = new Set<Socket>()
  const routed: { destroy(): unknown }[] = []
  const dialed: { destroy(): unknown }[] = []
  const result: HandshakeResult = { count, ok: 0 }
  const delay = monitorEventLoopDelay({ resolution: 5 })
  try {
    const port = await listener.listen(0, '127.0.0.1')
    let done!: () => void
    const allRouted = new Promise<void>((resolve) => (done = resolve))
    listener.register(infoHash, (socket) => {
      routed.push(socket)
      if (routed.length === count) done()
    })
    const policy = new EncryptionPolicy('require')
    const readBuffer = Buffer.alloc(64 * 1024)
    const handshake = encodeHandshake(infoHash, Buffer.alloc(20, 1), { extended: true })
    delay.enable()
    const started = performance.now()
    await Promise.all(
      Array.from({ length: count }, async () => {
        const { socket } = await dialPeer({ host: '127.0.0.1', port, timeoutMs: 30_000, readBuffer, clock: systemClock, pending, encryption: { policy, infoHash } })
        dialed.push(socket)
        socket.write(handshake)
      }),
    )
    await Promise.race([allRouted, new Promise((_, reject) => setTimeout(() => reject(new Error(`${routed.length} of ${count} routed within 30 s`)), 30_000))])
    result.totalMs = performance.now() - started
    delay.disable()
    result.ok = routed.length
    result.maxLoopDelayMs = delay.max / 1e6
    result.idleMaxLoopDelayMs = await idleLoopDelayMs(Math.max(500, result.totalMs))
  } catch (err) {
    result.error = oneLine(err)
    result.ok = routed.length
  } finally {
    delay.disable()
    for (const s of [...routed, ...dialed]) s.destroy()
    for (const s of pending) s.destroy()
    await listener.close()
  }
  return result
}

/** utime + stime of a running process, from /proc/<pid>/stat; undefined once it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may hold spaces) start at its closing parenthesis; utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC
  } catch {
    return undefined
  }
}

/** The worst delay of this process's event loop doing nothing for `ms`. */
async function idleLoopDelayMs(ms: number): Promise<number> {
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  await new Promise((resolve) => setTimeout(resolve, ms))
  delay.disable()
  return delay.max / 1e6
}

function rc4Throughput(): number {
  const rc4 = new Rc4(Buffer.alloc(20, 7))
  const block = Buffer.alloc(16 * 1024)
  const started = performance.now()
  let bytes = 0
  while (performance.now() - started < 500) {
    for (let i = 0; i < 64; i++) rc4.updateInPlace(block)
    bytes += 64 * block.length
  }
  return bytes / 1e6 / ((performance.now() - started) / 1000)
}

/** With `cpuProfDir`, every seed and add writes a CPU profile there (named by process id; the log says which is which). */
export async function runEncryptionSection(options: { payload: SeedBenchPayload; timeoutMs: number; rounds: number; cpuProfDir?: string }): Promise<EncryptionResult> {
  const run = tempDir('bench-enc')
  const rows: EncryptionRow[] = []
  const ratios: number[] = []
  const before = loadavg()
  try {
    const expectedSha1 = await sha1File(join(options.payload.payloadDir, options.payload.name))
    for (let round = 0; round < options.rounds; round++) {
      // Swapping the order each round keeps a trend in the machine's load from favouring one mode.
      const order = round % 2 === 0 ? (['off', 'require'] as const) : (['require', 'off'] as const)
      const pair: Partial<Record<EncryptionMode, EncryptionRow>> = {}
      for (const mode of order) rows.push((pair[mode] = await downloadOnce(mode, options.payload, run.path, expectedSha1, options.timeoutMs, options.cpuProfDir)))
      if (pair.off?.ok && pair.require?.ok) {
        ratios.push(pair.require.mbPerSec! / pair.off.mbPerSec!)
        console.log(`encryption: round ${round + 1}: encrypted/plaintext ×${ratios.at(-1)!.toFixed(2)}, load average ${loadavg()[0].toFixed(1)}`)
      }
    }
  } finally {
    await run.cleanup()
  }
  const after = loadavg()
  const handshakes: HandshakeResult[] = []
  for (let i = 0; i < HANDSHAKE_RUNS; i++) {
    console.log(`encryption: ${HANDSHAKES} handshakes at once (${i + 1} of ${HANDSHAKE_RUNS})…`)
    handshakes.push(await measureHandshakes(HANDSHAKES))
  }
  return { rows, ratios, loadAverage: { before, after }, handshakes, rc4MBPerSec: rc4Throughput() }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export function formatEncryptionSection(result: EncryptionResult, sizeBytes: number): string {
  const table = formatTable(
    `encryption: ${(sizeBytes / MIB).toFixed(0)} MiB from our seed into our add on 127.0.0.1, both "off" or both "require" (MB = 10^6 bytes)`,
    ['encryption', 'time (s)', 'MB/s', 'CPU s seed', 'CPU s add', 'result'],
    result.rows.map((r) => [
      r.mode === 'off' ? 'off (plaintext)' : 'require (RC4)',
      fixed(r.seconds, 2),
      fixed(r.mbPerSec, 1),
      fixed(r.cpuSeconds?.seed, 2),
      fixed(r.cpuSeconds?.add, 2),
      r.ok ? 'ok' : `FAILED: ${r.error ?? 'unknown error'}`,
    ]),
  )
  const lines = [table, '']
  const ratio = median(result.ratios)
  if (ratio !== undefined) {
    const spread = result.ratios.length > 1 ? ` (rounds: ${result.ratios.map((r) => `×${r.toFixed(2)}`).join(', ')}; ×${Math.min(...result.ratios).toFixed(2)}–${Math.max(...result.ratios).toFixed(2)})` : ''
    lines.push(`encrypted/plaintext, median of ${result.ratios.length} round${result.ratios.length === 1 ? '' : 's'}: ×${ratio.toFixed(2)}${spread}   goal ≥ 0.70: ${ratio >= 0.7 ? 'met' : 'NOT met'}`)
  } else {
    lines.push('encrypted/plaintext: no ratio (no round had both rows succeed)')
  }
  // CPU time moves far less with the machine's load than wall time does: the cost of encryption as the work it adds.
  const cpu = (mode: EncryptionMode) => median(result.rows.filter((r) => r.ok && r.mode === mode && r.cpuSeconds).map((r) => r.cpuSeconds!.seed + r.cpuSeconds!.add))
  const cpuOff = cpu('off')
  const cpuRc4 = cpu('require')
  if (cpuOff !== undefined && cpuRc4 !== undefined) {
    lines.push(`CPU seconds, seed + add (medians): plaintext ${cpuOff.toFixed(2)}, RC4 ${cpuRc4.toFixed(2)}: plaintext/RC4 ×${(cpuOff / cpuRc4).toFixed(2)} (the ratio a CPU-bound transfer would reach)`)
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ')
  lines.push(`load average (1, 5, 15 min): ${load(result.loadAverage.before)} before, ${load(result.loadAverage.after)} after, on ${availableParallelism()} cores`)
  lines.push(`RC4 alone, one core: ${result.rc4MBPerSec.toFixed(0)} MB/s`)
  for (const h of result.handshakes.filter((h) => h.error)) lines.push(`${h.count} MSE handshakes at once: FAILED (${h.ok} done): ${h.error}`)
  const done = result.handshakes.filter((h) => !h.error)
  if (done.length > 0) {
    const worst = median(done.map((h) => h.maxLoopDelayMs!))!
    const list = (f: (h: HandshakeResult) => number | undefined) => done.map((h) => fixed(f(h), 0)).join(', ')
    lines.push(
      `${HANDSHAKES} MSE handshakes at once (both ends in one process), ${done.length} runs: all done in ${list((h) => h.totalMs)} ms; ` +
        `worst event-loop delay ${list((h) => h.maxLoopDelayMs)} ms (idle loop over as long: ${list((h) => h.idleMaxLoopDelayMs)} ms)   ` +
        `goal ≤ 100 ms (median of runs): ${worst <= 100 ? 'met' : 'NOT met'}`,
    )
  }
  return lines.join('\n')
}
