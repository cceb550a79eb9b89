// `friendtorrent create` as a user runs it (child process, no TTY, stdin closed):
// the torrent it writes parses with our parser, matches the printed magnet,
// and downloads byte for byte through a tracker; bad input writes nothing.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import bencode from 'bencode'
import pLimit from 'p-limit'
import { main } from '../../src/cli/main.ts'
import type { CliIo } from '../../src/cli/io.ts'
import { parseMagnetOrInfoHash } from '../../src/metainfo/magnet.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { describeRun, downloadWithCli, isolatedEnv, runCli } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { pseudoRandomBytes, writeTree } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startTracker } from '../helpers/tracker.ts'

const RUN_MS = 20_000
const DOWNLOAD_MS = 60_000

/** Files that straddle 16 KiB piece edges, an empty file between two others, and a nested folder. */
function makeShare(root: string): void {
  writeTree(root, {
    'readme.txt': 'hello friends\n',
    'photos/a.jpg': 40_000,
    'photos/empty.dat': '',
    'photos/trip/b.raw': 123_457,
    'z-last.bin': 16_384,
  })
}

async function readMeta(file: string): Promise<Metainfo> {
  return parseTorrentFile(readFileSync(file))
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? ''
}

/** main() in-process with its own working folder, for what runCli cannot set (the cwd). */
async function runInProcess(args: string[], cwd: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), write: () => {}, env: {}, cwd, isTTY: false }
  return { code: await main(args, io), out, err }
}

test('create: a multi-file folder with trackers, --private and --piece-length; the magnet matches the file', async () => {
  const dir = tempDir('create-multi')
  try {
    const share = join(dir.path, 'holiday')
    makeShare(share)
    writeFileSync(join(share, '.secret'), 'not for friends')
    const out = join(dir.path, 'out', 'holiday.torrent')
    const trackers = ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969']
    const run = await runCli(
      ['create', share, '--tracker', trackers[0], '--tracker', trackers[1], '--private', '--piece-length', '16K', '-o', out, '--comment', 'for the group'],
      { timeoutMs: RUN_MS },
    )
    assert.equal(run.code, 0, describeRun(run))

    const meta = await readMeta(out)
    assert.equal(meta.name, 'holiday')
    assert.equal(meta.pieceLength, 16 * 1024)
    assert.equal(meta.private, true)
    assert.deepEqual(meta.announce, [[trackers[0]], [trackers[1]]])
    assert.deepEqual(
      meta.files.map((f) => [f.path.join('/'), f.length]),
      [
        ['holiday/photos/a.jpg', 40_000],
        ['holiday/photos/empty.dat', 0],
        ['holiday/photos/trip/b.raw', 123_457],
        ['holiday/readme.txt', 14],
        ['holiday/z-last.bin', 16_384],
      ],
      'every file but the hidden one, the empty file included',
    )
    assert.equal(meta.length, 40_000 + 123_457 + 14 + 16_384)
    assert.equal(meta.pieceCount, Math.ceil(meta.length / meta.pieceLength))

    const raw = bencode.decode(readFileSync(out))
    assert.equal(Buffer.from(raw['created by']).toString(), 'friendtorrent 0.1.0')
    assert.equal(Buffer.from(raw.comment).toString(), 'for the group')

    const link = parseMagnetOrInfoHash(lastLine(run.stdout))
    assert.equal(link.infoHashHex, meta.infoHashHex, 'the magnet names the info hash of the written file')
    assert.equal(link.name, 'holiday')
    assert.deepEqual(link.tiers, [[trackers[0]], [trackers[1]]])
    assert.match(run.stdout, new RegExp(`info hash ${meta.infoHashHex}`))
    assert.match(run.stderr, /left out 1 hidden .*\.secret/)
    assert.deepEqual(readdirSync(join(dir.path, 'out')), ['holiday.torrent'], 'no temp file left beside it')
  } finally {
    await dir.cleanup()
  }
})

test('create → seed → download through a tracker gives back the identical tree', async () => {
  const tracker = await startTracker()
  const dir = tempDir('create-dl')
  let seeder: Awaited<ReturnType<typeof startOurSeeder>> | undefined
  try {
    const share = join(dir.path, 'src', 'album')
    makeShare(share)
    const torrentPath = join(dir.path, 'album.torrent')
    const created = await runCli(['create', share, '--tracker', tracker.httpUrl, '-o', torrentPath], { timeoutMs: RUN_MS })
    assert.equal(created.code, 0, describeRun(created))
    const meta = await readMeta(torrentPath)
    assert.equal(meta.pieceLength, 16 * 1024, "create-torrent's automatic choice for 180 KB")

    seeder = await startOurSeeder({ torrentPath, dataDir: join(dir.path, 'src') })
    await tracker.waitForSeeders(meta.infoHashHex, 1, 10_000)
    const outDir = join(dir.path, 'dl')
    const run = await downloadWithCli({ torrentPath, outDir, timeoutMs: DOWNLOAD_MS })
    assert.equal(run.code, 0, describeRun(run))
    await assertSameTree(share, join(outDir, 'album'))
  } finally {
    await seeder?.stop()
    await tracker.close()
    await dir.cleanup()
  }
})

test('create: a single file, --name, default output in the current folder, no trackers added behind our back', async () => {
  const dir = tempDir('create-single')
  try {
    writeFileSync(join(dir.path, 'song.flac'), pseudoRandomBytes(70_000, 4))
    const run = await runInProcess(['create', 'song.flac', '--name', 'Our Song.flac', '--piece-length', '32768'], dir.path)
    assert.equal(run.code, 0, run.err.join('\n'))
    const file = join(dir.path, 'Our Song.flac.torrent')
    const meta = await readMeta(file)
    assert.equal(meta.name, 'Our Song.flac')
    assert.deepEqual(meta.files.map((f) => [f.path, f.length]), [[['Our Song.flac'], 70_000]])
    assert.equal(meta.pieceLength, 32 * 1024)
    assert.equal(meta.private, false)
    assert.deepEqual(meta.announce, [], 'create-torrent adds public trackers unless told not to')
    assert.equal(bencode.decode(readFileSync(file))['announce-list'], undefined)
    assert.equal(parseMagnetOrInfoHash(run.out.at(-1)!).infoHashHex, meta.infoHashHex)
    assert.deepEqual(run.err, [])
  } finally {
    await dir.cleanup()
  }
})

test('create refuses to overwrite an existing torrent unless --force', async () => {
  const dir = tempDir('create-force')
  try {
    writeFileSync(join(dir.path, 'notes.txt'), 'first')
    const out = join(dir.path, 'notes.torrent')
    writeFileSync(out, 'precious')
    const refused = await runCli(['create', join(dir.path, 'notes.txt'), '-o', out], { timeoutMs: RUN_MS })
    assert.equal(refused.code, 1, describeRun(refused))
    assert.match(refused.stderr, /^friendtorrent: .*notes\.torrent already exists; add --force/)
    assert.equal(refused.stderr.trim().split('\n').length, 1)
    assert.equal(readFileSync(out, 'utf8'), 'precious')

    const forced = await runCli(['create', join(dir.path, 'notes.txt'), '-o', out, '--force'], { timeoutMs: RUN_MS })
    assert.equal(forced.code, 0, describeRun(forced))
    assert.equal((await readMeta(out)).name, 'notes.txt')

    // -o naming a folder writes <name>.torrent inside it.
    mkdirSync(join(dir.path, 'torrents'))
    const intoFolder = await runCli(['create', join(dir.path, 'notes.txt'), '-o', join(dir.path, 'torrents')], { timeoutMs: RUN_MS })
    assert.equal(intoFolder.code, 0, describeRun(intoFolder))
    assert.deepEqual(readdirSync(join(dir.path, 'torrents')), ['notes.txt.torrent'])
  } finally {
    await dir.cleanup()
  }
})

test('bad input: one line on stderr, exit 1, nothing written', async () => {
  const dir = tempDir('create-bad')
  try {
    const good = join(dir.path, 'good')
    mkdirSync(good)
    writeFileSync(join(good, 'f.txt'), 'data')
    const emptyDir = join(dir.path, 'empty')
    mkdirSync(emptyDir)
    const hiddenOnly = join(dir.path, 'hidden-only')
    mkdirSync(hiddenOnly)
    writeFileSync(join(hiddenOnly, '.env'), 'SECRET=1')
    const zeroBytes = join(dir.path, 'zero')
    mkdirSync(zeroBytes)
    writeFileSync(join(zeroBytes, 'a'), '')
    const withPipe = join(dir.path, 'with-pipe')
    mkdirSync(withPipe)
    writeFileSync(join(withPipe, 'f.txt'), 'data')
    execFileSync('mkfifo', [join(withPipe, 'pipe')])
    const loop = join(dir.path, 'loop')
    mkdirSync(join(loop, 'inner'), { recursive: true })
    writeFileSync(join(loop, 'f.txt'), 'data')
    symlinkSync('..', join(loop, 'inner', 'up'))
    const dangling = join(dir.path, 'dangling')
    mkdirSync(dangling)
    writeFileSync(join(dangling, 'f.txt'), 'data')
    symlinkSync(join(dir.path, 'nowhere'), join(dangling, 'gone'))
    const badName = join(dir.path, 'bad-name')
    mkdirSync(badName)
    writeFileSync(join(badName, 'con.txt'), 'data')

    const out = join(dir.path, 'out')
    mkdirSync(out)
    const target = join(out, 'x.torrent')
    const cases: Array<[string[], RegExp]> = [
      [[], /create takes one file or folder, got 0/],
      [[join(dir.path, 'absent')], /cannot read .*absent: no such file or folder/],
      [[emptyDir], /empty has no files to share$/],
      [[hiddenOnly], /has no files to share \(hidden files are left out\)/],
      [[zeroBytes], /holds only empty files/],
      [[withPipe], /pipe is not a regular file/],
      [[loop], /up links back to a folder that contains it/],
      [[dangling], /gone: it is a symlink to nothing/],
      [[badName], /con\.txt.*reserved device name/],
      [[good, '--piece-length', '1000'], /--piece-length must be a power of two from 16K to 16M/],
      [[good, '--piece-length', '48K'], /--piece-length must be a power of two/],
      [[good, '--piece-length', '32M'], /--piece-length must be a power of two/],
      [[good, '--piece-length', '8K'], /--piece-length must be a power of two/],
      [[good, '--tracker', 'wss://tracker.example'], /only http:\/\/, https:\/\/ and udp:\/\/ trackers/],
      [[good, '--tracker', 'tracker.example:80'], /only http|is not a URL/],
      [[good, '--tracker', 'not a url'], /is not a URL/],
      [[good, '--tracker', 'udp://tracker.example'], /needs a port/],
      [[good, '--name', '../escape'], /torrent name "..\/escape" cannot be used/],
      [[good, '--bogus'], /^friendtorrent: unknown option --bogus for create; see friendtorrent create --help$/],
    ]
    const failures: string[] = []
    const runs: Array<[string[], RegExp, CliResult]> = []
    // Independent processes, a few side by side: all seventeen at once on two loaded cores
    // took 15–18 s each just to start (measured), close to RUN_MS.
    const limit = pLimit(4)
    await Promise.all(
      cases.map(([args, pattern]) =>
        limit(async () => {
          const extra = args.length > 0 ? ['-o', target] : []
          runs.push([args, pattern, await runCli(['create', ...args, ...extra], { timeoutMs: RUN_MS })])
        }),
      ),
    )
    for (const [args, pattern, run] of runs) {
      const lines = run.stderr.trim().split('\n')
      if (run.code !== 1) failures.push(`${args.join(' ')}: exit ${run.code}\n${describeRun(run)}`)
      else if (lines.length !== 1) failures.push(`${args.join(' ')}: ${lines.length} lines: ${run.stderr}`)
      else if (!pattern.test(lines[0])) failures.push(`${args.join(' ')}: ${lines[0]} does not match ${pattern}`)
      else if (run.stdout !== '') failures.push(`${args.join(' ')}: printed ${run.stdout}`)
    }
    assert.deepEqual(failures, [])
    assert.deepEqual(readdirSync(out), [], 'nothing written, not even a temp file')
  } finally {
    await dir.cleanup()
  }
})

/** Root reads every file: under root the CLI runs as `nobody` for the permission check. */
function ordinaryUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

test('an unreadable file is one line, exit 1, nothing written', async () => {
  const dir = tempDir('create-unreadable')
  try {
    const share = join(dir.path, 'share')
    mkdirSync(share)
    writeFileSync(join(share, 'ok.txt'), 'fine')
    writeFileSync(join(share, 'locked.txt'), 'locked', { mode: 0o000 })
    const out = join(dir.path, 'share.torrent')
    const home = join(dir.path, 'home')
    isolatedEnv(home)
    const user = ordinaryUser()
    // Everything but locked.txt belongs to the user the CLI runs as, so only that file is refused.
    if (user) for (const path of [dir.path, share, join(share, 'ok.txt'), join(share, 'locked.txt'), ...walk(home)]) chownSync(path, user.uid, user.gid)
    const run = await runCli(['create', share, '-o', out], { timeoutMs: RUN_MS, homeDir: home, user })
    assert.equal(run.code, 1, describeRun(run))
    assert.match(run.stderr.trim(), /^friendtorrent: cannot read .*locked\.txt: permission denied$/)
    assert.deepEqual(readdirSync(dir.path).sort(), ['home', 'share'])
  } finally {
    await dir.cleanup()
  }
})

function walk(dir: string): string[] {
  return [dir, ...readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))]
}
