// withPieceLayers: a v2 .torrent without "piece layers" gets them from the
// metainfo, every other key keeping its bytes (same info hash); a canonical
// .torrent that has them comes back byte for byte; the result parses and its
// layers are checked by the parser against each file's pieces root.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTorrentFile } from '../../../src/cli/create-command.ts'
import { valueEnd } from '../../../src/metainfo/bencode-span.ts'
import { parseTorrentFile } from '../../../src/metainfo/metainfo.ts'
import { withPieceLayers } from '../../../src/metainfo/torrent-file.ts'
import { pseudoRandomBytes } from '../../helpers/make-torrent.ts'
import { tempDir } from '../../helpers/net.ts'

/** The .torrent with its top-level "piece layers" key and value cut out. */
function withoutLayers(torrent: Buffer): Buffer {
  const key = Buffer.from('12:piece layers')
  const at = torrent.indexOf(key)
  assert.ok(at > 0)
  return Buffer.concat([torrent.subarray(0, at), torrent.subarray(valueEnd(torrent, at + key.length, 'test'))])
}

test('piece layers are spliced into a v2 .torrent that lacks them; every other key keeps its bytes', async (t) => {
  const work = tempDir('v2b-layers-file')
  t.after(work.cleanup)
  mkdirSync(join(work.path, 'd'))
  writeFileSync(join(work.path, 'd', 'big.bin'), pseudoRandomBytes(200_000, 1))
  writeFileSync(join(work.path, 'd', 'small.bin'), pseudoRandomBytes(900, 2))
  const created = await createTorrentFile(join(work.path, 'd'), { trackers: ['http://127.0.0.1:1/announce'], private: false, version: 'v2', pieceLength: 32768, comment: 'kept as it was' })
  const full = created.bytes
  const meta = created.meta
  assert.ok(meta.v2!.files.some((f) => f.layer), 'the big file has a piece layer')
  assert.ok(withPieceLayers(full, meta).equals(full), 'a canonical .torrent with its layers comes back byte for byte')

  const bare = withoutLayers(full)
  const bareMeta = await parseTorrentFile(bare)
  assert.ok(bareMeta.v2!.files.every((f) => f.layer === undefined), 'no layers without the key')
  assert.ok(withPieceLayers(bare, meta).equals(full), 'spliced back where bytewise order puts it: the same bytes')
  assert.equal(withPieceLayers(bare, bareMeta).includes(Buffer.from('12:piece layersde')), true, 'no layer known: an empty dict')
  const reparsed = await parseTorrentFile(withPieceLayers(bare, meta))
  assert.equal(reparsed.infoHashHex, meta.infoHashHex)
  assert.equal(reparsed.comment, 'kept as it was')
})
