// The dashboard's index search (f): results arrive as you type through the
// session's `search` command, ↑ ↓ choose, Enter adds the chosen one through
// `add` (the magnet; the session starts it from the stored info dict), Esc goes
// back; names with control characters are drawn safely; a session's background
// crawl counters (its status's `crawl`) show in the status bar and the search
// view. A recording backend stands in for the session's control channel.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { render } from 'ink-testing-library'
import type { SearchResult } from '../../src/index/search.ts'
import type { CrawlStatus } from '../../src/index/crawl-stats.ts'
import type { DashboardBackend } from '../../src/tui/backend.ts'
import { Dashboard } from '../../src/tui/dashboard.tsx'

const KEY = { up: '\u001B[A', down: '\u001B[B', enter: '\r', escape: '\u001B', backspace: '\u007F' }

function result(name: string, n: number): SearchResult {
  const infoHash = n.toString(16).padStart(40, '0')
  return { infoHash, name, sizeBytes: 1_000_000 * n, fileCount: n, category: 'video', discoveredAt: '2026-11-30T10:00:00.000Z', lastSeenAt: '2026-12-01T10:00:00.000Z', seeders: null, leechers: null, magnet: `magnet:?xt=urn:btih:${infoHash}` }
}

const INDEX = [result('Big Buck Bunny 1080p', 1), result('Bunny Tales S01', 2), result('Sintel\u001b[2J\u0007 evil', 3)]

class IndexBackend implements DashboardBackend {
  readonly attachedTo = undefined
  readonly calls: { command: string; args: Record<string, unknown> }[] = []
  /** What `status` answers under `crawl` (a session with indexWhileRunning). */
  crawl: CrawlStatus | undefined
  async call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    this.calls.push({ command, args })
    switch (command) {
      case 'list':
      case 'events':
        return []
      case 'status':
        return { port: 6881, dhtNodes: 0, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadLimitBytesPerSec: 0, uploadLimitBytesPerSec: 0, connectedPeers: 0, torrents: 0, saveDir: '/srv', freeBytes: null, ...(this.crawl && { crawl: structuredClone(this.crawl) }) }
      case 'search': {
        const words = String(args.text).toLowerCase().split(/\s+/).filter(Boolean)
        return INDEX.filter((r) => words.every((w, i) => r.name.toLowerCase().split(/[^a-z0-9]+/).some((nw) => (i === words.length - 1 && args.prefix ? nw.startsWith(w) : nw === w))))
      }
      case 'add':
        return { added: true, fromIndex: true, summary: { name: INDEX.find((r) => r.magnet === args.magnet)!.name } }
      default:
        throw new Error(`unexpected ${command}`)
    }
  }
}

const strip = (s: string | undefined) => (s ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

async function until(check: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Lets React run the effects of the last render (Ink subscribes key handlers there). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r))
}

function open(opts: { crawl?: CrawlStatus; refreshMs?: number; columns?: number } = {}) {
  const backend = new IndexBackend()
  backend.crawl = opts.crawl
  const ui = render(<Dashboard backend={backend} cwd="/" refreshMs={opts.refreshMs ?? 60_000} onQuit={() => {}} size={{ columns: opts.columns ?? 80, rows: 24 }} />)
  const frame = () => strip(ui.lastFrame())
  const type = async (keys: string) => {
    for (const k of [...keys]) {
      ui.stdin.write(k)
      await new Promise((r) => setImmediate(r))
    }
  }
  return { ui, backend, frame, type }
}

test('f opens the search; results come as you type (the last word a prefix); Enter adds the chosen one and says it came from the index', async () => {
  const { ui, backend, frame, type } = open()
  try {
    await until(() => ui.stdin.listenerCount('readable') > 0 && frame().includes('friendtorrent') && backend.calls.some((c) => c.command === 'status'), () => frame()) // the first poll is in, and Ink reads keys
    await settle()
    await type('f')
    await until(() => frame().includes('search the index:'), () => frame())
    await settle() // the panel takes the keyboard once its first render's effects have run
    assert.match(frame(), /type words of a name or file/)
    await type('bun')
    await until(() => frame().includes('Bunny Tales S01'), () => frame())
    assert.match(frame(), /Big Buck Bunny 1080p/)
    assert.doesNotMatch(frame(), /Sintel/)
    const searches = backend.calls.filter((c) => c.command === 'search')
    assert.deepEqual(searches.at(-1)!.args, { text: 'bun', limit: 100, prefix: true })
    assert.ok(frame().split('\n').every((l) => l.length <= 80), 'fits 80 columns')
    ui.stdin.write(KEY.down)
    await new Promise((r) => setImmediate(r))
    ui.stdin.write(KEY.enter)
    await until(() => frame().includes('added Bunny Tales S01 from the index'), () => frame())
    assert.deepEqual(backend.calls.filter((c) => c.command === 'add').map((c) => c.args), [{ magnet: INDEX[1].magnet }])
    assert.doesNotMatch(frame(), /search the index:/, 'back to the list')
  } finally {
    ui.unmount()
  }
})

test('in the search, letters are words, not dashboard keys; Esc goes back without adding; control characters are drawn safely; no match says so', async () => {
  const { ui, backend, frame, type } = open()
  try {
    await until(() => ui.stdin.listenerCount('readable') > 0 && frame().includes('friendtorrent') && backend.calls.some((c) => c.command === 'status'), () => frame()) // the first poll is in, and Ink reads keys
    await settle()
    await type('f')
    await until(() => frame().includes('search the index:'), () => frame())
    await settle() // the panel takes the keyboard once its first render's effects have run
    assert.doesNotMatch(frame(), /index crawl/, 'no crawl, no counters')
    await type('evil')
    await until(() => frame().includes('Sintel'), () => frame())
    assert.match(frame(), /Sintel\uFFFD\[2J\uFFFD evil/)
    assert.doesNotMatch(ui.lastFrame()!, /\u0007|\u001b\[2J/)
    await type('q') // a letter of the query, not quit
    await until(() => frame().includes('nothing in the index matches "evilq"'), () => frame())
    for (let i = 0; i < 5; i++) ui.stdin.write(KEY.backspace)
    await type('zzz')
    await until(() => frame().includes('nothing in the index matches "zzz"'), () => frame())
    ui.stdin.write(KEY.escape)
    await until(() => !frame().includes('search the index:'), () => frame())
    assert.deepEqual(backend.calls.filter((c) => c.command === 'add'), [])
  } finally {
    ui.unmount()
  }
})

test('a session that crawls: the status bar shows what its crawl fetched, the search view all its counters, and both follow the next status', async () => {
  const crawl: CrawlStatus = {
    counters: { seen: 5200, new: 310, fetched: 120, failed: 40, dropped: 7, mismatched: 0, samples: 90 },
    perMinute: { seen: 480, fetched: 9 },
    gauges: { nodes: 812, staging: 12, lookups: 2, fetchQueue: 37, fetching: 2, storing: 3, databaseBytes: 3 * 1024 ** 2 },
    stopped: false,
  }
  const { ui, backend, frame, type } = open({ crawl, refreshMs: 50, columns: 140 })
  try {
    await until(() => ui.stdin.listenerCount('readable') > 0 && frame().includes('index 120 fetched (+9/min)'), () => frame())
    await settle()
    await type('f')
    await until(() => frame().includes('search the index:'), () => frame())
    const lines = frame().split('\n')
    assert.ok(lines.some((l) => l.trim() === 'index crawl: 5200 hashes seen (480/min), 310 new, 120 fetched (9/min), 40 failed, 7 dropped'), frame())
    assert.ok(lines.some((l) => l.trim() === 'queues: staging 12, lookup 2, fetch 37 (2 running), store 3; 812 nodes; database 3.00 MiB'), frame())
    backend.crawl = { ...crawl, counters: { ...crawl.counters, seen: 5300, fetched: 121 }, gauges: { ...crawl.gauges, fetchQueue: 36 }, stopped: true }
    await until(() => frame().includes('index crawl (stopped, see the log): 5300 hashes seen') && frame().includes('fetch 36 (2 running)') && frame().includes('index 121 fetched (stopped)'), () => frame())
  } finally {
    ui.unmount()
  }
})
