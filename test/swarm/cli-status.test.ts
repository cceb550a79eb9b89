// What a person types and what a script reads: every mistyped command or option
// is one line on stderr and exit 1; `status --json` and `files --json` keep one
// shape with and without a running session; `list` gives a seed no ETA; a near
// info hash that names no file is told it is not an info hash.
import type { StatusReport } from '../../src/cli/status-command.ts'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'
import { freePort, tempDir } from '../helpers/net.ts'

const RUN_MS = 30_000

function assertOneLineError(run: CliResult, expected: string | RegExp, label: string): void {
  assert.equal(run.code, 1, `${label}: ${describeRun(run)}`)
  assert.equal(run.stdout, '', `${label}: nothing on stdout`)
  const lines = run.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `${label}: one line, got ${run.stderr}`)
  if (typeof expected === 'string') assert.equal(lines[0], expected, label)
  else assert.match(lines[0], expected, label)
}

test('an unknown command or option is one line naming the command and its help, exit 1; that help exists', { timeout: 120_000 }, async () => {
  const cases: [string[], string][] = [
    [['bogus'], 'friendtorrent: unknown command "bogus"; see friendtorrent help'],
    [['--bogus'], 'friendtorrent: unknown option --bogus; see friendtorrent help'],
    [['list', 'extra'], 'friendtorrent: unexpected argument "extra" for list; see friendtorrent list --help'],
    [['add', 'x.torrent', '-o'], 'friendtorrent: option -o for add needs a value; see friendtorrent add --help'],
    [['list', '--json=yes'], 'friendtorrent: option --json for list takes no value; see friendtorrent list --help'],
  ]
  const commands: [string, string[]][] = [
    ['add', ['x.torrent']], ['seed', []], ['list', []], ['status', []], ['files', ['x']], ['pause', ['x']], ['remove', ['x']],
    ['queue', ['x', 'up']], ['limit', []], ['priority', ['x', '0', 'skip']], ['create', ['x']], ['share', ['x']], ['tracker', []],
  ]
  for (const [command, args] of commands) cases.push([[command, ...args, '--bogus'], `friendtorrent: unknown option --bogus for ${command}; see friendtorrent ${command} --help`])
  const runs = await Promise.all(cases.map(async ([args]) => runCli(args, { timeoutMs: RUN_MS })))
  cases.forEach(([args, expected], i) => assertOneLineError(runs[i], expected, args.join(' ')))

  const helps = await Promise.all(commands.map(([command]) => runCli([command, '--help'], { timeoutMs: RUN_MS })))
  commands.forEach(([command], i) => {
    assert.equal(helps[i].code, 0, `${command} --help: ${describeRun(helps[i])}`)
    assert.match(helps[i].stdout, new RegExp(`^usage: friendtorrent ${command}\\b|\\n\\s*friendtorrent ${command}\\b`), `${command} --help shows its usage`)
  })
})

test('add: a near info hash that names no file is told it is not an info hash', { timeout: 60_000 }, async () => {
  const shapes = 'an info hash is 40 hex digits (v1), 32 base32 characters, or 64 hex digits (v2)'
  const [short, stray] = await Promise.all([
    runCli(['add', '0123456789abcdef'], { timeoutMs: RUN_MS }),
    runCli(['add', 'c9e15763f722f23e98a29decdfae341b98d5305g'], { timeoutMs: RUN_MS }),
  ])
  assertOneLineError(short, `friendtorrent: cannot read 0123456789abcdef: no such file, and not an info hash: 16 hex digits; ${shapes}`, '16 hex digits')
  assertOneLineError(stray, `friendtorrent: cannot read c9e15763f722f23e98a29decdfae341b98d5305g: no such file, and not an info hash: "g" is not a hex digit; ${shapes}`, 'a stray letter')
})

type StatusJson = StatusReport

const STATUS_KEYS = ['running', 'stateDir', 'saveDir', 'freeBytes', 'listenPort', 'dhtNodes', 'portForwarding', 'connectedPeers', 'downloadRateBytesPerSec', 'uploadRateBytesPerSec', 'downloadLimitBytesPerSec', 'uploadLimitBytesPerSec', 'torrents', 'crawl']
const STATE_KEYS = ['total', 'fetching metadata', 'queued', 'checking', 'downloading', 'seeding', 'paused', 'error']

test('status --json and files --json without a session and with one (seed); list shows a seed without ETA', { timeout: 120_000 }, async () => {
  const work = tempDir('ft-status')
  const home = join(work.path, 'home')
  const env = isolatedEnv(home)
  const port = await freePort()
  writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort: port, uploadLimitKiBps: 100 }))
  const folder = join(work.path, 'pair')
  mkdirSync(join(folder, 'sub'), { recursive: true })
  writeFileSync(join(folder, 'a.bin'), Buffer.alloc(1000, 1))
  writeFileSync(join(folder, 'sub', 'b.bin'), Buffer.alloc(40_000, 2))
  const cli = (...args: string[]) => runCli(args, { timeoutMs: RUN_MS, homeDir: home })
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli(...args)
    assert.equal(run.code, 0, describeRun(run))
    return JSON.parse(run.stdout) as T
  }
  const stateDir = join(home, '.local', 'share', 'friendtorrent')
  let seed: ReturnType<typeof spawn> | undefined
  try {
    const empty = await json<StatusJson>('status', '--json')
    assert.equal(empty.torrents.total, 0)

    const shared = await cli('share', folder)
    assert.equal(shared.code, 0, describeRun(shared))

    const offline = await json<StatusJson>('status', '--json')
    assert.deepEqual(Object.keys(offline), STATUS_KEYS)
    assert.deepEqual(Object.keys(offline.torrents), STATE_KEYS)
    assert.equal(offline.running, false)
    assert.equal(offline.stateDir, stateDir)
    assert.equal(offline.saveDir, join(REPO_ROOT, 'downloads'), 'the default save folder, from the current directory')
    assert.ok(typeof offline.freeBytes === 'number' && offline.freeBytes > 0, `free space: ${offline.freeBytes}`)
    assert.equal(offline.listenPort, null)
    assert.equal(offline.dhtNodes, null)
    assert.equal(offline.connectedPeers, 0)
    assert.equal(offline.uploadLimitBytesPerSec, 100 * 1024, 'the configured limit the next session starts with')
    assert.equal(offline.downloadLimitBytesPerSec, 0)
    assert.equal(offline.crawl, null, 'no session, no crawl')
    assert.equal(offline.torrents.total, 1)
    assert.equal(offline.torrents.queued, 1, 'share leaves it queued for the next seed')
    const human = await cli('status')
    assert.equal(human.code, 0, describeRun(human))
    assert.match(human.stdout, /^no session is running/)
    assert.match(human.stdout, /torrents: 1 \(1 queued\)/)

    type FileJson = { index: number; path: string; sizeBytes: number; priority: string }
    const expectedFiles = [{ path: 'pair/a.bin', sizeBytes: 1000 }, { path: 'pair/sub/b.bin', sizeBytes: 40_000 }]
    const filesOffline = await json<FileJson[]>('files', 'pair', '--json')
    for (const f of filesOffline) assert.deepEqual(Object.keys(f), ['index', 'path', 'sizeBytes', 'priority'])
    assert.deepEqual(filesOffline.map(({ path, sizeBytes }) => ({ path, sizeBytes })).sort((a, b) => a.path.localeCompare(b.path)), expectedFiles)
    assert.ok(filesOffline.every((f) => f.priority === 'normal' && Number.isInteger(f.index)))

    seed = spawn(CLI_PATH, ['seed'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    seed.stdout!.on('data', (c: Buffer) => (log += c.toString()))
    seed.stderr!.on('data', (c: Buffer) => (log += c.toString()))
    let online: StatusJson | undefined
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      online = await json<StatusJson>('status', '--json')
      if (online.running && online.torrents.seeding === 1) break
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(online?.running && online.torrents.seeding === 1, `the session seeds the shared torrent:\n${JSON.stringify(online)}\n${log}`)
    assert.deepEqual(Object.keys(online), STATUS_KEYS, 'the same keys with a session')
    assert.deepEqual(Object.keys(online.torrents), STATE_KEYS)
    assert.equal(online.listenPort, port)
    assert.equal(online.dhtNodes, 0, 'the DHT is off in this config')
    assert.equal(online.crawl, null, 'no indexWhileRunning, no crawl')
    assert.equal(online.stateDir, stateDir)
    assert.equal(online.saveDir, join(REPO_ROOT, 'downloads'))
    assert.ok(typeof online.freeBytes === 'number' && online.freeBytes > 0)
    assert.equal(online.uploadLimitBytesPerSec, 100 * 1024)
    assert.equal(online.connectedPeers, 0)
    assert.equal(online.torrents.total, 1)
    const humanOnline = await cli('status')
    assert.match(humanOnline.stdout, new RegExp(`^session running: port ${port}, control socket ${join(stateDir, 'control.sock')}`))

    assert.deepEqual(await json<FileJson[]>('files', 'pair', '--json'), filesOffline, 'files --json: the same from the session')

    const list = await cli('list')
    assert.equal(list.code, 0, describeRun(list))
    const line = list.stdout.split('\n').find((l) => l.includes('pair'))
    assert.ok(line && /seeding/.test(line) && /peers 0/.test(line), `a seeding line from the session: ${list.stdout}`)
    assert.doesNotMatch(line, /ETA/, 'a seed has no ETA')

    seed.kill('SIGTERM')
    assert.equal(await new Promise((r) => seed!.once('close', r)), 0, log)
    seed = undefined
    assert.equal((await json<StatusJson>('status', '--json')).running, false, 'no session once it stopped')
  } finally {
    seed?.kill('SIGKILL')
    await work.cleanup()
  }
})
