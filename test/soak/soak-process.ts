// One process of the soak (test/soak/soak.test.ts): several real Sessions, each
// with its own state folder and listen port, run by the parent over IPC. The
// seed role serves complete data; the peers role joins its sessions at
// staggered times, downloads every torrent, and churns (pause/resume, close and
// reopen, remove with data and add again) until the soak ends. Every second it
// reports RSS (after a full GC), open sockets and active resources; at the end
// it closes every session, reports what is still open, and must exit on its
// own. Run as: node --expose-gc --import tsx soak-process.ts <config.json>
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { Session } from '../../src/session/session.ts'
import type { SessionOptions } from '../../src/session/session.ts'
import { listFiles, sha1File } from '../helpers/compare.ts'
import { exitWithin } from '../helpers/managed-process.ts'
import { seededRandom } from '../helpers/seeded-random.ts'

export interface SoakTorrent {
  torrentPath: string
  infoHash: string
  name: string
  multiFile: boolean
}

export interface SoakProcessConfig {
  role: 'seed' | 'peers'
  label: string
  /** Holds one folder per session (state and downloads). */
  workDir: string
  sessions: number
  torrents: SoakTorrent[]
  /** Seed role: the folder holding every torrent's complete data. */
  seedDataDir?: string
  /** Delay before the first session opens, and between sessions. */
  joinDelayMs: number
  joinStaggerMs: number
  /** Churn until this long after the process started; then wait for completion. */
  soakMs: number
  churnEveryMs: number
  sampleEveryMs: number
  completeTimeoutMs: number
  maxConnectionsPerTorrent: number
  /** The download limit of every other peer session (bytes/s). */
  limitedDownloadBytesPerSec: number
  randomSeed: number
}

export type ResourceCounts = Record<string, number>

export interface Usage {
  resources: ResourceCounts
  /** Open file descriptors and, of them, sockets (/proc/self/fd); -1 where /proc is missing. */
  fds: number
  sockets: number
  /** What the other descriptors point at (files, pipes, anon inodes), sorted. */
  otherFds: string[]
}

export type SoakPhase = 'join' | 'soak' | 'final'

export type ChildMessage =
  | ({ type: 'baseline' } & Usage)
  | ({ type: 'sample'; phase: SoakPhase; atMs: number; rssBytes: number; heapUsedBytes: number; arrayBuffersBytes: number } & Usage)
  | { type: 'ready' }
  | { type: 'action'; session: number; action: string; torrent?: string }
  | { type: 'problem'; message: string }
  | { type: 'warning'; message: string }
  | { type: 'complete'; elapsedMs: number; trees: { session: number; infoHash: string; files: Record<string, string> }[] }
  | { type: 'incomplete'; states: string[] }
  | ({ type: 'done'; downloadedBytes: number; uploadedBytes: number } & Usage)

export type ParentMessage = { type: 'finish' }

/** In-flight fs requests come and go; they are not held resources. */
const TRANSIENT_RESOURCES = new Set(['FSReqCallback', 'FSReqPromise'])

export function usage(): Usage {
  const resources: ResourceCounts = {}
  for (const name of process.getActiveResourcesInfo()) if (!TRANSIENT_RESOURCES.has(name)) resources[name] = (resources[name] ?? 0) + 1
  let fds = -1
  let sockets = -1
  const otherFds: string[] = []
  try {
    const entries = readdirSync('/proc/self/fd')
    fds = entries.length
    sockets = 0
    for (const fd of entries) {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`)
        if (target.startsWith('socket:')) sockets++
        else otherFds.push(target.replace(/\[\d+\]$/, ''))
      } catch {
        // the fd readdir itself used is gone already
      }
    }
  } catch {
    // no /proc: fds and sockets stay -1
  }
  return { resources, fds, sockets, otherFds: otherFds.sort() }
}

function sameUsage(a: Usage, b: Usage): boolean {
  const types = new Set([...Object.keys(a.resources), ...Object.keys(b.resources)])
  return a.sockets === b.sockets && [...types].every((type) => (a.resources[type] ?? 0) === (b.resources[type] ?? 0))
}

function send(message: ChildMessage): void {
  process.send?.(message)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Slot {
  index: number
  stateDir: string
  saveDir: string
  session?: Session
  busy: boolean
  /** The churn step in progress, and since when (to name one that never ends). */
  doing?: string
  doingSinceMs?: number
  /** Transfer totals of torrents removed during churn (their library entries are gone). */
  retiredDownloaded: number
  retiredUploaded: number
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as SoakProcessConfig
  const startedAt = Date.now()
  const random = seededRandom(config.randomSeed)
  const torrentBytes = config.torrents.map((t) => readFileSync(t.torrentPath))
  let finishing = false
  process.on('disconnect', () => {
    // The parent went away without asking us to finish: nobody is left to report to.
    if (!finishing) process.exit(3)
  })
  const finish = new Promise<void>((resolve) =>
    process.on('message', (message: ParentMessage) => {
      if (message.type === 'finish') resolve()
    }),
  )

  await sleep(200)
  const baseline = usage()
  send({ type: 'baseline', ...baseline })

  let phase: SoakPhase = config.role === 'seed' ? 'soak' : 'join'
  const sampler = setInterval(() => {
    ;(globalThis as { gc?: () => void }).gc?.()
    const mem = process.memoryUsage()
    send({ type: 'sample', phase, atMs: Date.now() - startedAt, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, arrayBuffersBytes: mem.arrayBuffers, ...usage() })
  }, config.sampleEveryMs)

  const slots: Slot[] = Array.from({ length: config.sessions }, (_, index) => ({
    index,
    stateDir: join(config.workDir, `s${index}`, 'state'),
    saveDir: config.seedDataDir ?? join(config.workDir, `s${index}`, 'data'),
    busy: false,
    retiredDownloaded: 0,
    retiredUploaded: 0,
  }))

  const openSession = async (slot: Slot): Promise<Session> => {
    // Every peer shares 127.0.0.1: no per-address connection limit may cut the swarm
    // (maxConnectionsPerIp is passed for sessions that have one; others ignore it).
    const options = {
      stateDir: slot.stateDir,
      listenPort: 0,
      download: true,
      maxActiveDownloads: config.torrents.length,
      maxActiveSeeds: config.torrents.length,
      maxConnectionsPerTorrent: config.maxConnectionsPerTorrent,
      maxConnectionsPerIp: 10_000,
      maxHalfOpenConnections: 8,
      // Every other peer downloads through the session's rate limit, so its token bucket and refill timer soak too.
      downloadLimitBytesPerSec: config.role === 'peers' && slot.index % 2 === 1 ? config.limitedDownloadBytesPerSec : 0,
    }
    const session = await Session.open(options satisfies SessionOptions)
    const where = `${config.label} session ${slot.index}`
    session.on('error', (summary) => send({ type: 'problem', message: `${where}: ${summary.name} failed: ${summary.error}` }))
    session.on('warning', (message) => send({ type: 'warning', message: `${where}: ${message}` }))
    await session.start()
    slot.session = session
    return session
  }

  const addAll = async (slot: Slot): Promise<void> => {
    for (const bytes of torrentBytes) await slot.session!.add(bytes, slot.saveDir)
  }

  const allSeeding = (): boolean =>
    slots.every((slot) => {
      const list = slot.session?.list() ?? []
      return list.length === config.torrents.length && list.every((t) => t.state === 'seeding' && t.progress === 1)
    })

  const waitAllSeeding = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms
    while (!allSeeding()) {
      if (Date.now() > deadline) return false
      await sleep(250)
    }
    return true
  }

  /** One churn step on one session: a peer leaves and comes back, or loses a torrent and fetches it again. */
  const churn = async (slot: Slot): Promise<void> => {
    const session = slot.session!
    const torrent = config.torrents[Math.floor(random() * config.torrents.length)]
    const roll = random()
    const step = (action: string, torrentName?: string): void => {
      slot.doing = torrentName ? `${action} ${torrentName}` : action
      slot.doingSinceMs = Date.now()
      send({ type: 'action', session: slot.index, action, torrent: torrentName })
    }
    if (roll < 0.3) {
      step('pause', torrent.name)
      await session.pause(torrent.infoHash)
      await sleep(1_000 + random() * 2_000)
      step('resume', torrent.name)
      await session.resume(torrent.infoHash)
    } else if (roll < 0.75) {
      step('remove', torrent.name)
      const summary = session.list().find((t) => t.infoHash === torrent.infoHash)
      slot.retiredDownloaded += summary?.downloadedBytes ?? 0
      slot.retiredUploaded += summary?.uploadedBytes ?? 0
      await session.remove(torrent.infoHash, true)
      await sleep(500 + random() * 1_000)
      step('add', torrent.name)
      await session.add(torrentBytes[config.torrents.indexOf(torrent)], slot.saveDir)
    } else {
      step('close')
      slot.session = undefined
      await session.close()
      await sleep(1_000 + random() * 2_000)
      step('reopen')
      await openSession(slot)
    }
  }

  const inFlight = new Set<Promise<void>>()
  const runGuarded = (slot: Slot, work: () => Promise<void>): void => {
    slot.busy = true
    const p = work()
      .catch((err: unknown) => send({ type: 'problem', message: `${config.label} session ${slot.index}: ${err instanceof Error ? err.message : String(err)}` }))
      .finally(() => {
        slot.busy = false
        slot.doing = undefined
        inFlight.delete(p)
      })
    inFlight.add(p)
  }

  if (config.role === 'seed') {
    const slot = slots[0]
    await openSession(slot)
    await addAll(slot)
    if (await waitAllSeeding(config.completeTimeoutMs)) send({ type: 'ready' })
    else send({ type: 'incomplete', states: slot.session!.list().map((t) => `${t.name}: ${t.state} ${t.error ?? ''}`) })
  } else {
    await sleep(config.joinDelayMs)
    for (const slot of slots) {
      runGuarded(slot, async () => {
        await openSession(slot)
        await addAll(slot)
      })
      await sleep(config.joinStaggerMs)
    }
    await Promise.all(inFlight)
    phase = 'soak'
    while (Date.now() - startedAt < config.soakMs) {
      const idle = slots.filter((s) => !s.busy && s.session)
      if (idle.length > 0) {
        const slot = idle[Math.floor(random() * idle.length)]
        runGuarded(slot, () => churn(slot))
      }
      await sleep(config.churnEveryMs)
    }
    const settled = (await exitWithin(Promise.all(inFlight), 60_000)) !== 'timeout'
    phase = 'final'
    if (!settled) {
      const stuck = slots.filter((s) => s.doing).map((s) => `session ${s.index}: ${s.doing} has not returned after ${Math.round((Date.now() - s.doingSinceMs!) / 1000)} s`)
      send({ type: 'incomplete', states: stuck })
    } else if (await waitAllSeeding(config.completeTimeoutMs)) {
      const trees: { session: number; infoHash: string; files: Record<string, string> }[] = []
      for (const slot of slots) {
        for (const t of config.torrents) {
          const files: Record<string, string> = {}
          const root = join(slot.saveDir, t.name)
          if (t.multiFile) for (const f of await listFiles(root)) files[f] = await sha1File(join(root, f))
          else files[t.name] = await sha1File(root)
          trees.push({ session: slot.index, infoHash: t.infoHash, files })
        }
      }
      send({ type: 'complete', elapsedMs: Date.now() - startedAt, trees })
    } else {
      const states = slots.flatMap((slot) =>
        (slot.session?.list() ?? []).filter((t) => t.state !== 'seeding').map((t) => `session ${slot.index} ${t.name}: ${t.state} ${Math.round(t.progress * 100)}% peers ${t.connectedPeers} ${t.error ?? ''}`),
      )
      send({ type: 'incomplete', states })
    }
  }

  await finish
  clearInterval(sampler)
  let downloadedBytes = 0
  let uploadedBytes = 0
  for (const slot of slots) {
    downloadedBytes += slot.retiredDownloaded
    uploadedBytes += slot.retiredUploaded
    for (const t of slot.session?.list() ?? []) {
      downloadedBytes += t.downloadedBytes
      uploadedBytes += t.uploadedBytes
    }
  }
  await Promise.all(slots.map((slot) => slot.session?.close()))
  // Handles finish closing on the next turns of the loop; give them a moment, no more.
  const deadline = Date.now() + 5_000
  let after = usage()
  while (Date.now() < deadline && !sameUsage(after, baseline)) {
    await sleep(100)
    after = usage()
  }
  finishing = true
  send({ type: 'done', downloadedBytes, uploadedBytes, ...after })
  // Nothing else is left to hold the process: it must now exit by itself.
  process.disconnect()
}

main().catch((err: unknown) => {
  console.error(`soak ${process.argv[2]}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
