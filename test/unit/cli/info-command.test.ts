// `friendtorrent info` run as a user would (the built binary, an isolated
// home): --json on a single-file, a multi-file, a private torrent and a magnet,
// the human output of a multi-file one, a torrent found in the library by name
// and by hash prefix with no session running, and one-line errors.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import bencode from 'bencode'
import { describeRun, isolatedEnv, runCli } from '../../helpers/cli.ts'
import { buildTorrent, ODD_LAYOUT } from '../../helpers/make-torrent.ts'
import { tempDir } from '../../helpers/net.ts'
import { StateStore } from '../../../src/session/state-store.ts'
import { paths } from '../../../src/cli/config.ts'

const TIMEOUT_MS = 20_000

async function info(args: string[], homeDir: string): Promise<{ code: number | null; stdout: string; stderr: string; json: () => Record<string, unknown> }> {
  const run = await runCli(['info', ...args], { timeoutMs: TIMEOUT_MS, homeDir })
  return { code: run.code, stdout: run.stdout, stderr: run.stderr, json: () => { assert.equal(run.code, 0, describeRun(run)); return JSON.parse(run.stdout) } }
}

/** The ODD_LAYOUT torrent with a second "tail.bin" (renamed on load), trackers in two tiers and the display-only fields. */
function multiFileTorrent(): { torrent: Buffer; infoHash: string } {
  const built = buildTorrent({ name: 'odd', files: [...ODD_LAYOUT, { path: ['TAIL.bin'], length: 3 }], pieceLength: 32 * 1024 })
  const dict = bencode.decode(built.torrent) as Record<string, unknown>
  const top = {
    ...dict,
    announce: 'http://tracker.one/announce',
    'announce-list': [['http://tracker.one/announce', 'udp://tracker.two:6969'], ['https://backup.example/announce']],
    'url-list': ['https://seed.example/files'],
    comment: 'friends only',
    'created by': 'friendtorrent test',
    'creation date': 1700000000,
    nodes: [['127.0.0.1', 6881], ['router.example', 6882]],
  }
  return { torrent: Buffer.from(bencode.encode(top)), infoHash: built.infoHash.toString('hex') }
}

test('info --json on a single-file torrent: every field, nothing downloaded', async (t) => {
  const home = tempDir('info-single')
  t.after(() => home.cleanup())
  const built = buildTorrent({ name: 'one.bin', files: 100_000, pieceLength: 16 * 1024, announce: ['http://tracker.one/announce'] })
  const file = join(home.path, 'one.torrent')
  await writeFile(file, built.torrent)
  const out = (await info([file, '--json'], home.path)).json()
  assert.deepEqual(out, {
    kind: 'torrent',
    source: 'file',
    infoHash: built.infoHash.toString('hex'),
    name: 'one.bin',
    sizeBytes: 100_000,
    pieceLength: 16 * 1024,
    pieceCount: 7,
    private: false,
    files: [{ index: 0, path: 'one.bin', sizeBytes: 100_000, executable: false, symlink: null }],
    trackers: [['http://tracker.one/announce']],
    webSeeds: [],
    dhtNodes: [],
    comment: null,
    createdBy: null,
    creationDate: null,
    pathChanges: [],
    magnet: `magnet:?xt=urn:btih:${built.infoHash.toString('hex')}&dn=one.bin&tr=http%3A%2F%2Ftracker.one%2Fannounce`,
  })
})

test('info --json on a multi-file torrent: files, tiers, web seeds, DHT nodes, comment, creator, date and a renamed path', async (t) => {
  const home = tempDir('info-multi')
  t.after(() => home.cleanup())
  const { torrent, infoHash } = multiFileTorrent()
  const file = join(home.path, 'odd.torrent')
  await writeFile(file, torrent)
  const out = (await info([file, '--json'], home.path)).json()
  assert.equal(out.infoHash, infoHash)
  assert.equal(out.sizeBytes, ODD_LAYOUT.reduce((n, f) => n + f.length, 0) + 3)
  assert.deepEqual((out.files as { path: string; sizeBytes: number }[]).map((f) => [f.path, f.sizeBytes]), [
    ...ODD_LAYOUT.map((f) => [['odd', ...f.path].join('/'), f.length]),
    ['odd/TAIL.1.bin', 3],
  ])
  assert.deepEqual(out.trackers, [['http://tracker.one/announce', 'udp://tracker.two:6969'], ['https://backup.example/announce']])
  assert.deepEqual(out.webSeeds, ['https://seed.example/files/'])
  assert.deepEqual(out.dhtNodes, ['127.0.0.1:6881', 'router.example:6882'])
  assert.equal(out.comment, 'friends only')
  assert.equal(out.createdBy, 'friendtorrent test')
  assert.equal(out.creationDate, '2023-11-14T22:13:20.000Z')
  assert.deepEqual(out.pathChanges, [{ file: ODD_LAYOUT.length, original: ['odd', 'TAIL.bin'], safe: 'odd/TAIL.1.bin', why: `same path as file ${ODD_LAYOUT.length}` }])
})

test('info on a multi-file torrent for a person: the header, trackers by tier, the file tree and the changed path', async (t) => {
  const home = tempDir('info-human')
  t.after(() => home.cleanup())
  const { torrent, infoHash } = multiFileTorrent()
  const file = join(home.path, 'odd.torrent')
  await writeFile(file, torrent)
  const run = await info([file], home.path)
  assert.equal(run.code, 0, run.stderr)
  assert.equal(run.stderr, '')
  const lines = run.stdout.split('\n')
  for (const line of [
    'Name:        odd',
    `Info hash:   ${infoHash}`,
    'Size:        921 KiB (943321 bytes) in 7 files',
    'Pieces:      29 × 32.0 KiB',
    'Private:     no',
    'Created by:  friendtorrent test',
    'Created on:  2023-11-14 22:13:20 UTC',
    'Comment:     friends only',
    '  tier 1: http://tracker.one/announce, udp://tracker.two:6969',
    '  tier 2: https://backup.example/announce',
    '  https://seed.example/files/',
    '  router.example:6882',
    '  odd/',
    '    données/',
    '      deep/',
    '        zero-again  0 B',
    '        odd.dat  760 KiB',
    '      ñandú.bin  97.7 KiB',
    '    empty.txt  0 B',
    '    one.bin  1 B',
    '    TAIL.1.bin  3 B',
    `  odd/TAIL.bin → odd/TAIL.1.bin (same path as file ${ODD_LAYOUT.length})`,
  ]) assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in:\n${run.stdout}`)
  assert.ok(lines.indexOf('    données/') < lines.indexOf('    empty.txt  0 B'), 'folders before files')
})

test('info --json on a private torrent says so', async (t) => {
  const home = tempDir('info-private')
  t.after(() => home.cleanup())
  const built = buildTorrent({ name: 'secret.bin', files: 20_000, pieceLength: 16 * 1024, announce: ['https://private.example/announce?passkey=abc'] })
  const dict = bencode.decode(built.torrent) as { info: Record<string, unknown> }
  dict.info.private = 1
  const file = join(home.path, 'secret.torrent')
  await writeFile(file, Buffer.from(bencode.encode(dict)))
  const out = (await info([file, '--json'], home.path)).json()
  assert.equal(out.private, true)
  assert.notEqual(out.infoHash, built.infoHash.toString('hex'), 'the private flag is part of the info hash')
  assert.deepEqual(out.trackers, [['https://private.example/announce?passkey=abc']])
  const human = await info([file], home.path)
  assert.match(human.stdout, /^Private: {5}yes \(trackers only: no DHT, no PEX\)$/m)
})

test('info --json on a magnet link: what the link says', async (t) => {
  const home = tempDir('info-magnet')
  t.after(() => home.cleanup())
  const hash = 'c9e15763f722f23e98a29decdfae341b98d53056'
  const link = `magnet:?xt=urn:btih:${hash.toUpperCase()}&dn=Some%20Name&tr=udp%3A%2F%2Ftracker.two%3A6969&tr=http%3A%2F%2Ftracker.one%2Fannounce&x.pe=127.0.0.1:6881&x.pe=%5B::1%5D:51413`
  const out = (await info([link, '--json'], home.path)).json()
  assert.deepEqual(out, {
    kind: 'magnet',
    infoHash: hash,
    name: 'Some Name',
    trackers: [['udp://tracker.two:6969'], ['http://tracker.one/announce']],
    peers: ['127.0.0.1:6881', '[::1]:51413'],
    magnet: `magnet:?xt=urn:btih:${hash}&dn=Some+Name&tr=udp%3A%2F%2Ftracker.two%3A6969&tr=http%3A%2F%2Ftracker.one%2Fannounce`,
  })
})

test('info finds a torrent in the library by name and by hash prefix, with no session running', async (t) => {
  const home = tempDir('info-library')
  t.after(() => home.cleanup())
  const built = buildTorrent({ name: 'kept.bin', files: 50_000, pieceLength: 16 * 1024 })
  const hash = built.infoHash.toString('hex')
  const store = await StateStore.open(paths(isolatedEnv(home.path)).dataDir)
  await store.add({ infoHash: hash, name: 'kept.bin', savePath: home.path, state: 'paused', uploadedBytes: 0, downloadedBytes: 0, addedAtMs: Date.now(), queuePosition: 0 }, built.torrent)
  for (const id of ['kept.bin', hash.slice(0, 8)]) {
    const out = (await info([id, '--json'], home.path)).json()
    assert.equal(out.source, 'library', id)
    assert.equal(out.infoHash, hash)
    assert.equal(out.sizeBytes, 50_000)
  }
  // A whole hash that is not in the library names a torrent all the same: shown as a bare magnet.
  const other = 'ab'.repeat(20)
  assert.deepEqual((await info([other, '--json'], home.path)).json(), { kind: 'magnet', infoHash: other, name: null, trackers: [], peers: [], magnet: `magnet:?xt=urn:btih:${other}` })
})

test('info errors are one line with exit code 1', async (t) => {
  const home = tempDir('info-errors')
  t.after(() => home.cleanup())
  const bad = join(home.path, 'bad.torrent')
  await writeFile(bad, 'd4:infod6:lengthi-5e4:name4:temp12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee')
  for (const [args, pattern] of [
    [['nothing-here'], /^friendtorrent: "nothing-here" is not a \.torrent file, a magnet link, an info hash or a torrent in the library$/],
    [[bad], /^friendtorrent: not a torrent file: its length -5 must be a whole number of bytes/],
    [['magnet:?dn=x'], /^friendtorrent: magnet link has no info hash/],
    [[home.path], /is a folder, not a \.torrent file$/],
    [[], /info needs one torrent/],
  ] as const) {
    const run = await info([...args], home.path)
    assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`)
    assert.equal(run.stdout, '')
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr)
    assert.match(run.stderr.trim(), pattern)
  }
})
