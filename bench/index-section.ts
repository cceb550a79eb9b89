// Index benchmark, synthetic (no network): N torrents with realistic names and
// file lists inserted into a SQLite index in batches of 1000, as a crawler
// would; inserts per second (by the clock, and per second of this process's CPU,
// which a loaded machine does not distort), bytes on disk per torrent without info dicts (all
// N) and with them (a smaller set, since real piece hashes are ~20-40 KB per
// torrent), and search latency p50/p95 for one- and three-word queries made
// from stored names (ranked, limit 20), against a goal of p95 ≤ 50 ms.
import { statSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { SqliteIndexStore } from '../src/index/sqlite-store.ts'
import { tempDir } from '../test/helpers/net.ts'
import { queryFor, synthTorrent } from './index-synthetic.ts'
import { fixed, formatTable } from './measure.ts'

const BATCH = 1000
const QUERIES = 200
const SEARCH_GOAL_MS = 50

export interface IndexBenchResult {
  count: number
  insertsPerSec: number
  insertsPerCpuSec: number
  bytesPerTorrent: number
  dictCount: number
  dictInsertsPerSec: number
  dictInsertsPerCpuSec: number
  bytesPerTorrentWithDicts: number
  /** By the clock, and the CPU time this process spent (SQLite runs in it), which a loaded machine does not stretch. */
  search: { words: number; p50Ms: number; p95Ms: number; maxMs: number; p50CpuMs: number; p95CpuMs: number; meanResults: number }[]
  /** Load average (1 min) at the start and the end: the machine is shared. */
  loadAverage: [number, number]
}

async function fill(file: string, count: number, withInfoDict: boolean, log: (line: string) => void): Promise<{ insertsPerSec: number; insertsPerCpuSec: number; bytes: number }> {
  const store = await SqliteIndexStore.open(file, { keepInfoDicts: withInfoDict })
  let insertMs = 0
  let cpuMicros = 0
  for (let start = 0; start < count; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => synthTorrent(start + k, withInfoDict))
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await store.insert(batch)
    insertMs += performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    cpuMicros += cpu.user + cpu.system
    if ((start / BATCH) % 100 === 99) log(`index: ${start + BATCH} torrents stored${withInfoDict ? ' with info dicts' : ''}, ${Math.round((start + BATCH) / (insertMs / 1000))}/s, ${Math.round((start + BATCH) / (cpuMicros / 1e6))}/CPU s, load ${loadavg()[0].toFixed(1)}`)
  }
  await store.close()
  return { insertsPerSec: count / (insertMs / 1000), insertsPerCpuSec: count / (cpuMicros / 1e6), bytes: statSync(file).size }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

export async function runIndexSection(options: { count: number; dictCount: number; log?: (line: string) => void }): Promise<IndexBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line))
  const dir = tempDir('bench-index')
  const loadAtStart = loadavg()[0]
  try {
    const plain = await fill(join(dir.path, 'plain.sqlite'), options.count, false, log)
    const dicts = await fill(join(dir.path, 'dicts.sqlite'), options.dictCount, true, log)
    const store = await SqliteIndexStore.open(join(dir.path, 'plain.sqlite'))
    const search: IndexBenchResult['search'] = []
    try {
      for (const words of [1, 3]) {
        const times: number[] = []
        const cpuTimes: number[] = []
        let results = 0
        for (let q = 0; q < QUERIES; q++) {
          const text = queryFor(Math.floor(((q * 7919) % QUERIES) * (options.count / QUERIES)), words, q + 1)
          const cpu0 = process.cpuUsage()
          const t0 = performance.now()
          results += (await store.search({ text, limit: 20 })).length
          times.push(performance.now() - t0)
          const cpu = process.cpuUsage(cpu0)
          cpuTimes.push((cpu.user + cpu.system) / 1000)
        }
        times.sort((a, b) => a - b)
        cpuTimes.sort((a, b) => a - b)
        search.push({ words, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), maxMs: times[times.length - 1], p50CpuMs: percentile(cpuTimes, 50), p95CpuMs: percentile(cpuTimes, 95), meanResults: results / QUERIES })
      }
    } finally {
      await store.close()
    }
    return {
      count: options.count,
      insertsPerSec: plain.insertsPerSec,
      insertsPerCpuSec: plain.insertsPerCpuSec,
      bytesPerTorrent: plain.bytes / options.count,
      dictCount: options.dictCount,
      dictInsertsPerSec: dicts.insertsPerSec,
      dictInsertsPerCpuSec: dicts.insertsPerCpuSec,
      bytesPerTorrentWithDicts: dicts.bytes / options.dictCount,
      search,
      loadAverage: [loadAtStart, loadavg()[0]],
    }
  } finally {
    await dir.cleanup()
  }
}

export function formatIndexSection(r: IndexBenchResult): string {
  return formatTable(
    `index, synthetic (SQLite, batches of ${BATCH}; search: ${QUERIES} queries each, limit 20, goal p95 ≤ ${SEARCH_GOAL_MS} ms; load average ${fixed(r.loadAverage[0], 1)} → ${fixed(r.loadAverage[1], 1)})`,
    ['measure', 'value', 'note'],
    [
      ['torrents stored', String(r.count), 'without info dicts'],
      ['inserts/s', fixed(r.insertsPerSec, 0), 'time in insert() only'],
      ['inserts per CPU second', fixed(r.insertsPerCpuSec, 0), 'this process\'s CPU in insert() (SQLite runs in it)'],
      ['bytes on disk per torrent', fixed(r.bytesPerTorrent, 0), 'torrents + files + FTS5 (magnetico ~3 KB, bitmagnet ~8 KB)'],
      ['torrents stored with info dicts', String(r.dictCount), ''],
      ['inserts/s with info dicts', fixed(r.dictInsertsPerSec, 0), 'compression included'],
      ['inserts per CPU second with info dicts', fixed(r.dictInsertsPerCpuSec, 0), ''],
      ['bytes on disk per torrent with info dict', fixed(r.bytesPerTorrentWithDicts, 0), 'piece hashes do not compress'],
      ...r.search.flatMap((s) => [
        [`search, ${s.words} word${s.words === 1 ? '' : 's'}: p50 ms`, fixed(s.p50Ms, 1), `${fixed(s.meanResults, 1)} results on average`],
        [`search, ${s.words} word${s.words === 1 ? '' : 's'}: p95 ms`, fixed(s.p95Ms, 1), s.p95Ms <= SEARCH_GOAL_MS ? 'goal met' : 'over the goal'],
        [`search, ${s.words} word${s.words === 1 ? '' : 's'}: slowest ms`, fixed(s.maxMs, 1), ''],
        [`search, ${s.words} word${s.words === 1 ? '' : 's'}: CPU ms p50 / p95`, `${fixed(s.p50CpuMs, 1)} / ${fixed(s.p95CpuMs, 1)}`, 'what the query costs, without waiting for a core'],
      ]),
    ],
  )
}
