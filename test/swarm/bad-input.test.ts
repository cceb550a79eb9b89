// Bad .torrent files and links through the real binary (issue #6): `friendtorrent
// add` says what is wrong in one line on stderr, exits 1 and writes nothing; with
// a session running, the session refuses them the same way and the torrent it
// already has keeps seeding. Each bad input has its own unit test in
// test/unit/metainfo/bad-input.test.ts; these are a representative few end to end.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'
import bencode from 'bencode'
import { ControlClient } from '../../src/cli/control-client.ts'
import { FriendError } from '../../src/core/types.ts'
import { CLI_PATH, describeRun, downloadWithCli, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { freePort, tempDir, waitUntil } from '../helpers/net.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const HASH_HEX = 'c9e15763f722f23e98a29decdfae341b98d53056'
const GOOD = buildTorrent({ name: 'good.bin', files: 40_000, pieceLength: 16 * 1024 })

function infoWith(change: (info: Record<string, unknown>) => void): Buffer {
  const info = bencode.decode(GOOD.torrent).info as Record<string, unknown>
  change(info)
  return Buffer.from(bencode.encode({ info }))
}

const BAD_FILES: [label: string, bytes: () => Buffer, stderr: RegExp][] = [
  ['a truncated .torrent', () => GOOD.torrent.subarray(0, GOOD.torrent.length - 30), /bad\.torrent: not a torrent file: data ends early \(truncated at byte \d+\)$/],
  ['a file that is not bencoded', () => Buffer.from('<!DOCTYPE html><html>login required</html>'), /bad\.torrent: not a torrent file: it does not start with a bencoded dictionary$/],
  ['pieces not a multiple of 20', () => infoWith((i) => { i.pieces = Buffer.alloc(45) }), /pieces length 45 is not a multiple of 20$/],
  ['an enormous piece length', () => infoWith((i) => { i['piece length'] = 2 ** 40 }), /piece length 1099511627776 is over the 64 MiB limit$/],
  ['a path part that is not a string', () => infoWith((i) => { delete i.length; i.files = [{ length: 40_000, path: ['dir', 5] }] }), /file 1's path has a part that is not a string$/],
  ['a single file whose name is nothing once made safe', () => infoWith((i) => { i.name = '..' }), /its name "\.\." is nothing once made safe, and a single file needs one$/],
  ['a v2 torrent whose file tree holds no files', () => Buffer.from(bencode.encode({ info: { name: 'v2', 'piece length': 16384, 'meta version': 2, 'file tree': {} } })), /bad\.torrent: not a torrent file: its file tree holds no files$/],
]

const BAD_LINKS: [label: string, link: string, stderr: RegExp][] = [
  ['a magnet with a short hash', 'magnet:?xt=urn:btih:0123456789abcdef', /info hash "0123456789abcdef" must be 40 hex digits or 32 base32 characters/],
  ['a magnet with no xt', 'magnet:?dn=name&tr=udp%3A%2F%2F127.0.0.1%3A1', /magnet link has no info hash/],
  ['a v2 magnet with a short hash', 'magnet:?xt=urn:btmh:1220abcd', /v2 info hash "1220abcd" must be "1220" and 64 hex digits \(a SHA-256 multihash\)/],
  ['a v2 magnet with another multihash', `magnet:?xt=urn:btmh:1114${'ab'.repeat(32)}`, /must be "1220" and 64 hex digits \(a SHA-256 multihash\)/],
]

/** Every path under `root` with its size and mtime, so "nothing written" is checked, not assumed. */
function snapshot(root: string): string[] {
  if (!existsSync(root)) return []
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name)
      const st = statSync(full)
      out.push(`${relative(root, full)} ${st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`}`)
      if (st.isDirectory()) walk(full)
    }
  }
  walk(root)
  return out
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`)
  assert.match(lines[0], /^friendtorrent: /)
  assert.match(lines[0], pattern)
}

for (const [label, bytes, pattern] of [...BAD_FILES.map(([l, b, p]) => [l, b, p] as const), ...BAD_LINKS.map(([l, t, p]) => [l, t, p] as const)]) {
  test(`add ${label}: one line, exit 1, nothing written`, async () => {
    const dir = tempDir('ft-bad-input')
    try {
      const home = join(dir.path, 'home')
      isolatedEnv(home)
      let target = bytes as string
      if (typeof bytes === 'function') {
        target = join(dir.path, 'bad.torrent')
        writeFileSync(target, bytes())
      }
      const before = snapshot(home)
      const out = join(dir.path, 'out')
      const run = await runCli(['add', target, '-o', out, '--port', '0'], { timeoutMs: 20_000, homeDir: home })
      assert.equal(run.code, 1, describeRun(run))
      assertOneLine(run.stderr, pattern)
      assert.ok(!existsSync(out), 'no save folder was created')
      assert.deepEqual(snapshot(home), before, 'the state and config folders are unchanged')
    } finally {
      await dir.cleanup()
    }
  })
}

test('with a session running, bad files and links are refused by the CLI and by the session, and the seeding torrent is undisturbed', { timeout: 120_000 }, async () => {
  const dir = tempDir('ft-bad-session')
  const home = join(dir.path, 'home')
  const env = isolatedEnv(home)
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: await freePort() }))
  const stateDir = join(home, '.local', 'share', 'friendtorrent')
  const cli = (...args: string[]) => runCli(args, { timeoutMs: 30_000, homeDir: home })
  const save = join(dir.path, 'save')
  mkdirSync(save)
  writeFileSync(join(save, 'good.bin'), GOOD.payload)
  const goodPath = join(dir.path, 'good.torrent')
  writeFileSync(goodPath, GOOD.torrent)
  const session = new ManagedProcess('friendtorrent seed', process.execPath, [CLI_PATH, 'seed'], { env, cwd: REPO_ROOT })
  let control: ControlClient | undefined
  try {
    await waitUntil(() => session.logs().includes('control socket') || !session.running, 20_000, 'the session to listen')
    assert.ok(session.running, session.tail())
    const added = await cli('add', goodPath, '-o', save)
    assert.equal(added.code, 0, describeRun(added))
    const list = async () => JSON.parse((await cli('list', '--json')).stdout) as { infoHash: string; state: string; progress: number }[]
    await waitUntil(async () => (await list())[0]?.state === 'seeding', 30_000, 'the good torrent to be seeding')
    const stateBefore = snapshot(join(stateDir, 'torrents'))
    const saveBefore = snapshot(save)

    // Through the CLI: it reads the input before it talks to the session.
    for (const [label, bytes, pattern] of BAD_FILES.slice(0, 5)) {
      const bad = join(dir.path, 'bad.torrent')
      writeFileSync(bad, bytes())
      const run = await cli('add', bad, '-o', join(dir.path, 'bad-out'))
      assert.equal(run.code, 1, `${label}: ${describeRun(run)}`)
      assertOneLine(run.stderr, pattern)
    }
    const badLink = await cli('add', BAD_LINKS[0][1], '-o', join(dir.path, 'bad-out'))
    assert.equal(badLink.code, 1, describeRun(badLink))
    assertOneLine(badLink.stderr, BAD_LINKS[0][2])

    // Straight to the session's control socket, as any other client could send them.
    control = await ControlClient.connect(join(stateDir, 'control.sock'))
    assert.ok(control, 'the control socket answers')
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ torrentBase64: BAD_FILES[0][1]().toString('base64') }, /truncated/],
      [{ torrentBase64: BAD_FILES[4][1]().toString('base64') }, /part that is not a string/],
      [{ torrentBase64: BAD_FILES[5][1]().toString('base64') }, /nothing once made safe/],
      [{ magnet: `magnet:?xt=urn:btih:${HASH_HEX.slice(2)}` }, /must be 40 hex digits/],
      [{ magnet: `magnet:?xt=urn:btih:${HASH_HEX}&xt=urn:btih:${'0'.repeat(40)}` }, /names two different torrents/],
    ]
    for (const [args, pattern] of refusals) {
      await assert.rejects(control.call('add', { ...args, savePath: join(dir.path, 'bad-out') }), (err: unknown) => {
        assert.ok(err instanceof FriendError)
        assert.match(err.message, pattern)
        assert.ok(!err.message.includes('\n'), err.message)
        return true
      })
    }

    assert.ok(session.running, `the session is still running:\n${session.tail()}`)
    const after = await list()
    assert.deepEqual(after.map((t) => [t.infoHash, t.state, t.progress]), [[GOOD.infoHash.toString('hex'), 'seeding', 1]])
    assert.ok(!existsSync(join(dir.path, 'bad-out')), 'no save folder for a refused torrent')
    assert.deepEqual(snapshot(join(stateDir, 'torrents')), stateBefore, 'no refused torrent reached the library')
    assert.deepEqual(snapshot(save), saveBefore, 'the seeding torrent\u2019s files are untouched')
  } finally {
    control?.close()
    await session.stop()
    await dir.cleanup()
  }
  assert.equal(await session.exited, 0, session.tail())
})

test('a torrent with names Windows cannot hold downloads to the renamed paths, byte for byte', { timeout: 60_000 }, async () => {
  const long = 'x'.repeat(300) + '.txt'
  const layout = [
    { path: ['CON'], length: 1000, onDisk: 'CON_' },
    { path: ['notes: draft?.txt'], length: 20_000, onDisk: 'notes_ draft_.txt' },
    { path: [long], length: 5, onDisk: `${'x'.repeat(255 - 4 - 9)}~${createHash('sha1').update(long).digest('hex').slice(0, 8)}.txt` },
    { path: ['trailing.'], length: 30_000, onDisk: 'trailing_' },
  ]
  const built = buildTorrent({ name: 'aux', files: layout.map(({ path, length }) => ({ path, length })), pieceLength: 16 * 1024 })
  const dir = tempDir('ft-renamed')
  const seeder = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  try {
    const torrentPath = join(dir.path, 'aux.torrent')
    writeFileSync(torrentPath, built.torrent)
    const out = join(dir.path, 'out')
    const run = await downloadWithCli({ torrentPath, outDir: out, timeoutMs: 30_000, peers: [`127.0.0.1:${seeder.port}`] })
    assert.equal(run.code, 0, describeRun(run))
    assert.deepEqual(readdirSync(out), ['aux_'], 'the torrent folder "aux" became "aux_"')
    assert.deepEqual(readdirSync(join(out, 'aux_')).sort(), layout.map((f) => f.onDisk).sort())
    let offset = 0
    for (const f of layout) {
      assert.ok(readFileSync(join(out, 'aux_', f.onDisk)).equals(built.payload.subarray(offset, offset + f.length)), `${f.onDisk} content`)
      offset += f.length
    }
  } finally {
    await seeder.close()
    await dir.cleanup()
  }
})
