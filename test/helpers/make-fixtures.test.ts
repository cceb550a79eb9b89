import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import bencode from 'bencode'
import {
  makeOddLayout,
  makeSingleFile,
  ODD_LAYOUT,
  readInfoHash,
  writeWithAnnounce,
  type TorrentMaker,
} from '../../fixtures/make-fixtures.ts'
import { listFiles, sha1File } from './compare.ts'
import { requireBinaries } from './real-clients.ts'
import { tempDir } from './net.ts'

const ANNOUNCE = ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:1']

function torrentFiles(torrentPath: string): { path: string; length: number }[] {
  const info = bencode.decode(readFileSync(torrentPath)).info
  const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8')
  return info.files.map((f: any) => ({ path: [text(info.name), ...f.path.map(text)].join('/'), length: f.length }))
}

const makers: TorrentMaker[] = ['mktorrent', 'create-torrent']

for (const maker of makers) {
  test(`odd layout made with ${maker}: every file, the empty one too, is in the torrent`, async (t) => {
    // Without mktorrent the case is skipped on a workstation and fails under CI (requireBinaries).
    if (maker === 'mktorrent' && !requireBinaries(t, ['mktorrent'])) return
    const dir = tempDir(`odd-${maker}`)
    try {
      const fixture = await makeOddLayout(dir.path, { announce: ANNOUNCE, maker })
      const listed = torrentFiles(fixture.torrentPath)
      const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : 1)
      assert.deepEqual([...listed].sort(byPath), [...ODD_LAYOUT].sort(byPath))
      assert.deepEqual(await listFiles(fixture.payloadDir), ODD_LAYOUT.map((f) => f.path).sort())
      for (const file of ODD_LAYOUT) assert.equal(statSync(join(fixture.payloadDir, file.path)).size, file.length)
      const decoded = bencode.decode(readFileSync(fixture.torrentPath))
      assert.equal(decoded.info['piece length'], 32 * 1024)
      assert.equal(decoded.info.pieces.length, 20 * Math.ceil(fixture.totalBytes / (32 * 1024)))
      assert.deepEqual(
        decoded['announce-list'].map((tier: Uint8Array[]) => tier.map((u) => Buffer.from(u).toString())),
        ANNOUNCE.map((u) => [u]),
      )
    } finally {
      await dir.cleanup()
    }
  })
}

test('payloads are deterministic and not zeros', async () => {
  const a = tempDir('det-a')
  const b = tempDir('det-b')
  try {
    const fa = await makeOddLayout(a.path, { announce: ANNOUNCE })
    const fb = await makeOddLayout(b.path, { announce: ANNOUNCE })
    assert.equal(fa.infoHash, fb.infoHash)
    const path = 'odd/alpha.bin'
    assert.equal(await sha1File(join(fa.payloadDir, path)), await sha1File(join(fb.payloadDir, path)))
    const bytes = readFileSync(join(fa.payloadDir, path))
    assert.ok(bytes.subarray(0, 4096).some((x) => x !== 0))
    // Different files get different bytes (their seed is their path).
    assert.notDeepEqual(bytes.subarray(0, 64), readFileSync(join(fa.payloadDir, 'odd/nested/deeper/beta.bin')).subarray(0, 64))
  } finally {
    await a.cleanup()
    await b.cleanup()
  }
})

test('single file torrent, and a new announce list keeps the info hash', async () => {
  const dir = tempDir('single')
  try {
    const fixture = await makeSingleFile(dir.path, { sizeBytes: 100_000, pieceLength: 32 * 1024, announce: ANNOUNCE })
    assert.equal(statSync(join(fixture.payloadDir, fixture.name)).size, 100_000)
    assert.match(fixture.infoHash, /^[0-9a-f]{40}$/)
    const copy = join(dir.path, 'copy.torrent')
    await writeWithAnnounce(fixture.torrentPath, copy, ['http://127.0.0.1:9/announce'])
    assert.equal(await readInfoHash(copy), fixture.infoHash)
    assert.equal(Buffer.from(bencode.decode(readFileSync(copy)).announce).toString(), 'http://127.0.0.1:9/announce')
  } finally {
    await dir.cleanup()
  }
})
