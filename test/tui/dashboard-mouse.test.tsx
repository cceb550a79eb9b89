// Clicks in the dashboard (ink-testing-library): an SGR mouse report written
// to stdin, as a terminal sends it, selects the torrent on that row (also
// once the list has scrolled), switches the view or the sort column, opens
// a torrent on a double click, switches a detail tab and picks a peer; with
// the mouse off, or in a prompt, a report is never typed as text.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { render } from 'ink-testing-library'
import type { TorrentDetails, TorrentSummary } from '../../src/session/session.ts'
import type { DashboardBackend } from '../../src/tui/backend.ts'
import { Dashboard } from '../../src/tui/dashboard.tsx'

function torrent(i: number): TorrentSummary {
  const name = `torrent-${String(i).padStart(2, '0')}`
  return {
    infoHash: Buffer.from(name.padEnd(20, '.')).toString('hex'),
    name,
    state: i % 2 ? 'seeding' : 'downloading',
    error: null,
    savePath: '/srv',
    sizeBytes: 1_000_000 * (40 - i),
    progress: i % 2 ? 1 : 0.5,
    downloadRateBytesPerSec: 0,
    uploadRateBytesPerSec: 0,
    downloadedBytes: 0,
    uploadedBytes: 0,
    connectedPeers: 3,
    knownPeers: 3,
    seeds: 0,
    etaSeconds: null,
    queuePosition: i,
    addedAt: '2026-11-01T10:00:00.000Z',
    completedAt: null,
  }
}

const TORRENTS = Array.from({ length: 40 }, (_, i) => torrent(i))
const PEER: Omit<TorrentDetails['peers'][number], 'key'> = { source: 'tracker', transport: 'tcp', client: 'Transmission 3.00', incoming: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false, snubbed: false, downloadRate: 0, uploadRate: 0, progress: 1, outstanding: 0 }

class Backend implements DashboardBackend {
  readonly attachedTo = undefined
  readonly calls: { command: string; args: Record<string, unknown> }[] = []
  async call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    this.calls.push({ command, args })
    switch (command) {
      case 'list':
        return TORRENTS
      case 'status':
        return { port: 6881, dhtNodes: 0, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadLimitBytesPerSec: 0, uploadLimitBytesPerSec: 0, connectedPeers: 0, torrents: 40, saveDir: '/srv', freeBytes: 1e12 }
      case 'events':
        return []
      case 'details': {
        const t = TORRENTS.find((x) => x.infoHash === args.id)!
        const details: TorrentDetails = {
          summary: t,
          pieceCount: 8,
          pieceLength: 262144,
          piecesBase64: Buffer.from([0xf0]).toString('base64'),
          limits: { uploadBytesPerSec: 0, downloadBytesPerSec: 0 },
          files: { total: 1, from: 0, flat: false, hasFolders: false, expanded: [], rows: [{ path: `${t.name}.iso`, name: `${t.name}.iso`, depth: 0, folder: false, open: false, fileIndex: 0, files: 1, sizeBytes: t.sizeBytes, priority: 'normal', verifiedBytes: 0 }] },
          peers: ['127.0.0.1:7001', '127.0.0.2:7002', '127.0.0.3:7003'].map((key) => ({ ...PEER, key })),
          trackers: [],
          nowMs: 1_800_000_000_000,
        }
        return details
      }
      default:
        return {}
    }
  }
  actions() {
    return this.calls.filter((c) => !['list', 'status', 'events', 'details'].includes(c.command))
  }
}

const strip = (s: string | undefined) => (s ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

async function until(check: () => boolean, what: string | (() => string), ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const opened: { unmount(): void }[] = []
afterEach(() => {
  for (const ui of opened.splice(0)) ui.unmount()
})

function open(opts: { mouse?: boolean } = {}) {
  const backend = new Backend()
  const ui = render(<Dashboard backend={backend} cwd="/" refreshMs={60_000} onQuit={() => {}} size={{ columns: 80, rows: 24 }} mouse={opts.mouse} />)
  opened.push(ui)
  const frame = () => strip(ui.lastFrame())
  const lines = () => frame().split('\n')
  /** The 0-based line and column where `text` first shows. */
  const where = (text: string) => {
    const y = lines().findIndex((l) => l.includes(text))
    assert.ok(y >= 0, `"${text}" is not on the screen:\n${frame()}`)
    return { x: lines()[y].indexOf(text), y }
  }
  const send = async (s: string) => {
    ui.stdin.write(s)
    await new Promise((r) => setTimeout(r, 15))
  }
  return {
    ui,
    backend,
    frame,
    where,
    send,
    /** A left press and release on a 0-based cell, as xterm reports it (SGR, 1-based). */
    click: async (x: number, y: number) => {
      await send(`\x1b[<0;${x + 1};${y + 1}M`)
      await send(`\x1b[<0;${x + 1};${y + 1}m`)
    },
    /** Which torrent `p` acts on: the selection. */
    async selected(): Promise<string> {
      const before = backend.actions().length
      await send('p')
      await until(() => backend.actions().length > before, `p to act:\n${frame()}`)
      const id = backend.actions().at(-1)!.args.id
      return TORRENTS.find((t) => t.infoHash === id)!.name
    },
    async ready() {
      await until(() => frame().includes('torrent-00'), 'the first poll')
      await until(() => ui.stdin.listenerCount('readable') > 0, 'Ink to read keys')
    },
  }
}

describe('dashboard mouse', () => {
  it('a click on a row selects that torrent, also in a scrolled list', async () => {
    const d = open()
    await d.ready()
    const row = d.where('torrent-05')
    await d.click(row.x + 2, row.y)
    assert.equal(await d.selected(), 'torrent-05')
    await d.send('G')
    await until(() => d.frame().includes('torrent-39'), 'the end of the list')
    const scrolled = d.where('torrent-30')
    await d.click(10, scrolled.y)
    assert.equal(await d.selected(), 'torrent-30')
    // The wheel moves the selection three rows.
    await d.send('\x1b[<65;10;10M')
    assert.equal(await d.selected(), 'torrent-33')
    d.ui.unmount()
  })

  it('a click on a view shows it; on a column header sorts by it, a second reverses', async () => {
    const d = open()
    await d.ready()
    const seeding = d.where(' seeding 20 ')
    await d.click(seeding.x + 3, seeding.y)
    await until(() => !d.frame().includes('torrent-00'), `the seeding view:\n${d.frame()}`)
    assert.match(d.frame(), /torrent-01/)
    const size = d.where('Size')
    await d.click(size.x + 1, size.y)
    await until(() => d.frame().includes('Size▲'), `sorted by size:\n${d.frame()}`)
    // Smallest first: torrent-39 is the smallest seeding one.
    assert.ok(d.where('torrent-39').y < d.where('torrent-37').y, d.frame())
    await d.click(size.x + 1, size.y)
    await until(() => d.frame().includes('Size▼'), `reversed:\n${d.frame()}`)
    d.ui.unmount()
  })

  it('a double click opens a torrent; a tab click switches; a peer row click picks what x disconnects', async () => {
    const d = open()
    await d.ready()
    const row = d.where('torrent-02')
    await d.send(`\x1b[<0;5;${row.y + 1}M\x1b[<0;5;${row.y + 1}m\x1b[<0;5;${row.y + 1}M\x1b[<0;5;${row.y + 1}m`)
    await until(() => d.frame().includes('torrent-02.iso'), `the details of torrent-02:\n${d.frame()}`)
    const tab = d.where(' 2 peers ')
    await d.click(tab.x + 2, tab.y)
    await until(() => d.frame().includes('127.0.0.3:7003'), `the peers tab:\n${d.frame()}`)
    const peer = d.where('127.0.0.3:7003')
    await d.click(peer.x, peer.y)
    await d.send('x')
    await until(() => d.backend.actions().length > 0, 'the disconnect')
    assert.deepEqual(d.backend.actions(), [{ command: 'disconnect', args: { id: TORRENTS[2].infoHash, peer: '127.0.0.3:7003' } }])
    d.ui.unmount()
  })

  it('a report is never typed: not into a prompt, not as keys with the mouse off', async () => {
    const d = open()
    await d.ready()
    await d.send('/')
    await until(() => /^filter:/m.test(d.frame()), () => `the filter prompt:\n${d.frame()}`)
    const row = d.where('torrent-05')
    await d.click(5, row.y)
    await d.send('x')
    await until(() => /filter: x/.test(d.frame()), `the filter holding only x:\n${d.frame()}`)
    d.ui.unmount()

    const off = open({ mouse: false })
    await off.ready()
    const r = off.where('torrent-05')
    // Its digits and letters would move and act if they were keys.
    await off.click(5, r.y)
    assert.equal(await off.selected(), 'torrent-00')
    assert.deepEqual(off.backend.actions().map((a) => a.command), ['pause'], 'only the p')
    off.ui.unmount()
  })
})
