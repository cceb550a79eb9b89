// infoHashHexOf (the info hash of .torrent bytes without a full parse, as the
// state store checks what it is given) agrees with the full parse for every
// torrent of libtorrent's v1, v2 and hybrid corpus that loads: the SHA-1 of a
// v1 or hybrid info dict, the SHA-256 cut to 20 bytes of a v2-only one.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { infoHashHexOf, parseTorrentFile } from '../../../src/metainfo/metainfo.ts'

const DIR = new URL('../../../fixtures/libtorrent-v2/', import.meta.url)

test('infoHashHexOf matches the parsed info hash for v1, v2-only and hybrid torrents', async () => {
  let v2Only = 0
  let hybrid = 0
  for (const name of readdirSync(DIR).filter((n) => n.endsWith('.torrent'))) {
    const bytes = readFileSync(new URL(name, DIR))
    let meta
    try {
      meta = await parseTorrentFile(bytes)
    } catch {
      continue // one libtorrent refuses too: nothing to compare
    }
    assert.equal(infoHashHexOf(bytes), meta.infoHash.toString('hex'), name)
    if (meta.v2 && !meta.hasV1) v2Only++
    if (meta.v2 && meta.hasV1) hybrid++
  }
  assert.ok(v2Only > 0 && hybrid > 0, `the corpus has both kinds (v2-only ${v2Only}, hybrid ${hybrid})`)
})
