// The dashboard's pictures and pure parts from fixed inputs: the braille rate
// graph of a fixed series (exact cells), the graph component's labels, the
// file tree's folders and totals, the piece map, the # column at 1,000 rows,
// the status bar's external address, and NO_COLOR.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import chalk from 'chalk'
import { render } from 'ink-testing-library'
import type { TorrentSummary } from '../../src/session/session.ts'
import { buildTree, columnsOf, filesBelow, initialExpanded, nodeAt, nodeTotals, treeTotals, visibleNodes } from '../../src/session/file-tree.ts'
import { filePageOf, filesWindow } from '../../src/session/file-page.ts'
import { fitColumns, pieceMap, reuseUnchanged } from '../../src/tui/model.ts'
import { RateGraph } from '../../src/tui/rate-graph-view.tsx'
import { brailleGraph, niceTop, RateSeries } from '../../src/tui/rate-graph.ts'
import { statusLine } from '../../src/tui/status-bar.tsx'
import type { DashboardStatus } from '../../src/tui/status-bar.tsx'
import { PaletteContext, COLOURS, NO_COLOURS } from '../../src/tui/theme.ts'
import { TorrentList } from '../../src/tui/torrent-list.tsx'

const strip = (s: string | undefined) => (s ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')

describe('rate graph', () => {
  it('draws a fixed series as braille bars, two samples a cell, newest on the right', () => {
    // top 8 over 2 rows = 1 level per unit; 0 stays blank, any rate shows a dot.
    const lines = brailleGraph([0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 4, 0, 0.1], 8, 2, 8)
    assert.deepEqual(lines, ['    ⣠⣾⡇ ', '  ⣠⣾⣿⣿⣿⢀'.padEnd(8, ' ')])
    assert.equal(lines[1], '  ⣠⣾⣿⣿⣿⢀')
    assert.deepEqual(brailleGraph([], 4, 1, 1), ['    '])
    assert.deepEqual(brailleGraph([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], 2, 1, 5), ['⣿⣿'], 'only the last width×2 samples')
  })

  it('scales to 1, 2 or 5 times a power of 1024 steps', () => {
    assert.equal(niceTop(0), 1024)
    assert.equal(niceTop(900), 1000)
    assert.equal(niceTop(3000), 5 * 1024)
    assert.equal(niceTop(2_500_000), 5 * 1024 * 1024)
  })

  it('keeps a bounded history and knows when it is idle', () => {
    const s = new RateSeries(100)
    for (let i = 0; i < 1000; i++) s.push(i, 0)
    assert.ok(s.down.length <= 164 && s.snapshot().down.length === 100)
    assert.equal(s.snapshot().down.at(-1), 999)
    assert.equal(s.idle, false)
    const idle = new RateSeries(10)
    for (let i = 0; i < 5; i++) idle.push(0, 0)
    assert.equal(idle.idle, true)
  })

  it('renders labelled graphs for down and up with the rate now, the scale and the span', () => {
    const down = [0, 100_000, 200_000, 400_000, 800_000, 1_000_000]
    const up = [0, 0, 10_000, 10_000, 20_000, 30_000]
    const ui = render(<RateGraph history={{ down, up }} width={40} height={8} sampleMs={500} />)
    const frame = strip(ui.lastFrame())
    const lines = frame.split('\n')
    assert.match(lines[0], /^↓ down 977 KiB\/s\s+scale 1000 KiB\/s · 3s$/)
    assert.match(lines[4], /^↑ up 29\.3 KiB\/s\s+scale 50\.0 KiB\/s · 3s$/)
    assert.equal(lines.length, 8)
    for (const l of lines) assert.ok([...l].length <= 40, l)
    assert.match(lines[3], /⣿$/, 'the newest download sample fills its column')
    ui.unmount()
  })
})

describe('file tree', () => {
  const files = ['show/s01/e01.mkv', 'show/s01/e02.mkv', 'show/s02/e01.mkv', 'show/notes.txt', 'show/extras/a.txt'].map((path, index) => ({
    index: index + 1, // session numbering skips a padding file
    path,
    sizeBytes: 100 * (index + 1),
    priority: index === 3 ? ('skip' as const) : ('normal' as const),
    verifiedBytes: index < 2 ? 100 * (index + 1) : 0,
  }))

  it('groups files into folders, folders first, with sizes, progress and a mixed priority', () => {
    const tree = buildTree(files)
    assert.ok(tree.hasFolders)
    const open = initialExpanded(tree)
    const names = visibleNodes(tree, open, false).map((id) => `${'  '.repeat(nodeAt(tree, id).depth)}${nodeAt(tree, id).name}`)
    // A lone top folder opens one level further.
    assert.deepEqual(names, ['show', '  extras', '    a.txt', '  s01', '    e01.mkv', '    e02.mkv', '  s02', '    e01.mkv', '  notes.txt'])
    const totals = treeTotals(tree, columnsOf(files))
    const show = tree.folders[tree.folders[0].children[0]]
    assert.deepEqual(nodeTotals(show, totals), { sizeBytes: 1500, verifiedBytes: 300, priority: 'mixed' })
    const s01 = tree.folders.find((n) => n.name === 's01')!
    assert.deepEqual(nodeTotals(s01, totals), { sizeBytes: 300, verifiedBytes: 300, priority: 'normal' })
    assert.deepEqual(filesBelow(tree, s01).map((pos) => files[pos].index), [1, 2])
    assert.deepEqual(filesBelow(tree, show).map((pos) => files[pos].index).sort(), [1, 2, 3, 4, 5])
    const all = new Set(tree.folders.map((_, i) => i))
    assert.equal(visibleNodes(tree, all, false).length, 9)
    assert.deepEqual(
      visibleNodes(tree, open, true).map((id) => files[nodeAt(tree, id).file].path),
      ['show/extras/a.txt', 'show/s01/e01.mkv', 'show/s01/e02.mkv', 'show/s02/e01.mkv', 'show/notes.txt'],
    )
  })

  it('pages the rows the session sends: folders by path with their totals, a window of rows, folds and the flat list', () => {
    const page = filePageOf(files, filesWindow(undefined))
    assert.equal(page.total, 9)
    assert.deepEqual(page.expanded.sort(), ['show', 'show/extras', 'show/s01', 'show/s02'])
    assert.deepEqual(page.rows[0], { path: 'show', name: 'show', depth: 0, folder: true, open: true, fileIndex: -1, files: 5, sizeBytes: 1500, verifiedBytes: 300, priority: 'mixed' })
    assert.deepEqual(page.rows[4], { path: 'show/s01/e01.mkv', name: 'e01.mkv', depth: 2, folder: false, open: false, fileIndex: 1, files: 1, sizeBytes: 100, verifiedBytes: 100, priority: 'normal' })
    const folded = filePageOf(files, filesWindow({ expanded: ['show'], from: 1, count: 2 }))
    assert.equal(folded.total, 5, 'show open, its folders shut: show, extras, s01, s02, notes.txt')
    assert.deepEqual(folded.rows.map((r) => [r.path, r.open]), [['show/extras', false], ['show/s01', false]])
    assert.equal(folded.from, 1)
    const flat = filePageOf(files, filesWindow({ flat: true, from: 4, count: 10 }))
    assert.deepEqual(flat.rows.map((r) => r.name), ['show/notes.txt'])
    assert.equal(flat.total, 5)
    assert.throws(() => filesWindow({ from: -1 }), /whole numbers/)
    assert.throws(() => filesWindow({ expanded: [3] }), /folder paths/)
    assert.equal(filesWindow({ count: 10 ** 9 }).count, 2000, 'a window is capped')
  })

  it('a single file is a flat list', () => {
    assert.equal(buildTree([{ path: 'one.iso' }]).hasFolders, false)
  })
})

describe('list and status', () => {
  const t = (i: number): TorrentSummary => ({
    infoHash: i.toString(16).padStart(40, '0'),
    name: `t-${i}`,
    state: 'seeding',
    error: null,
    savePath: '/s',
    sizeBytes: 1000,
    progress: 1,
    downloadRateBytesPerSec: 0,
    uploadRateBytesPerSec: 0,
    downloadedBytes: 0,
    uploadedBytes: 0,
    connectedPeers: 0,
    knownPeers: 0,
    seeds: 0,
    etaSeconds: null,
    queuePosition: i,
    addedAt: '2026-11-01T10:00:00.000Z',
    completedAt: null,
  })

  it('widens the # column for 1,000 torrents', () => {
    assert.equal(fitColumns(120).columns[0].width, 3)
    assert.equal(fitColumns(120, 1000).columns[0].width, 4)
    const torrents = Array.from({ length: 1000 }, (_, i) => t(i))
    const ui = render(<TorrentList torrents={torrents} selected={999} width={120} height={10} sort="queue" descending={false} />)
    assert.match(strip(ui.lastFrame()), /^1000 t-999 /m)
    ui.unmount()
  })

  it('keeps unchanged torrents (and the list) from one poll to the next', () => {
    const prev = [t(1), t(2)]
    assert.equal(reuseUnchanged(prev, [t(1), t(2)]), prev)
    const next = reuseUnchanged(prev, [t(1), { ...t(2), uploadedBytes: 5 }])
    assert.notEqual(next, prev)
    assert.equal(next[0], prev[0])
    assert.notEqual(next[1], prev[1])
  })

  it('shows the external address and port mapping when the session reports them', () => {
    const s: DashboardStatus = { port: 6881, dhtNodes: 3, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadLimitBytesPerSec: 0, uploadLimitBytesPerSec: 0, connectedPeers: 0, torrents: 0, saveDir: '/s', freeBytes: 1e9 }
    assert.doesNotMatch(statusLine(s, undefined), /ext/)
    assert.match(statusLine({ ...s, portForwarding: { state: 'mapped', method: 'UPnP', externalAddress: '203.0.113.7', externalTcpPort: 6881, externalUdpPort: 6881 } }, undefined), /port 6881 ⇄ 203\.0\.113\.7:6881  free/)
  })

  it('the piece map marks verified, in flight and missing runs', () => {
    const verified = Uint8Array.from([0b11110000])
    const inFlight = Uint8Array.from([0b00001100])
    assert.equal(pieceMap(verified, 8, 8, inFlight), '████░░··')
    assert.equal(pieceMap(verified, 8, 4, inFlight), '██░·')
    assert.equal(pieceMap(Uint8Array.from([0b10000000]), 8, 4), '▓···')
  })
})

describe('NO_COLOR', () => {
  const list = (palette: typeof COLOURS) => {
    const torrent = { infoHash: 'a'.repeat(40), name: 'x', state: 'downloading', error: null, savePath: '/s', sizeBytes: 1, progress: 0.5, downloadRateBytesPerSec: 5, uploadRateBytesPerSec: 5, downloadedBytes: 0, uploadedBytes: 0, connectedPeers: 0, knownPeers: 0, seeds: 0, etaSeconds: 1, queuePosition: 0, addedAt: '', completedAt: null } as TorrentSummary
    const ui = render(
      <PaletteContext.Provider value={palette}>
        <TorrentList torrents={[torrent]} selected={0} width={100} height={4} sort="queue" descending={false} />
      </PaletteContext.Provider>,
    )
    const raw = ui.lastFrame() ?? ''
    ui.unmount()
    return raw
  }

  it('draws no colour, but keeps the selection inverse', () => {
    // Ink (through chalk) drops every escape when the output is no terminal: as a terminal would get them.
    const level = chalk.level
    chalk.level = 1
    try {
      const colour = /\u001B\[(3[0-7]|9[0-7])m/
      const withColour = list(COLOURS)
      const without = list(NO_COLOURS)
      assert.match(withColour, colour)
      assert.doesNotMatch(without, colour)
      assert.match(without, /\u001B\[7m/, 'the selected row is still inverse')
      assert.equal(strip(withColour), strip(without))
    } finally {
      chalk.level = level
    }
  })
})
