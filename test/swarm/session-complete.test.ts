// What a foreground add needs from the session: `complete` whenever every
// wanted piece is verified and resume data saved, but `completed` only when a
// download finished (not for data a check found whole); peers given by hand;
// and a session that runs only what was added through it.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { TorrentSummary } from '../../src/session/session.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import type { BuiltTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitFor } from '../helpers/net.ts'
import { openTestSession } from '../helpers/session.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

function writePayload(built: BuiltTorrent, name: string, dir: string): void {
  let offset = 0
  for (const f of ODD_LAYOUT) {
    mkdirSync(join(dir, name, ...f.path.slice(0, -1)), { recursive: true })
    writeFileSync(join(dir, name, ...f.path), built.payload.subarray(offset, offset + f.length))
    offset += f.length
  }
}

test('data found whole is complete but not "completed"; a download through a peer given by hand is both', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-session-complete')
  const whole = buildTorrent({ name: 'whole', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 61 })
  const fetched = buildTorrent({ name: 'fetched', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 62 })
  const peer = await startWirePeer({ infoHash: fetched.infoHash, payload: fetched.payload, pieceLength: fetched.pieceLength })
  const session = await openTestSession(join(work.path, 'state'))
  try {
    const out = join(work.path, 'out')
    writePayload(whole, 'whole', out)
    const completed: string[] = []
    const complete: string[] = []
    session.on('completed', (s) => completed.push(s.name))
    session.on('complete', (s) => complete.push(s.name))
    await session.start()

    const wholeDone = waitFor<[TorrentSummary]>(session, 'complete', 15_000)
    await session.add(whole.torrent, out)
    await wholeDone
    assert.deepEqual([complete, completed], [['whole'], []])

    const fetchedDone = waitFor<[TorrentSummary]>(session, 'completed', 30_000)
    session.addPeers(fetched.infoHash.toString('hex'), [{ host: '127.0.0.1', port: peer.port }])
    await session.add(fetched.torrent, out)
    await fetchedDone
    assert.ok(peer.stats.blocksServed > 0, 'the peer given by hand served it')
    assert.deepEqual(completed, ['fetched'])
    assert.ok(complete.includes('fetched'))
  } finally {
    await session.close()
    await peer.close()
    await work.cleanup()
  }
})

test('a session that runs only what is added through it leaves the rest of the library as stored', { timeout: 60_000 }, async () => {
  const work = tempDir('ft-session-only')
  const stateDir = join(work.path, 'state')
  const out = join(work.path, 'out')
  const other = buildTorrent({ name: 'other', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 71 })
  const mine = buildTorrent({ name: 'mine', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 72 })
  writePayload(other, 'other', out)
  writePayload(mine, 'mine', out)
  try {
    // A library with a complete torrent in it.
    const first = await openTestSession(stateDir)
    await first.start()
    const done = waitFor(first, 'complete', 15_000)
    await first.add(other.torrent, out)
    await done
    await first.close()

    const only = await openTestSession(stateDir, { runOnlyAdded: true })
    try {
      await only.start()
      const mineDone = waitFor(only, 'complete', 15_000)
      await only.add(mine.torrent, out)
      await mineDone
      const byName = Object.fromEntries(only.list().map((t) => [t.name, t]))
      assert.equal(byName.mine.state, 'seeding')
      assert.equal(byName.other.state, 'seeding', 'listed as stored')
      assert.equal(only.status().connectedPeers, 0)
      // Only "mine" runs: its snapshot has live rates; "other" has none to give.
      const details = await only.details('other')
      assert.deepEqual(details.peers, [])
      assert.equal(byName.other.etaSeconds, null, 'not running: no ETA at all')
      assert.equal(byName.mine.etaSeconds, null, 'seeding: nothing left to wait for, no ETA')
    } finally {
      await only.close()
    }
  } finally {
    await work.cleanup()
  }
})
