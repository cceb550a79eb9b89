// The open torrent's details are polled every refresh; when only the
// session's clock moved, a tab that shows no time (files, peers) is not drawn
// again, while the trackers tab (countdowns) is drawn on every poll.
import assert from 'node:assert/strict'
import { afterEach, it } from 'node:test'
import { render } from 'ink-testing-library'
import type { TorrentDetails, TorrentSummary } from '../../src/session/session.ts'
import type { DashboardBackend } from '../../src/tui/backend.ts'
import { Dashboard } from '../../src/tui/dashboard.tsx'

const T: TorrentSummary = {
  infoHash: 'ab'.repeat(20), name: 'clocked', state: 'seeding', error: null, savePath: '/srv', sizeBytes: 1_000_000, progress: 1, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0,
  downloadedBytes: 0, uploadedBytes: 0, connectedPeers: 2, knownPeers: 2, seeds: 0, etaSeconds: null, queuePosition: 0, addedAt: '2026-11-01T10:00:00.000Z', completedAt: null,
}
const PEER: Omit<TorrentDetails['peers'][number], 'key'> = { source: 'incoming', transport: 'tcp', client: 'qBittorrent 4.6', incoming: true, amChoking: true, amInterested: false, peerChoking: true, peerInterested: true, snubbed: false, downloadRate: 0, uploadRate: 0, progress: 0, outstanding: 0 }

class ClockBackend implements DashboardBackend {
  readonly attachedTo = undefined
  details = 0
  async call(command: string): Promise<unknown> {
    if (command === 'list') return [T]
    if (command === 'status') return { port: 6881, dhtNodes: 0, downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadLimitBytesPerSec: 0, uploadLimitBytesPerSec: 0, connectedPeers: 2, torrents: 1, saveDir: '/srv', freeBytes: 1e12 }
    if (command === 'events') return []
    if (command !== 'details') return {}
    this.details++
    // The session's clock moves on every answer; nothing else does.
    const nowMs = 1_800_000_000_000 + this.details * 1000
    const d: TorrentDetails = {
      summary: T, pieceCount: 8, pieceLength: 262144, piecesBase64: Buffer.from([0xff]).toString('base64'), limits: { uploadBytesPerSec: 0, downloadBytesPerSec: 0 },
      files: { total: 1, from: 0, flat: false, hasFolders: false, expanded: [], rows: [{ path: 'clocked.iso', name: 'clocked.iso', depth: 0, folder: false, open: false, fileIndex: 0, files: 1, sizeBytes: 1_000_000, priority: 'normal', verifiedBytes: 1_000_000 }] },
      peers: ['127.0.0.1:7001', '127.0.0.2:7002'].map((key) => ({ ...PEER, key })),
      trackers: [{ url: 'http://127.0.0.1:8000/announce', tier: 0, state: 'ok', lastAnnounceAtMs: 1_800_000_000_000, nextAnnounceAtMs: 1_800_001_800_000, failures: 0, peersReceived: 2 }],
      nowMs,
    }
    return d
  }
}

const uis: { unmount(): void }[] = []
afterEach(() => {
  for (const ui of uis.splice(0)) ui.unmount()
})

async function until(check: () => boolean, what: () => string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

it('a peers tab whose peers did not change is not drawn again; the trackers tab counts down every poll', async () => {
  const backend = new ClockBackend()
  const ui = render(<Dashboard backend={backend} cwd="/" refreshMs={40} onQuit={() => {}} size={{ columns: 80, rows: 24 }} />)
  uis.push(ui)
  const frame = () => (ui.lastFrame() ?? '').replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')
  await until(() => frame().includes('clocked') && ui.stdin.listenerCount('readable') > 0, frame)
  ui.stdin.write('\r')
  await until(() => frame().includes('clocked.iso'), frame)
  ui.stdin.write('2')
  await until(() => frame().includes('127.0.0.2:7002'), frame)
  // Let a poll or two settle, then count frames over ten more polls.
  const settled = backend.details + 2
  await until(() => backend.details >= settled, () => `polls: ${backend.details}`)
  const frames = ui.frames.length
  const polls = backend.details
  await until(() => backend.details >= polls + 10, () => `polls: ${backend.details}`)
  assert.equal(ui.frames.length, frames, 'no frame drawn while only the clock moved')

  ui.stdin.write('3')
  await until(() => frame().includes('Tracker'), frame)
  const trackerFrames = ui.frames.length
  const trackerPolls = backend.details
  await until(() => backend.details >= trackerPolls + 10, () => `polls: ${backend.details}`)
  assert.ok(ui.frames.length >= trackerFrames + 5, `the countdown is drawn again: ${ui.frames.length - trackerFrames} frames over 10 polls`)
})
