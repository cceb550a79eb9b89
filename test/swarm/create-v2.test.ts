// `create --v2` and `create --hybrid` (BEP 52): the torrent parses back with our
// parser, each file's pieces root equals one computed by Python's hashlib, a
// hybrid's SHA-1s cover the payload with zeros for its pad files, and
// libtorrent (python3-libtorrent, an independent judge) loads it and finds the
// files complete. v1 stays the default.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { main } from '../../src/cli/main.ts'
import type { CliIo } from '../../src/cli/io.ts'
import { parseMagnetOrInfoHash } from '../../src/metainfo/magnet.ts'
import { parseTorrentFile, type Metainfo } from '../../src/metainfo/metainfo.ts'
import { writeTree } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'

const PYTHON = '/usr/bin/python3'

/** Odd sizes across 32 KiB pieces, an empty file, a one-byte file, a nested folder, names that sort differently as bytes. */
function makeShare(root: string): void {
  writeTree(root, {
    'a.bin': 100_000,
    b: 1,
    empty: '',
    'sub/c.bin': 70_001,
    'sub/deeper/Z 10.dat': 32_768,
    'sub/deeper/Z 9.dat': 5,
  })
}

async function create(args: string[], cwd: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), write: () => {}, env: {}, cwd, isTTY: false }
  return { code: await main(['create', ...args], io), out, err }
}

/** BEP 52 roots by Python's hashlib: 16 KiB leaves, zero-padded to a power of two (and to a whole piece layer). */
function pythonRoots(paths: string[], pieceLength: number): string[] {
  const script = `
import hashlib, sys
B = 16384
def h(b): return hashlib.sha256(b).digest()
def root(ls, width, pad):
    ls = ls + [pad] * (width - len(ls))
    while len(ls) > 1:
        ls = [h(ls[i] + ls[i + 1]) for i in range(0, len(ls), 2)]
        pad = h(pad + pad)
    return ls[0]
pl = int(sys.argv[1])
for p in sys.argv[2:]:
    d = open(p, 'rb').read()
    L = [h(d[i:i + B]) for i in range(0, len(d), B)]
    w = 1
    while w < len(L): w *= 2
    print(root(L, w, bytes(32)).hex())
`
  return execFileSync(PYTHON, ['-c', script, String(pieceLength), ...paths], { encoding: 'utf8' }).trim().split('\n')
}

/** libtorrent loads the torrent, checks the files in `savePath` and reports [has v1, has v2, progress]. */
function libtorrentCheck(torrent: string, savePath: string): { v1: boolean; v2: boolean; progress: number } {
  const script = `
import libtorrent as lt, sys, time, json
ti = lt.torrent_info(sys.argv[1])
ses = lt.session({'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False, 'listen_interfaces': '127.0.0.1:0'})
h = ses.add_torrent({'ti': ti, 'save_path': sys.argv[2]})
for i in range(300):
    s = h.status()
    if s.state in (lt.torrent_status.seeding, lt.torrent_status.finished): break
    time.sleep(0.05)
print(json.dumps({'v1': ti.info_hashes().has_v1(), 'v2': ti.info_hashes().has_v2(), 'progress': h.status().progress}))
`
  return JSON.parse(execFileSync(PYTHON, ['-c', script, torrent, savePath], { encoding: 'utf8', timeout: 30_000 }))
}

const dataFiles = (m: Metainfo) => m.files.filter((f) => !f.padding)

for (const mode of ['v2', 'hybrid'] as const) {
  test(`create --${mode}: parses back, roots match hashlib, libtorrent finds the files complete`, async (t) => {
    const dir = await tempDir('v2-create')
    t.after(dir.cleanup)
    const share = join(dir.path, 'share')
    makeShare(share)
    const out = join(dir.path, `share-${mode}.torrent`)
    const run = await create([share, `--${mode}`, '--piece-length', '32K', '--tracker', 'http://127.0.0.1:1/announce', '-o', out], dir.path)
    assert.equal(run.code, 0, run.err.join('\n'))
    const meta = await parseTorrentFile(readFileSync(out))
    assert.ok(meta.v2, 'a v2 part')
    assert.equal(meta.hasV1, mode === 'hybrid')
    assert.equal(meta.v2!.infoHash.toString('hex'), createHash('sha256').update(meta.infoBuffer).digest('hex'))
    // Canonical order: bytewise, so "Z 10.dat" before "Z 9.dat".
    assert.deepEqual(dataFiles(meta).map((f) => f.path.join('/')), [
      'share/a.bin', 'share/b', 'share/empty', 'share/sub/c.bin', 'share/sub/deeper/Z 10.dat', 'share/sub/deeper/Z 9.dat',
    ])
    const withData = dataFiles(meta).filter((f) => f.length > 0)
    const roots = pythonRoots(withData.map((f) => join(dir.path, ...f.path)), meta.pieceLength)
    assert.deepEqual(withData.map((f) => f.piecesRoot!.toString('hex')), roots)
    for (const f of withData) assert.equal(f.offset % meta.pieceLength, 0, `${f.path.join('/')} starts a piece`)
    assert.ok(meta.v2!.files.filter((f) => f.length > meta.pieceLength).every((f) => f.layer), 'piece layers for every file over one piece')
    if (mode === 'hybrid') {
      const payload = Buffer.concat(meta.files.map((f) => (f.padding ? Buffer.alloc(f.length) : readFileSync(join(dir.path, ...f.path)))))
      for (let i = 0; i < meta.pieceCount; i++) {
        const sha1 = createHash('sha1').update(payload.subarray(i * meta.pieceLength, (i + 1) * meta.pieceLength)).digest()
        assert.ok(sha1.equals(meta.pieceHashes.subarray(i * 20, i * 20 + 20)), `piece ${i}'s SHA-1`)
      }
    }
    const magnet = parseMagnetOrInfoHash(run.out.at(-1)!)
    assert.ok(magnet.infoHashV2?.equals(meta.v2!.infoHash), 'the magnet carries the v2 hash (btmh)')
    assert.equal(magnet.infoHashHex, meta.infoHashHex)
    assert.deepEqual(libtorrentCheck(out, dir.path), { v1: mode === 'hybrid', v2: true, progress: 1 })
  })
}

test('create: v1 stays the default; --v2 with --hybrid is one line and writes nothing', async (t) => {
  const dir = await tempDir('v2-create')
  t.after(dir.cleanup)
  const share = join(dir.path, 'share')
  makeShare(share)
  const v1 = await create([share, '-o', join(dir.path, 'v1.torrent')], dir.path)
  assert.equal(v1.code, 0, v1.err.join('\n'))
  const meta = await parseTorrentFile(readFileSync(join(dir.path, 'v1.torrent')))
  assert.equal(meta.v2, undefined)
  assert.equal(meta.hasV1, true)
  const both = await create([share, '--v2', '--hybrid', '-o', join(dir.path, 'both.torrent')], dir.path).catch((err: Error) => ({ code: 1, out: [], err: [err.message] }))
  assert.equal(both.code, 1)
  assert.match(both.err.join('\n'), /choose one of --v2 and --hybrid/)
  assert.equal(both.err.join('\n').split('\n').length, 1)
  assert.equal(existsSync(join(dir.path, 'both.torrent')), false)
})
