// A v2-only torrent (BEP 52) against a seeder that corrupts pieces: each bad
// piece fails its merkle check (the root of its 16 KiB blocks against the piece
// layer), is fetched again, and the peer that sent it is struck and, at
// maxStrikes, banned; the download then completes from an honest peer, byte
// for byte. (A bad single block is found when its piece is whole: block-level
// checks against block hashes are not built yet.)
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrentFile } from '../../src/cli/create-command.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const PIECE = 32 * 1024
const HOSTILE_HOST = '127.0.0.2'

function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length)
  let x = seed * 2654435761 + 1
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

test('v2: a seeder corrupting pieces is struck and banned by the merkle check; the download completes from an honest one', { timeout: 60_000 }, async (t) => {
  const work = tempDir('v2-hostile')
  t.after(work.cleanup)
  const data = bytes(6 * PIECE + 1000, 7)
  mkdirSync(join(work.path, 'src'))
  writeFileSync(join(work.path, 'src', 'v2.bin'), data)
  const created = await createTorrentFile(join(work.path, 'src', 'v2.bin'), { trackers: [], private: false, version: 'v2', pieceLength: PIECE })
  const meta = created.meta
  assert.equal(meta.hasV1, false)
  // The payload as pieces lie: the file, then its tail pad of zeros.
  const payload = Buffer.concat([data, Buffer.alloc(meta.length - data.length)])
  const out = join(work.path, 'out')
  mkdirSync(out)
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, out), peerId: newPeerId(), listenPort: 0, useTrackers: false, maxStrikes: 2 })
  const failed: number[] = []
  torrent.on('pieceFailed', (index, peers) => {
    failed.push(index)
    assert.ok(peers.every((p) => p.startsWith(`${HOSTILE_HOST}:`)), `only the hostile peer is blamed: ${peers.join(', ')}`)
  })
  const banned = new Promise<string>((resolve) => torrent.on('peerBanned', (host) => resolve(host)))
  const hostile = await startWirePeer({ infoHash: meta.infoHash, payload, pieceLength: PIECE, host: HOSTILE_HOST, corruptPieces: new Set([0, 1, 2, 3, 4, 5, 6]) })
  t.after(() => hostile.close())
  await torrent.start()
  t.after(() => torrent.stop())
  torrent.addPeers([{ host: HOSTILE_HOST, port: hostile.port, source: 'manual' }])
  assert.equal(await banned, HOSTILE_HOST)
  assert.ok(failed.length >= 2, `pieces failed: ${failed.join(', ')}`)
  const honest = await startWirePeer({ infoHash: meta.infoHash, payload, pieceLength: PIECE })
  t.after(() => honest.close())
  const complete = new Promise<void>((resolve) => torrent.once('complete', () => resolve()))
  torrent.addPeers([{ host: '127.0.0.1', port: honest.port, source: 'manual' }])
  await complete
  assert.ok(readFileSync(join(out, 'v2.bin')).equals(data), 'byte for byte')
})
