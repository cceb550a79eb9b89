// The dashboard's components over a fixed session snapshot: each view renders
// what the session says and fits 80 columns; each key becomes the right
// control command (a recording backend stands in for the session's channel).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { render } from 'ink-testing-library'
import { readTorrentFile } from '../../src/cli/session-control.ts'
import type { TorrentDetails, TorrentSummary } from '../../src/session/session.ts'
import type { DashboardBackend } from '../../src/tui/backend.ts'
import { Dashboard } from '../../src/tui/dashboard.tsx'
import { filePageOf, filesWindow } from '../../src/session/file-page.ts'
import type { DashboardStatus } from '../../src/tui/status-bar.tsx'
import { buildTorrent } from '../helpers/make-torrent.ts'

const KEY = { up: '\u001B[A', down: '\u001B[B', right: '\u001B[C', left: '\u001B[D', enter: '\r', escape: '\u001B', tab: '\t', backspace: '\u007F' }

function summary(over: Partial<TorrentSummary> & { name: string }): TorrentSummary {
  return {
    infoHash: Buffer.from(over.name.padEnd(20, '.')).toString('hex').slice(0, 40),
    state: 'downloading',
    error: null,
    savePath: '/srv/torrents',
    sizeBytes: 734_003_200,
    progress: 0.5,
    downloadRateBytesPerSec: 2_500_000,
    uploadRateBytesPerSec: 120_000,
    downloadedBytes: 367_001_600,
    uploadedBytes: 1_000_000,
    connectedPeers: 12,
    knownPeers: 80,
    seeds: 9,
    etaSeconds: 147,
    queuePosition: 0,
    addedAt: '2026-11-01T10:00:00.000Z',
    completedAt: null,
    ...over,
  }
}

const TORRENTS: TorrentSummary[] = [
  summary({ name: 'debian-13.2.0-amd64-netinst.iso', queuePosition: 0 }),
  summary({ name: 'ubuntu-24.04-desktop-amd64.iso', state: 'seeding', progress: 1, sizeBytes: 6_000_000_000, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 900_000, etaSeconds: null, queuePosition: 1, uploadedBytes: 12_000_000_000, downloadedBytes: 6_000_000_000 }),
  summary({ name: 'archlinux-2026.11.01-x86_64.iso', state: 'paused', progress: 0.1, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, connectedPeers: 0, queuePosition: 2 }),
  summary({ name: 'broken-download', state: 'error', error: 'disk full writing broken-download/a.bin', progress: 0.3, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, queuePosition: 3 }),
]

const STATUS: DashboardStatus = {
  port: 6881,
  dhtNodes: 312,
  downloadRateBytesPerSec: 2_500_000,
  uploadRateBytesPerSec: 1_020_000,
  downloadLimitBytesPerSec: 0,
  uploadLimitBytesPerSec: 512 * 1024,
  connectedPeers: 24,
  torrents: 4,
  saveDir: '/srv/torrents',
  freeBytes: 52 * 1024 ** 3,
}

const NOW = 1_800_000_000_000

const FILES = [
  { index: 0, path: 'disc/boot.img', sizeBytes: 1_048_576, priority: 'normal' as const, verifiedBytes: 1_048_576 },
  { index: 1, path: 'disc/extra.iso', sizeBytes: 3_145_728, priority: 'skip' as const, verifiedBytes: 0 },
]

/** As the session answers: the files tab's rows in the window asked for (file-page.ts). */
function details(t: TorrentSummary, window?: unknown): TorrentDetails {
  return {
    summary: t,
    pieceCount: 16,
    pieceLength: 262144,
    piecesBase64: Buffer.from([0xff, 0x0f]).toString('base64'),
    inFlightBase64: Buffer.from([0x00, 0x30]).toString('base64'),
    limits: { uploadBytesPerSec: 0, downloadBytesPerSec: 100 * 1024 },
    files: filePageOf(FILES, filesWindow(window)),
    peers: [
      { key: '127.0.0.1:51413', source: 'tracker', transport: 'tcp', client: 'Transmission 3.00', incoming: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false, snubbed: false, downloadRate: 1_200_000, uploadRate: 0, progress: 1, outstanding: 64 },
      { key: '127.0.0.2:6881', source: 'incoming', transport: 'utp', client: 'aria2 1.37.0', incoming: true, amChoking: false, amInterested: false, peerChoking: true, peerInterested: true, snubbed: true, downloadRate: 0, uploadRate: 30_000, progress: 0.25, outstanding: 0 },
      { key: 'https://mirror.example/pub/', source: 'webseed', transport: 'http', client: 'web seed (nginx)', incoming: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false, snubbed: false, downloadRate: 2_500_000, uploadRate: 0, progress: 1, outstanding: 128 },
    ],
    trackers: [
      { url: 'http://127.0.0.1:8000/announce', tier: 0, state: 'ok', lastAnnounceAtMs: NOW - 60_000, nextAnnounceAtMs: NOW + 1_740_000, failures: 0, seeders: 40, leechers: 7, peersReceived: 50, scrape: { seeders: 41, leechers: 6, completed: 310, atMs: NOW - 60_000 } },
      { url: 'udp://127.0.0.1:8001', tier: 1, state: 'error', lastAnnounceAtMs: NOW - 30_000, nextAnnounceAtMs: NOW + 30_000, failures: 1, lastError: 'connection refused', peersReceived: 0, scrapeError: 'no scrape reply within 15 s' },
    ],
    nowMs: NOW,
  }
}

/** The session's control channel, answered from the fixed snapshot; every command is recorded. */
class RecordingBackend implements DashboardBackend {
  readonly attachedTo: string | undefined = undefined
  readonly calls: { command: string; args: Record<string, unknown> }[] = []
  torrents = TORRENTS
  fail: string | undefined

  async call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    this.calls.push({ command, args })
    if (this.fail && command === this.fail) throw new Error(`cannot write to /srv/torrents: no space left on device`)
    switch (command) {
      case 'list':
        return this.torrents
      case 'status':
        return STATUS
      case 'events':
        return []
      case 'details':
        return details(this.torrents.find((t) => t.infoHash === args.id)!, args.files)
      case 'limit':
        return { downKiBps: args.downKiBps ?? 0, upKiBps: args.upKiBps ?? 512 }
      case 'add':
        // As the session does: a path is read there, and its one-line error comes back.
        if (typeof args.path === 'string') await readTorrentFile(args.path)
        return { summary: summary({ name: 'added.iso' }), added: true }
      case 'bans':
        return ['192.0.2.7', '2001:db8::7']
      case 'ban':
        return { address: args.address, closed: 1 }
      default:
        return this.torrents[0]
    }
  }

  /** The commands that act (reads left out). */
  actions(): { command: string; args: Record<string, unknown> }[] {
    return this.calls.filter((c) => !['list', 'status', 'events', 'details', 'bans'].includes(c.command))
  }
}

const strip = (s: string | undefined) => (s ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

function open(opts: { backend?: RecordingBackend; columns?: number; rows?: number; runCommand?: (argv: string[]) => Promise<{ code: number; lines: string[] }>; cwd?: string; debug?: boolean } = {}) {
  const backend = opts.backend ?? new RecordingBackend()
  let quits = 0
  const size = { columns: opts.columns ?? 80, rows: opts.rows ?? 24 }
  const ui = render(<Dashboard backend={backend} cwd={opts.cwd ?? '/'} refreshMs={60_000} onQuit={() => quits++} size={size} runCommand={opts.runCommand} debug={opts.debug} />)
  const frame = () => strip(ui.lastFrame())
  return {
    ui,
    backend,
    frame,
    quits: () => quits,
    /** Types keys one at a time, as a person would. */
    async press(...keys: string[]) {
      for (const k of keys) {
        ui.stdin.write(k)
        await new Promise((r) => setTimeout(r, 15))
      }
    },
    shows: (text: string) => until(() => frame().includes(text), `"${text}" in\n${frame()}`),
    async ready() {
      await until(() => frame().includes('debian-13'), 'the first poll')
      // Keys typed before Ink listens are lost in the test stdin (a terminal would buffer them).
      await until(() => ui.stdin.listenerCount('readable') > 0, 'Ink to read keys')
    },
  }
}

function assertFits(frame: string, columns: number, rows: number) {
  const lines = frame.split('\n')
  assert.ok(lines.length <= rows - 1, `${lines.length} lines do not leave the last of ${rows} rows free:\n${frame}`)
  for (const line of lines) assert.ok([...line].length <= columns, `a line is ${[...line].length} wide, over ${columns}: "${line}"`)
}

describe('dashboard list', () => {
  it('shows every torrent with size, progress bar, state, rates, peers and ETA, and the status bar, within 80×24', async () => {
    const d = open()
    await d.ready()
    const f = d.frame()
    assertFits(f, 80, 24)
    assert.match(f, /debian-13.*700M.*█.*50\.0%.*downloading.*2\.38M.*117K.*12\/80.*2m27s/)
    assert.match(f, /ubuntu-24.*5\.59G.*100\.0%.*seeding/)
    assert.match(f, /broken-download.*error/)
    assert.match(f, /all 4 .*downloading 1 .*seeding 1 .*paused 1 .*error 1/)
    assert.match(f, /↓ 2\.38M\/s  ↑ 996K\/s \[≤512K\]  peers 24  DHT 312  port 6881  free 52\.0G  \? help/)
    d.ui.unmount()
  })

  it('adds columns as the terminal widens and keeps every line inside it when narrow', async () => {
    const wide = open({ columns: 140, rows: 30 })
    await wide.ready()
    assertFits(wide.frame(), 140, 30)
    assert.match(wide.frame(), /Seeds.*ETA.*Ratio/)
    assert.match(wide.frame(), /ubuntu-24.*2\.00/, 'ratio: 12 GB up over 6 GB held')
    wide.ui.unmount()
    const narrow = open({ columns: 60, rows: 12 })
    await narrow.ready()
    assertFits(narrow.frame(), 60, 12)
    narrow.ui.unmount()
  })

  it('switches views with → and ←, sorts with o and O, filters with /', async () => {
    const d = open()
    await d.ready()
    await d.press(KEY.right)
    await d.shows('debian-13')
    assert.doesNotMatch(d.frame(), /ubuntu/, 'the downloading view hides the seed')
    await d.press(KEY.right, KEY.right)
    await until(() => /archlinux/.test(d.frame()) && !/debian/.test(d.frame()), `the paused view:\n${d.frame()}`)
    await d.press(KEY.left, KEY.left, KEY.left)
    const names = () => d.frame().match(/^(debian|ubuntu|archlinux|broken)/gm)
    const order = (expected: string[]) => until(() => JSON.stringify(names()) === JSON.stringify(expected), `${expected.join(', ')} in\n${d.frame()}`)
    await order(['debian', 'ubuntu', 'archlinux', 'broken'])
    await d.press('o') // by name
    await order(['archlinux', 'broken', 'debian', 'ubuntu'])
    await d.press('O')
    await order(['ubuntu', 'debian', 'broken', 'archlinux'])
    await d.press('/', 'd', 'e', 'b')
    await d.shows('/deb')
    await order(['debian'])
    await d.press(KEY.enter) // keeps the filter
    await order(['debian'])
    await d.press(KEY.escape)
    await until(() => names()?.length === 4, 'the filter cleared')
    d.ui.unmount()
  })
})

describe('dashboard keys become session commands', () => {
  const cases: { keys: string[]; command: string; args: Record<string, unknown>; on?: number }[] = [
    { keys: ['p'], command: 'pause', args: { id: TORRENTS[0].infoHash } },
    { keys: ['j', 'j', 'p'], command: 'resume', args: { id: TORRENTS[2].infoHash } },
    { keys: ['v'], command: 'verify', args: { id: TORRENTS[0].infoHash } },
    { keys: ['s'], command: 'start', args: { id: TORRENTS[0].infoHash } },
    { keys: [KEY.down, 'u'], command: 'queue', args: { id: TORRENTS[1].infoHash, direction: 'up' } },
    { keys: [KEY.down, 'K'], command: 'queue', args: { id: TORRENTS[1].infoHash, direction: 'up' } },
    { keys: ['J'], command: 'queue', args: { id: TORRENTS[0].infoHash, direction: 'down' } },
    { keys: ['d', 'r'], command: 'remove', args: { id: TORRENTS[0].infoHash, deleteData: false } },
    { keys: ['G', 'd', 'D', 'y'], command: 'remove', args: { id: TORRENTS[3].infoHash, deleteData: true } },
    { keys: ['l', ...'\u007F'.repeat(8), ...'300 50', KEY.enter], command: 'limit', args: { downKiBps: 300, upKiBps: 50 } },
    { keys: ['a', ...'0123456789abcdef0123456789abcdef01234567', KEY.enter], command: 'add', args: { magnet: '0123456789abcdef0123456789abcdef01234567', savePath: undefined, cwd: '/' } },
    { keys: ['a', ...'https://example.org/x.torrent', KEY.enter], command: 'add', args: { url: 'https://example.org/x.torrent', savePath: undefined, cwd: '/' } },
  ]
  for (const c of cases) {
    it(`${c.keys.map((k) => Object.entries(KEY).find(([, v]) => v === k)?.[0] ?? k).join(' ')} → ${c.command}`, async () => {
      const d = open()
      await d.ready()
      await d.press(...c.keys)
      await until(() => d.backend.actions().length > 0, `a ${c.command} call: ${JSON.stringify(d.backend.calls)} ${d.frame()}`)
      assert.deepEqual(d.backend.actions(), [{ command: c.command, args: c.args }])
      d.ui.unmount()
    })
  }

  it('never deletes data one key away: d d, d D n and d D d delete nothing', async () => {
    for (const keys of [['d', 'd'], ['d', 'D', 'n'], ['d', 'D', 'd'], ['D']]) {
      const d = open()
      await d.ready()
      // Keys are handled in order: once the help (a last ?) shows, every key before it has acted.
      await d.press(...keys, '?')
      await d.shows('friendtorrent keys')
      assert.deepEqual(d.backend.actions(), [], `${keys.join(' ')} must not remove anything`)
      d.ui.unmount()
    }
  })

  it('asks before deleting, naming the size and the folder', async () => {
    const d = open()
    await d.ready()
    await d.press('d')
    await d.shows('r: remove, keep the data')
    await d.press('D')
    await d.shows('delete 700 MiB of data in /srv/torrents for good? y: delete')
    d.ui.unmount()
  })

  it('adds a .torrent by path, completing it with Tab, and sends the path for the session to read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ft-tui-'))
    try {
      const built = buildTorrent({ name: 'tab', files: 40_000, pieceLength: 16384 })
      await writeFile(join(dir, 'my-linux.torrent'), built.torrent)
      await writeFile(join(dir, 'my-other.torrent'), built.torrent)
      const d = open({ cwd: dir })
      await d.ready()
      await d.press('a', 'm', 'y', KEY.tab)
      await d.shows('my-linux.torrent') // both offered
      assert.match(d.frame(), /add \(path or magnet, Tab completes\): my-\s*$/m)
      await d.press('l', KEY.tab)
      await d.shows(': my-linux.torrent')
      await d.press(KEY.enter)
      await until(() => d.backend.actions().length > 0, 'the add')
      const [call] = d.backend.actions()
      assert.equal(call.command, 'add')
      assert.equal(call.args.path, join(dir, 'my-linux.torrent'))
      assert.equal(call.args.torrentBase64, undefined, 'megabytes of torrent stay off the control channel')
      await d.shows('added added.iso')
      d.ui.unmount()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('shows a missing file and a failed command as one red line, and goes on', async () => {
    const backend = new RecordingBackend()
    backend.fail = 'pause'
    const d = open({ backend, cwd: '/nonexistent-ft' })
    await d.ready()
    await d.press('a', ...'nope.torrent', KEY.enter)
    await d.shows('add: cannot read /nonexistent-ft/nope.torrent: no such file')
    await d.press('p')
    await d.shows('pause: cannot write to /srv/torrents: no space left on device')
    await d.press('j')
    assert.match(d.frame(), /ubuntu/, 'still running')
    d.ui.unmount()
  })

  it('says the session is gone when its socket stops answering, and still quits with q', async () => {
    const backend = new RecordingBackend()
    const d = open({ backend })
    await d.ready()
    backend.fail = 'list'
    await d.press('p') // a command makes it poll again
    await d.shows('the session is unreachable: cannot write to /srv/torrents')
    await d.press('q')
    assert.equal(d.quits(), 1)
    d.ui.unmount()
  })

  it('runs a : command line through the CLI verbs and shows what it printed', async () => {
    const seen: string[][] = []
    const d = open({ runCommand: async (argv) => (seen.push(argv), { code: 0, lines: ['paused debian-13.2.0-amd64-netinst.iso'] }) })
    await d.ready()
    await d.press(':', ...'pause "debian 13"', KEY.enter)
    await d.shows('paused debian-13.2.0-amd64-netinst.iso')
    assert.deepEqual(seen, [['pause', 'debian 13']])
    await d.press(':', ...'seed', KEY.enter)
    await d.shows(':seed is not for the dashboard')
    assert.equal(seen.length, 1)
    d.ui.unmount()
  })

  it('q quits once; ? opens the help and any key closes it', async () => {
    const d = open()
    await d.ready()
    await d.press('?')
    await d.shows('friendtorrent keys')
    assertFits(d.frame(), 80, 24)
    assert.match(d.frame(), /never|remove: asks whether to keep or delete the data/)
    await d.press('x')
    await d.shows('debian-13')
    assert.equal(d.quits(), 0)
    await d.press('q', 'q')
    assert.equal(d.quits(), 1)
    d.ui.unmount()
  })
})

describe('dashboard detail view', () => {
  it('shows the file tree, peers with their source, trackers with countdowns, the piece map and info, each within 80 columns', async () => {
    const d = open()
    await d.ready()
    await d.press(KEY.enter)
    await d.shows('boot.img')
    assert.match(d.frame(), /▾ disc\/\s+4\.00 MiB.*25\.0% mixed/)
    assert.match(d.frame(), /^ {4}boot\.img\s+1\.00 MiB.*100\.0% normal/m)
    assert.match(d.frame(), /^ {4}extra\.iso\s+3\.00 MiB.*0\.0% skip/m)
    assertFits(d.frame(), 80, 24)
    await d.press(KEY.tab)
    await d.shows('127.0.0.1:51413')
    assert.match(d.frame(), /127\.0\.0\.1:51413\s+Transmission 3\.00\s+D\s+1\.14 MiB\/s\s+100\.0% tracker/)
    assert.match(d.frame(), /127\.0\.0\.2:6881\s+aria2 1\.37\.0\s+USIP.*29\.3 KiB\/s\s+25\.0% incoming/)
    assert.match(d.frame(), /mirror\.example\/\S*\s+web seed \(nginx\)\s+D\s+2\.38 MiB\/s\s+100\.0% web seed/)
    assert.match(d.frame(), /x disconnect · b ban its address · n add a peer/)
    assertFits(d.frame(), 80, 24)
    await d.press(KEY.right)
    await d.shows('Tracker')
    assert.match(d.frame(), /1\. http:\/\/127\.0\.0\.1:8000\/announce\s+ok\s+1m00s ago\s+in 29m00s\s+41\/6\/310/)
    assert.match(d.frame(), /2\. udp:\/\/127\.0\.0\.1:8001\s+error .*retry in 30s/)
    assert.match(d.frame(), /connection refused \(1 failed\) · scrape: no scrape reply/)
    assert.match(d.frame(), /2\. udp:\/\/127\.0\.0\.1:8001 .*\?\/\?\/\?/)
    assertFits(d.frame(), 80, 24)
    await d.press(KEY.right)
    await d.shows('12/16 pieces')
    // Pieces 0-7 and 12-15 verified, 10 and 11 in flight, 8 and 9 missing.
    assert.match(d.frame(), /^████████··░░████$/m)
    assert.match(d.frame(), /█ verified ▓ partly ░ in flight · missing/)
    await d.press('5')
    await d.shows('limits')
    assert.match(d.frame(), /limits\s+↓ 100 KiB\/s  ↑ none/)
    assert.match(d.frame(), /ratio\s+0\.00 \(|ratio\s+0\.00/)
    assert.match(d.frame(), /↓ down /)
    assert.match(d.frame(), /↑ up /)
    assertFits(d.frame(), 80, 24)
    await d.press(KEY.escape)
    await d.shows('ubuntu-24')
    d.ui.unmount()
  })

  it('folds and unfolds folders with ← → Enter; a folder skip is one priority command for every file in it; t shows the flat list', async () => {
    const d = open()
    await d.ready()
    await d.press(KEY.enter)
    await d.shows('boot.img')
    await d.press(KEY.left)
    await until(() => !d.frame().includes('boot.img'), `the folder folded:\n${d.frame()}`)
    assert.match(d.frame(), /▸ disc\//)
    await d.press(KEY.right)
    await d.shows('boot.img')
    await d.press(KEY.enter)
    await until(() => !d.frame().includes('boot.img'), 'Enter folds')
    await d.press(KEY.enter)
    await d.shows('boot.img')
    await d.press(' ')
    await until(() => d.backend.actions().length === 1, 'the folder skip')
    const id = TORRENTS[0].infoHash
    assert.deepEqual(d.backend.actions(), [{ command: 'priority', args: { id, folder: 'disc', priority: 'skip' } }])
    await d.shows('disc/: skip (2 files)')
    await d.press('j', '+')
    await until(() => d.backend.actions().length === 2, 'a file priority')
    assert.deepEqual(d.backend.actions()[1], { command: 'priority', args: { id, files: [0], priority: 'high' } })
    // ← from a file goes to its folder; → then moves into it.
    await d.press(KEY.left, '-')
    await until(() => d.backend.actions().length === 3, 'a folder priority down')
    assert.deepEqual(d.backend.actions()[2], { command: 'priority', args: { id, folder: 'disc', priority: 'low' } })
    await d.press('t')
    await d.shows('disc/boot.img')
    assert.match(d.frame(), /^disc\/extra\.iso\s+3\.00 MiB/m)
    d.ui.unmount()
  })

  it('acts on the torrent it shows: p in details pauses that torrent', async () => {
    const d = open()
    await d.ready()
    await d.press('j', KEY.enter)
    await d.shows('seeding  /srv/torrents')
    await d.press('p')
    await until(() => d.backend.actions().length > 0, 'pause')
    assert.deepEqual(d.backend.actions(), [{ command: 'pause', args: { id: TORRENTS[1].infoHash } }])
    d.ui.unmount()
  })

  it('A in the pieces tab asks the session for availability and draws it', async () => {
    const backend = new RecordingBackend()
    const plain = backend.call.bind(backend)
    backend.call = async (command, args = {}) => {
      const r = await plain(command, args)
      if (command === 'details' && args.availability === true) return { ...(r as TorrentDetails), availabilityBase64: Buffer.from([0, 0, 1, 1, 2, 2, 3, 3, 9, 9, 12, 12, 1, 1, 0, 0]).toString('base64') }
      return r
    }
    const d = open({ backend })
    await d.ready()
    await d.press(KEY.enter, '4')
    await d.shows('12/16 pieces')
    await d.press('A')
    await d.shows('peers having each piece')
    assert.match(d.frame(), /^0011223399\+\+1100$/m)
    assert.ok(backend.calls.some((c) => c.command === 'details' && c.args.availability === true))
    d.ui.unmount()
  })
})

describe('dashboard peer actions become one control command each', () => {
  const id = TORRENTS[0].infoHash
  const cases: { name: string; keys: string[]; command: string; args: Record<string, unknown> }[] = [
    { name: 'x disconnects the peer', keys: ['x'], command: 'disconnect', args: { id, peer: '127.0.0.1:51413' } },
    { name: 'b bans its address', keys: ['j', 'b'], command: 'ban', args: { address: '127.0.0.2' } },
    { name: 'n adds a peer by HOST:PORT', keys: ['n', ...'192.0.2.9:6881', KEY.enter], command: 'add-peers', args: { id, peers: ['192.0.2.9:6881'] } },
    { name: 'B lists the bans and x lifts one', keys: ['B', 'j', 'x'], command: 'unban', args: { address: '2001:db8::7' } },
  ]
  for (const c of cases) {
    it(c.name, async () => {
      const d = open()
      await d.ready()
      await d.press(KEY.enter, '2')
      await d.shows('127.0.0.1:51413')
      if (c.keys[0] === 'B') {
        await d.press('B')
        await d.shows('2001:db8::7')
        assert.match(d.frame(), /Banned addresses \(2\)/)
        assertFits(d.frame(), 80, 24)
      }
      await d.press(...c.keys.filter((k, i) => !(c.keys[0] === 'B' && i === 0)))
      await until(() => d.backend.actions().length > 0, `a ${c.command} call`)
      assert.deepEqual(d.backend.actions(), [{ command: c.command, args: c.args }])
      d.ui.unmount()
    })
  }

  it('says what a ban did', async () => {
    const d = open()
    await d.ready()
    await d.press(KEY.enter, '2', 'b')
    await d.shows('banned 127.0.0.1 in every torrent, closed 1 connection')
    d.ui.unmount()
  })
})

describe('dashboard log pane', () => {
  let backend: RecordingBackend
  before(() => {
    backend = new RecordingBackend()
    backend.call = async function (command, args = {}) {
      if (command === 'events') return [{ seq: 1, atMs: NOW, text: 'error broken-download: disk full writing a.bin' }]
      return RecordingBackend.prototype.call.call(this, command, args)
    }
  })
  after(() => {})

  it('--debug shows the session log lines within the frame', async () => {
    const d = open({ backend, debug: true })
    await d.ready()
    await d.shows('── log')
    await d.shows('error broken-download: disk full writing a.bin')
    assertFits(d.frame(), 80, 24)
    d.ui.unmount()
  })
})
