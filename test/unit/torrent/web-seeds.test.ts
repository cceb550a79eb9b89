// Who pays for a piece failing its hash check when web seeds took part: a web
// seed alone in it is dropped at once (one `dropped` event), one sharing it
// with peers is struck and dropped at maxStrikes, the peers are returned to
// be struck, and none are when a web seed dropped before had blocks in it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import bencode from 'bencode'
import type { BlockRef } from '../../../src/core/types.ts'
import { parseTorrentFile } from '../../../src/metainfo/metainfo.ts'
import { WebSeeds } from '../../../src/torrent/web-seeds.ts'
import type { RangeSink } from '../../../src/torrent/web-seed.ts'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { buildTorrent } from '../../helpers/make-torrent.ts'

class RecordingSink implements RangeSink {
  readonly peers = new Set<string>()
  pickRun(): BlockRef[] {
    return []
  }
  acceptBlock(): boolean {
    return true
  }
  releaseRequests(): void {}
  addPeer(key: string): void {
    this.peers.add(key)
  }
  handleHaveAll(): void {}
  removePeer(key: string): void {
    this.peers.delete(key)
  }
}

test('a web seed alone in a bad piece goes at once; sharing one, at maxStrikes; peers after a dropped one are spared', async () => {
  const dict = bencode.decode(buildTorrent({ name: 'x', files: 100_000, pieceLength: 16384 }).torrent) as Record<string, unknown>
  dict['url-list'] = ['http://a.example/x', 'http://b.example/x', 'ftp://c.example/x', 'http://a.example/x']
  const meta = await parseTorrentFile(Buffer.from(bencode.encode(dict)))
  const sink = new RecordingSink()
  const seeds = new WebSeeds({ meta, sink, clock: new FakeClock(), timeoutMs: 20_000, maxStrikes: 2 })
  const a = 'http://a.example/x'
  const b = 'http://b.example/x'
  assert.equal(seeds.size, 2, 'http(s) only, each once')
  assert.deepEqual([...sink.peers].sort(), [a, b], 'each is a seed to the picker')
  const dropped: string[] = []
  seeds.on('dropped', (url, reason) => dropped.push(`${url}: ${reason}`))

  assert.deepEqual(seeds.handlePieceFailed(3, [b, '10.0.0.1:6881']), ['10.0.0.1:6881'])
  assert.deepEqual(dropped, [], 'one strike is not enough with a peer in the piece')
  assert.deepEqual(seeds.handlePieceFailed(4, [a]), [])
  assert.deepEqual(dropped, [`${a}: piece 4 failed the hash check`])
  assert.equal(seeds.get(a), undefined)
  assert.ok(!sink.peers.has(a), 'gone from the picker')
  assert.deepEqual(seeds.handlePieceFailed(5, [a, '10.0.0.2:6881']), [], 'a dropped web seed had blocks in it: no peer struck')
  assert.deepEqual(seeds.handlePieceFailed(6, ['10.0.0.3:6881', b]), ['10.0.0.3:6881'])
  assert.deepEqual(dropped, [`${a}: piece 4 failed the hash check`, `${b}: piece 6 failed the hash check`], 'one line each')
  assert.deepEqual(seeds.snapshots(), [])
  seeds.stop()
})
