// BEP 52: a v2-only torrent added by magnet gets its info dict over BEP 9
// (no piece layers) and its piece layers from our seeder by hash requests;
// the session then writes them into the library's stored .torrent. Checked
// independently: the stored file keeps the info hash, and its layers are the
// ones computed here from the source files (and hash up to each file's pieces
// root). A restart with no peer at all rechecks the data from them alone.
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrentFile } from '../../src/cli/create-command.ts'
import { magnetUri, parseMagnetOrInfoHash } from '../../src/metainfo/magnet.ts'
import { pieceRoot, rootFromLayer } from '../../src/metainfo/merkle.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Session } from '../../src/session/session.ts'
import { pseudoRandomBytes } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { openTestSession } from '../helpers/session.ts'

const PIECE = 32 * 1024
const FILES: [name: string, length: number][] = [['a.bin', 300_017], ['b.bin', 70_001], ['c.bin', 1000]]
const quiet = { startDht: async () => undefined, lsd: false, portForwarding: false }

async function stateOf(session: Session, hash: string, want: string, timeoutMs: number): Promise<void> {
  await waitUntil(() => session.list().find((t) => t.infoHash === hash)?.state === want, timeoutMs, `${want}: ${JSON.stringify(session.list())}`)
}

test('v2 by magnet: piece layers fetched from peers are stored in the library .torrent; a restart rechecks with no peer', { timeout: 90_000 }, async (t) => {
  const work = tempDir('v2b-magnet-layers')
  t.after(work.cleanup)
  const src = join(work.path, 'src')
  mkdirSync(join(src, 'lay'), { recursive: true })
  const data = new Map(FILES.map(([name, length], i) => [name, pseudoRandomBytes(length, i + 1)]))
  for (const [name, bytes] of data) writeFileSync(join(src, 'lay', name), bytes)
  const created = await createTorrentFile(join(src, 'lay'), { trackers: [], private: false, version: 'v2', pieceLength: PIECE })
  const meta = created.meta
  const torrentPath = join(work.path, 'lay.torrent')
  writeFileSync(torrentPath, created.bytes)
  const seeder = await startOurSeeder({ torrentPath, dataDir: src, useTrackers: false })
  t.after(() => seeder.stop())

  const stateDir = join(work.path, 'state')
  const out = join(work.path, 'out')
  const hash = meta.infoHashHex
  const stored = join(stateDir, 'torrents', `${hash}.torrent`)
  const first = await openTestSession(stateDir, quiet)
  t.after(() => first.close())
  await first.start()
  const link = parseMagnetOrInfoHash(magnetUri({ infoHashHex: hash, infoHashV2: meta.v2!.infoHash, v1: false, name: 'lay' }))
  first.addPeers(link.infoHashHex, [{ host: '127.0.0.1', port: seeder.port }])
  await first.addMagnet(link, out)
  await stateOf(first, hash, 'seeding', 30_000)
  for (const [name, bytes] of data) assert.ok(readFileSync(join(out, 'lay', name)).equals(bytes), `${name} byte for byte`)
  const hasLayers = async (): Promise<boolean> => (await parseTorrentFile(readFileSync(stored))).v2!.files.every((f) => f.length <= PIECE || f.layer)
  await waitUntil(hasLayers, 10_000, 'the stored .torrent gets its piece layers')
  await first.close()
  await seeder.stop()

  // Judged apart from the code under test: the layers from the source files, piece by piece.
  const saved = await parseTorrentFile(readFileSync(stored))
  assert.equal(saved.infoHashHex, hash, 'the same info dict')
  const withLayers = saved.v2!.files.filter((f) => f.layer)
  assert.equal(withLayers.length, 2, 'a.bin and b.bin are longer than a piece; c.bin has only its root')
  for (const f of withLayers) {
    const bytes = data.get(saved.files[f.fileIndex].path.at(-1)!)!
    const expected = Buffer.concat(Array.from({ length: Math.ceil(bytes.length / PIECE) }, (_, i) => pieceRoot(bytes.subarray(i * PIECE, (i + 1) * PIECE), PIECE, bytes.length)))
    assert.ok(f.layer!.equals(expected), `${saved.files[f.fileIndex].path.join('/')}: its piece layer`)
    assert.ok(rootFromLayer(f.layer!, PIECE).equals(f.root), 'hashes up to its pieces root')
  }

  // No peer, no DHT: a full recheck can only pass with the stored layers.
  const second = await openTestSession(stateDir, quiet)
  t.after(() => second.close())
  await second.start()
  await stateOf(second, hash, 'seeding', 30_000)
  await second.verify(hash)
  await stateOf(second, hash, 'seeding', 30_000)
  const after = second.list().find((x) => x.infoHash === hash)!
  assert.equal(after.progress, 1)
  assert.equal(after.connectedPeers, 0)
})
