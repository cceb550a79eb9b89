// BEP 52 against libtorrent 2.0 (Debian's python3-libtorrent, driven by
// test/helpers/libtorrent-peer.py on 127.0.0.1): libtorrent creates a v2-only
// and a hybrid torrent of a multi-file layout with odd sizes and seeds them; we
// download each byte for byte, from the .torrent and from a btmh magnet (with
// --peer, no tracker or DHT); and libtorrent downloads, byte for byte, a v2
// torrent we created from our seeder.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createTorrentFile } from '../../src/cli/create-command.ts'
import { magnetUri } from '../../src/metainfo/magnet.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { describeRun, downloadWithCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { writeTree } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'

const PYTHON = '/usr/bin/python3'
const HELPER = fileURLToPath(new URL('../helpers/libtorrent-peer.py', import.meta.url))
const CLI_TIMEOUT_MS = 60_000

function hasLibtorrent(t: TestContext): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' })
    return true
  } catch {
    t.skip('python3-libtorrent is not installed (apt install python3-libtorrent)')
    return false
  }
}

/** Odd sizes over 32 KiB pieces: files that end mid-piece, a one-byte file, an empty one, a nested folder, a space in a name. */
function makeLayout(root: string): void {
  writeTree(root, {
    'a.bin': 100_000,
    b: 1,
    empty: '',
    'sub folder/c.bin': 70_001,
    'sub folder/deeper/d.dat': 300_017,
  })
}

async function runHelper(args: string[], cwd: string): Promise<void> {
  const p = new ManagedProcess('libtorrent-peer create', PYTHON, [HELPER, ...args], { env: process.env, cwd })
  const code = await p.exited
  assert.equal(code, 0, p.logs())
}

/** Starts the helper and resolves with the line it prints first (`port N` or `done`). */
async function startHelper(args: string[], cwd: string, t: TestContext): Promise<{ proc: ManagedProcess; line: string }> {
  const proc = new ManagedProcess('libtorrent-peer', PYTHON, [HELPER, ...args], { env: process.env, cwd })
  t.after(() => proc.stop())
  const line = await new Promise<string>((resolve, reject) => {
    let text = ''
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const nl = text.indexOf('\n')
      if (nl >= 0) resolve(text.slice(0, nl).trim())
    })
    void proc.exited.then((code) => reject(new Error(`libtorrent-peer exited ${code} before answering\n${proc.logs()}`)))
  })
  return { proc, line }
}

for (const mode of ['v2', 'hybrid'] as const) {
  test(`libtorrent creates and seeds a ${mode} torrent; we download it by .torrent and by btmh magnet, byte for byte`, { timeout: 4 * CLI_TIMEOUT_MS }, async (t) => {
    if (!hasLibtorrent(t)) return
    const work = tempDir(`v2-lt-${mode}`)
    t.after(work.cleanup)
    const src = join(work.path, 'src')
    makeLayout(join(src, 'odd'))
    const torrentPath = join(work.path, `odd-${mode}.torrent`)
    await runHelper(['create', mode, join(src, 'odd'), torrentPath, '32768'], work.path)
    const meta = await parseTorrentFile(readFileSync(torrentPath))
    assert.ok(meta.v2)
    assert.equal(meta.hasV1, mode === 'hybrid')
    const { line } = await startHelper(['seed', torrentPath, src], work.path, t)
    const port = Number(/^port (\d+)$/.exec(line)?.[1])
    assert.ok(port > 0, line)

    const byTorrent = join(work.path, 'by-torrent')
    const result = await downloadWithCli({ torrentPath, outDir: byTorrent, timeoutMs: CLI_TIMEOUT_MS, peers: [`127.0.0.1:${port}`] })
    assert.equal(result.code, 0, describeRun(result))
    await assertSameTree(join(src, 'odd'), join(byTorrent, 'odd'))

    const magnet = magnetUri({ infoHashHex: meta.infoHashHex, infoHashV2: meta.v2!.infoHash, v1: false, name: 'odd' })
    assert.match(magnet, /^magnet:\?xt=urn:btmh:1220[0-9a-f]{64}&dn=odd$/)
    const byMagnet = join(work.path, 'by-magnet')
    const fromMagnet = await downloadWithCli({ torrentPath: magnet, outDir: byMagnet, timeoutMs: CLI_TIMEOUT_MS, peers: [`127.0.0.1:${port}`] })
    assert.equal(fromMagnet.code, 0, describeRun(fromMagnet))
    await assertSameTree(join(src, 'odd'), join(byMagnet, 'odd'))
  })
}

test('libtorrent downloads a v2 torrent we created from our seeder, byte for byte', { timeout: 2 * CLI_TIMEOUT_MS }, async (t) => {
  if (!hasLibtorrent(t)) return
  const work = tempDir('v2-lt-from-us')
  t.after(work.cleanup)
  const src = join(work.path, 'src')
  makeLayout(join(src, 'odd'))
  const created = await createTorrentFile(join(src, 'odd'), { trackers: [], private: false, version: 'v2', pieceLength: 32768 })
  const torrentPath = join(work.path, 'odd-v2.torrent')
  writeFileSync(torrentPath, created.bytes)
  const seeder = await startOurSeeder({ torrentPath, dataDir: src, useTrackers: false })
  t.after(() => seeder.stop())
  const out = join(work.path, 'lt-out')
  mkdirSync(out)
  const { line } = await startHelper(['download', torrentPath, out, `127.0.0.1:${seeder.port}`], work.path, t)
  assert.equal(line, 'done')
  await assertSameTree(join(src, 'odd'), join(out, 'odd'))
})
