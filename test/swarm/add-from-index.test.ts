// `friendtorrent add <info hash>` of a torrent the index holds: a real
// download on loopback from a peer that has every piece but serves no
// metadata (so a fetch could never finish), started from the stored info dict
// and complete byte for byte. Without an index the same add fetches metadata.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { torrentFromInfoDict } from '../../src/cli/index-lookup.ts'
import { openIndexStore } from '../../src/index/open-store.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { CLI_PATH, describeRun, isolatedEnv, runCli, testConfigJson } from '../helpers/cli.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

test('add of an indexed info hash starts from the stored info dict and downloads byte for byte from a peer that serves no metadata', { timeout: 90_000 }, async () => {
  const work = tempDir('store-add-index')
  const built = buildTorrent({ name: 'from the index', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 57 })
  const meta = await parseTorrentFile(built.torrent)
  // Every piece, no ut_metadata: only the index can tell our client what the torrent is.
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const home = join(work.path, 'home')
    isolatedEnv(home)
    const stateDir = join(work.path, 'state')
    writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ stateDir }))
    const index = await openIndexStore('', stateDir)
    await index.insert([
      {
        infoHash: meta.infoHashHex,
        name: meta.name,
        sizeBytes: meta.length,
        pieceLength: meta.pieceLength,
        pieceCount: meta.pieceCount,
        files: meta.files.map((f) => ({ path: f.path.join('/'), sizeBytes: f.length })),
        infoDict: meta.infoBuffer,
        collectedAt: Date.now(),
      },
    ])
    await index.close()

    const out = join(work.path, 'out')
    const run = await runCli(['add', meta.infoHashHex, '-o', out, '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`], { timeoutMs: 60_000, homeDir: home })
    assert.equal(run.code, 0, describeRun(run))
    assert.match(run.stdout, /^from the index: info dict from the index \(no metadata fetch\)$/m)
    assert.doesNotMatch(run.stdout, /fetching metadata|metadata verified/)
    let offset = 0
    for (const f of ODD_LAYOUT) {
      const got = readFileSync(join(out, 'from the index', ...f.path))
      assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(built.payload.subarray(offset, offset + f.length)).digest('hex'), f.path.join('/'))
      offset += f.length
    }
    // The library's .torrent is the stored info dict, byte for byte.
    const saved = await parseTorrentFile(readFileSync(join(stateDir, 'torrents', `${meta.infoHashHex}.torrent`)))
    assert.ok(saved.infoBuffer.equals(meta.infoBuffer))
  } finally {
    await peer.close()
    await work.cleanup()
  }
})

test('without an index, the same bare info hash fetches metadata as before (and this peer cannot give it)', { timeout: 60_000 }, async () => {
  const work = tempDir('store-add-noindex')
  const built = buildTorrent({ name: 'not indexed', files: 40_000, pieceLength: 16 * 1024, seed: 58 })
  const meta = await parseTorrentFile(built.torrent)
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const home = join(work.path, 'home')
    const env = isolatedEnv(home)
    writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ stateDir: join(work.path, 'state') }))
    // The index is looked at before the add: once it says it is fetching from peers, the choice is made.
    const add = new ManagedProcess('add', process.execPath, [CLI_PATH, 'add', meta.infoHashHex, '-o', join(work.path, 'out'), '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`], { env, cwd: work.path })
    try {
      await waitUntil(() => /fetching metadata from peers/.test(add.logs()) || !add.running, 8_000, `add to fetch metadata from peers:\n${add.tail()}`)
      assert.match(add.logs(), /fetching metadata from peers/, add.tail())
      assert.doesNotMatch(add.logs(), /from the index/)
    } finally {
      await add.stop()
    }
  } finally {
    await peer.close()
    await work.cleanup()
  }
})

test('the .torrent made from a stored info dict keeps its bytes (so its hash) and carries the link\'s trackers', async () => {
  const built = buildTorrent({ name: 'x', files: 1000, pieceLength: 16384, seed: 3 })
  const meta = await parseTorrentFile(built.torrent)
  const bare = await parseTorrentFile(torrentFromInfoDict(meta.infoBuffer, []))
  assert.equal(bare.infoHashHex, meta.infoHashHex)
  const tracked = await parseTorrentFile(torrentFromInfoDict(meta.infoBuffer, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']]))
  assert.equal(tracked.infoHashHex, meta.infoHashHex)
  assert.deepEqual(tracked.announce, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']])
})
