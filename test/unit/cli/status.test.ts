// The pure parts of `status` and `list`: counts by state, the human lines, no ETA for a seed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { listLine } from '../../../src/cli/library-commands.ts'
import { countByState, statusLines } from '../../../src/cli/status-command.ts'
import type { StatusReport } from '../../../src/cli/status-command.ts'
import type { TorrentSummary } from '../../../src/session/session.ts'

test('countByState: every state present, zero when none, and a total', () => {
  assert.deepEqual(countByState(['seeding', 'seeding', 'paused', 'fetching metadata']), {
    total: 4, 'fetching metadata': 1, queued: 0, checking: 0, downloading: 0, seeding: 2, paused: 1, error: 0,
  })
  assert.equal(countByState([]).total, 0)
})

function report(over: Partial<StatusReport>): StatusReport {
  return {
    running: true, stateDir: '/s', saveDir: '/d', freeBytes: 2 * 1024 ** 3, listenPort: 6881, dhtNodes: 120, connectedPeers: 7,
    portForwarding: { state: 'mapped', method: 'UPnP', externalAddress: '5.6.7.1', externalTcpPort: 6881, externalUdpPort: 6882 },
    downloadRateBytesPerSec: 1024, uploadRateBytesPerSec: 0, downloadLimitBytesPerSec: 0, uploadLimitBytesPerSec: 100 * 1024,
    torrents: countByState(['seeding', 'downloading']), crawl: null, ...over,
  }
}

test('statusLines: a running session and none', () => {
  assert.deepEqual(statusLines(report({}), '/s/control.sock'), [
    'session running: port 6881, control socket /s/control.sock',
    'torrents: 2 (1 downloading, 1 seeding)',
    '↓ 1.00 KiB/s (no limit)  ↑ 0 B/s (limit 100 KiB/s)',
    'peers 7, DHT nodes 120',
    'port forwarding: UPnP maps 5.6.7.1:6881 (TCP), :6882 (UDP)',
    'save folder /d: 2.00 GiB free',
  ])
  assert.equal(statusLines(report({ portForwarding: { state: 'failed', method: null, externalAddress: null, externalTcpPort: null, externalUdpPort: null } }), '/s')[4], 'port forwarding: no router mapped the port (see the log)')
  const crawl = {
    counters: { seen: 5200, new: 310, fetched: 120, failed: 40, dropped: 0, mismatched: 0, samples: 90 },
    perMinute: { seen: 480, fetched: 9 },
    gauges: { nodes: 812, staging: 12, lookups: 2, fetchQueue: 37, fetching: 2, storing: 3, databaseBytes: 3 * 1024 ** 2 },
    stopped: false,
  }
  assert.equal(
    statusLines(report({ crawl }), '/s').at(-1),
    'index crawl: 5200 hashes seen (480/min), 310 new, 120 fetched (9/min), 40 failed; queues: staging 12, lookup 2, fetch 37 (2 running), store 3; 812 nodes; database 3.00 MiB',
  )
  const lines = statusLines(report({ running: false, listenPort: null, dhtNodes: null, portForwarding: null, freeBytes: null, torrents: countByState([]) }), '/s/control.sock')
  assert.deepEqual(lines, [
    'no session is running (`friendtorrent seed` starts one)',
    'torrents: 0',
    'limits for the next session: ↓ no limit, ↑ limit 100 KiB/s',
    'save folder /d: free space unknown',
  ])
})

const summary = (over: Partial<TorrentSummary>): TorrentSummary => ({
  infoHash: 'c9e15763f722f23e98a29decdfae341b98d53056', name: 'x', state: 'seeding', error: null, savePath: '/d', sizeBytes: 1024, progress: 1,
  downloadRateBytesPerSec: 0, uploadRateBytesPerSec: 0, downloadedBytes: 0, uploadedBytes: 0, connectedPeers: 0, knownPeers: 0, seeds: 0,
  etaSeconds: 0, queuePosition: 0, addedAt: '2026-01-01T00:00:00.000Z', completedAt: null, ...over,
})

test('list: an ETA only while downloading, never for a seed', () => {
  assert.doesNotMatch(listLine(summary({ state: 'seeding', etaSeconds: 0 }), true), /ETA/)
  assert.doesNotMatch(listLine(summary({ state: 'paused', progress: 0.5, etaSeconds: null }), true), /ETA/)
  assert.match(listLine(summary({ state: 'downloading', progress: 0.5, etaSeconds: 90 }), true), /  ETA 1m30s$/)
  assert.doesNotMatch(listLine(summary({ state: 'downloading', progress: 0.5, etaSeconds: 90 }), false), /ETA|peers/)
})
