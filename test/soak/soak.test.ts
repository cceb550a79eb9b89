// Soak (issue #6): ~30 of our peers on loopback share several torrents for a
// few minutes while they churn. Peers are real Sessions, ten to a child
// process (test/soak/soak-process.ts), plus one seed process; an in-process
// tracker on 127.0.0.1 introduces them. Asserts every peer ends with every
// torrent byte-identical, each process's RSS stays flat after warm-up, and
// once the sessions close no socket, server or timer is left and each child
// exits by itself. FT_SOAK_SECONDS sets the churn time (default 90) for longer runs by hand.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { REPO_ROOT } from '../helpers/cli.ts'
import { exitWithin, ManagedProcess } from '../helpers/managed-process.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import type { BuiltTorrent, TestFile } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startTracker } from '../helpers/tracker.ts'
import type { ChildMessage, SoakProcessConfig, SoakTorrent, Usage } from './soak-process.ts'

const SOAK_SECONDS = Number(process.env.FT_SOAK_SECONDS ?? 90)
const PEER_PROCESSES = 3
const SESSIONS_PER_PROCESS = 10
const MiB = 1024 * 1024
/** Growth allowed from the second quarter of the soak to the last (medians of RSS after a full GC). */
const RSS_GROWTH_LIMIT_BYTES = 15 * MiB
const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'soak-process.ts')

/** Torrents of different shapes, ~12 MiB in all: big pieces, small pieces spanning many files, odd sizes, empty files. */
function shapes(announce: string): { built: BuiltTorrent; name: string; files?: TestFile[] }[] {
  const many: TestFile[] = Array.from({ length: 40 }, (_, i) => ({ path: ['many', `f${String(i).padStart(2, '0')}.dat`], length: 20_000 + ((i * 7919) % 40_000) }))
  const mixed: TestFile[] = [
    { path: ['a', 'b', 'c.bin'], length: 1_000_003 },
    { path: ['readme.txt'], length: 4_321 },
    { path: ['empty'], length: 0 },
    { path: ['a', 'big.bin'], length: 1_500_000 },
    { path: ['z.bin'], length: 65_536 },
  ]
  const defs: { name: string; files: TestFile[] | number; pieceLength: number }[] = [
    { name: 'big-pieces.bin', files: 3 * MiB + 12_345, pieceLength: 256 * 1024 },
    { name: 'odd-layout', files: ODD_LAYOUT, pieceLength: 32 * 1024 },
    { name: 'mixed', files: mixed, pieceLength: 64 * 1024 },
    { name: 'many-small', files: many, pieceLength: 16 * 1024 },
    { name: 'half-mib-pieces.bin', files: 4 * MiB + 1, pieceLength: 512 * 1024 },
  ]
  return defs.map((d, i) => ({ name: d.name, files: typeof d.files === 'number' ? undefined : d.files, built: buildTorrent({ ...d, announce: [announce], seed: 1000 + i }) }))
}

/** path → sha1 of every file the torrent should leave on disk (single-file: its name). */
function expectedTree(name: string, built: BuiltTorrent, files?: TestFile[]): Record<string, string> {
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex')
  if (!files) return { [name]: sha1(built.payload) }
  const out: Record<string, string> = {}
  let offset = 0
  for (const f of files) {
    out[f.path.join('/')] = sha1(built.payload.subarray(offset, offset + f.length))
    offset += f.length
  }
  return out
}

/** A soak child: its messages as they come, and waits that fail with its output when it dies first. */
class SoakChild {
  readonly proc: ManagedProcess
  readonly messages: ChildMessage[] = []
  readonly #waiters = new Set<() => void>()

  constructor(readonly label: string, configPath: string) {
    // The repository is the cwd so that `--import tsx` resolves.
    this.proc = new ManagedProcess(label, process.execPath, ['--expose-gc', '--import', 'tsx', CHILD_SCRIPT, configPath], { env: process.env, cwd: REPO_ROOT, ipc: true })
    this.proc.child.on('message', (message: ChildMessage) => {
      this.messages.push(message)
      for (const wake of this.#waiters) wake()
    })
    void this.proc.exited.then(() => {
      for (const wake of this.#waiters) wake()
    })
  }

  of<T extends ChildMessage['type']>(type: T): Extract<ChildMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ChildMessage, { type: T }> => m.type === type)
  }

  /** The first message of one of `types`; rejects after `ms` or if the process exits first. */
  async next(types: ChildMessage['type'][], ms: number): Promise<ChildMessage> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = this.messages.find((m) => types.includes(m.type))
      if (found) return found
      if (!this.proc.running) throw new Error(`${this.label} exited before sending ${types.join('/')}:\n${this.proc.tail(30)}`)
      if (Date.now() >= deadline) throw new Error(`${this.label} sent no ${types.join('/')} within ${ms} ms:\n${this.proc.tail(30)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()))
        function done(): void {
          clearTimeout(timer)
          waiters.delete(done)
          resolve()
        }
        const waiters = this.#waiters
        waiters.add(done)
      })
    }
  }

  send(message: { type: 'finish' }): void {
    if (this.proc.running && this.proc.child.connected) this.proc.child.send(message)
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MB`

/** Held resources by type, without zero counts, for a readable deepEqual. */
function held(u: Usage): Record<string, number> {
  return Object.fromEntries(Object.entries(u.resources).filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b)))
}

test(`soak: ${PEER_PROCESSES * SESSIONS_PER_PROCESS} peers in ${PEER_PROCESSES} processes share 5 torrents for ${SOAK_SECONDS} s with churn`, { timeout: (SOAK_SECONDS + 240) * 1000 }, async (t) => {
  const work = tempDir('ft-soak')
  const tracker = await startTracker()
  const children: SoakChild[] = []
  try {
    const torrents = shapes(tracker.httpUrl)
    const seedDir = join(work.path, 'seed-data')
    const soakTorrents: SoakTorrent[] = []
    const expected = new Map<string, Record<string, string>>()
    for (const { name, files, built } of torrents) {
      let offset = 0
      for (const f of files ?? [{ path: [], length: built.payload.length }]) {
        const path = join(seedDir, name, ...f.path)
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, built.payload.subarray(offset, offset + f.length))
        offset += f.length
      }
      const torrentPath = join(work.path, `${name}.torrent`)
      writeFileSync(torrentPath, built.torrent)
      const infoHash = built.infoHash.toString('hex')
      soakTorrents.push({ torrentPath, infoHash, name, multiFile: files !== undefined })
      expected.set(infoHash, expectedTree(name, built, files))
    }
    const totalBytes = torrents.reduce((n, x) => n + x.built.payload.length, 0)

    const common = {
      torrents: soakTorrents,
      sampleEveryMs: 1_000,
      completeTimeoutMs: 120_000,
      churnEveryMs: 400,
      limitedDownloadBytesPerSec: 2 * MiB,
      joinStaggerMs: 1_200,
    }
    const start = (label: string, config: Omit<SoakProcessConfig, 'label' | 'workDir' | keyof typeof common>): SoakChild => {
      const workDir = join(work.path, label)
      mkdirSync(workDir, { recursive: true })
      const configPath = join(workDir, 'config.json')
      writeFileSync(configPath, JSON.stringify({ ...common, ...config, label, workDir } satisfies SoakProcessConfig))
      const child = new SoakChild(label, configPath)
      children.push(child)
      return child
    }

    const seed = start('seed', { role: 'seed', sessions: 1, seedDataDir: seedDir, joinDelayMs: 0, soakMs: 0, maxConnectionsPerTorrent: 60, randomSeed: 1 })
    const ready = await seed.next(['ready', 'incomplete'], 60_000)
    assert.equal(ready.type, 'ready', `the seed checks its data and seeds: ${JSON.stringify(ready)}`)

    const soakMs = SOAK_SECONDS * 1000
    const peers = Array.from({ length: PEER_PROCESSES }, (_, i) =>
      start(`peers-${i}`, { role: 'peers', sessions: SESSIONS_PER_PROCESS, joinDelayMs: i * 400, soakMs, maxConnectionsPerTorrent: 12, randomSeed: 17 + i }),
    )
    const outcomes = await Promise.all(peers.map((p) => p.next(['complete', 'incomplete'], soakMs + 180_000)))
    for (const child of children) child.send({ type: 'finish' })
    const dones = await Promise.all(children.map((c) => c.next(['done'], 60_000)))
    const exits = await Promise.all(children.map((c) => exitWithin(c.proc.exited, 10_000)))

    // Figures first, so a failure still shows them.
    let downloaded = 0
    let uploaded = 0
    for (const [i, child] of children.entries()) {
      const done = dones[i] as Extract<ChildMessage, { type: 'done' }>
      downloaded += done.downloadedBytes
      uploaded += done.uploadedBytes
      const rss = child.of('sample').map((s) => s.rssBytes)
      const actions = JSON.stringify(Object.fromEntries(['pause', 'remove', 'close'].map((a) => [a, child.of('action').filter((m) => m.action === a).length])))
      const [baseline] = child.of('baseline')
      t.diagnostic(
        `${child.label}: RSS first ${mb(rss[0] ?? 0)}, peak ${mb(Math.max(...rss))}, last ${mb(rss.at(-1) ?? 0)} (${rss.length} samples; last arrayBuffers ${mb(child.of('sample').at(-1)?.arrayBuffersBytes ?? 0)}); ` +
          `peak sockets ${Math.max(...child.of('sample').map((s) => s.sockets))}; churn actions ${actions}; down ${mb(done.downloadedBytes)}, up ${mb(done.uploadedBytes)}; ` +
          `resources before ${JSON.stringify(held(baseline))} after ${JSON.stringify(held(done))}; exit ${exits[i]}`,
      )
    }
    t.diagnostic(`${PEER_PROCESSES * SESSIONS_PER_PROCESS} peers + 1 seed, ${torrents.length} torrents (${mb(totalBytes)}), soak ${SOAK_SECONDS} s; moved ${mb(downloaded)} down / ${mb(uploaded)} up`)

    for (const child of children) {
      const problems = child.of('problem').map((m) => m.message)
      assert.deepEqual(problems, [], `${child.label} reported no failed torrent or session call`)
    }
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.type, 'complete', `${peers[i].label}: every session completes every torrent: ${JSON.stringify(outcome)}`)
      if (outcome.type !== 'complete') continue
      assert.equal(outcome.trees.length, SESSIONS_PER_PROCESS * torrents.length)
      for (const tree of outcome.trees) assert.deepEqual(tree.files, expected.get(tree.infoHash), `${peers[i].label} session ${tree.session}: ${tree.infoHash} is byte-identical`)
    }
    for (const child of peers) assert.ok(child.of('action').length >= 10, `${child.label} churned (${child.of('action').length} churn steps)`)

    for (const child of children) {
      // Quarters of the steady part: every session joined, churn running.
      const rss = child.of('sample').filter((s) => s.phase === 'soak').map((s) => s.rssBytes)
      assert.ok(rss.length >= 8, `${child.label}: enough RSS samples in the soak (${rss.length})`)
      const q = Math.floor(rss.length / 4)
      const second = median(rss.slice(q, 2 * q))
      const last = median(rss.slice(rss.length - q))
      t.diagnostic(`${child.label}: soak RSS medians ${[0, 1, 2, 3].map((k) => mb(median(rss.slice(k * q, k === 3 ? rss.length : (k + 1) * q)))).join(' → ')}`)
      assert.ok(last - second <= RSS_GROWTH_LIMIT_BYTES, `${child.label}: RSS stays flat (second-quarter median ${mb(second)}, last-quarter median ${mb(last)})`)
    }

    for (const [i, child] of children.entries()) {
      const [baseline] = child.of('baseline')
      const done = dones[i] as Extract<ChildMessage, { type: 'done' }>
      // Without /proc both counts are -1 and the descriptor checks below would compare -1 with -1.
      if (process.platform === 'linux') assert.ok(baseline.fds >= 0 && done.fds >= 0, `${child.label}: /proc/self/fd could not be read, so open descriptors cannot be checked`)
      else t.diagnostic(`${child.label}: no /proc on ${process.platform}; open descriptors not checked, only active resources`)
      assert.deepEqual(held(done), held(baseline), `${child.label}: active resources after closing every session are those before the first opened`)
      assert.equal(done.sockets, baseline.sockets, `${child.label}: open sockets back to the baseline`)
      assert.deepEqual(done.otherFds, baseline.otherFds, `${child.label}: open files, pipes and the like back to the baseline (${done.fds} descriptors after, ${baseline.fds} before)`)
      assert.equal(exits[i], 0, `${child.label} exits by itself with code 0 once its sessions close:\n${child.proc.tail(20)}`)
    }
  } finally {
    await Promise.all(children.map((c) => c.proc.stop()))
    await tracker.close()
    await work.cleanup()
  }
})
