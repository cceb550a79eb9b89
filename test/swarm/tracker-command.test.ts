// `friendtorrent tracker` as a child process on 127.0.0.1: announces over HTTP
// (fetch) and UDP (our TrackerSource) are answered and logged, a busy port is
// one line and exit 1, SIGTERM/SIGINT close it with exit 0. Checks that
// --host 127.0.0.1 binds nothing beyond loopback.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { test } from 'node:test'
import bencode from 'bencode'
import { TrackerSource } from '../../src/discovery/tracker-source.ts'
import type { PeerCandidate } from '../../src/core/types.ts'
import { CLI_PATH, isolatedEnv, REPO_ROOT } from '../helpers/cli.ts'
import { freePort, tempDir, waitFor, waitUntil } from '../helpers/net.ts'

const WAIT_MS = 10_000

interface TrackerChild {
  child: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves once stdout has a line matching `pattern`; returns that line. */
  waitForLine(pattern: RegExp, what: string): Promise<string>
  kill(): void
}

function startTrackerCli(args: string[], home: string): TrackerChild {
  const child = spawn(process.execPath, [CLI_PATH, 'tracker', ...args], {
    env: isolatedEnv(home),
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  )
  const waitForLine = async (pattern: RegExp, what: string): Promise<string> => {
    let found: string | undefined
    await waitUntil(
      () => {
        if (child.exitCode !== null) throw new Error(`tracker exited ${child.exitCode}: ${stderr.trim()}`)
        found = stdout.split('\n').find((line) => pattern.test(line))
        return found !== undefined
      },
      WAIT_MS,
      `${what} (stdout so far: ${JSON.stringify(stdout)})`,
      20,
    )
    return found!
  }
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

function percentEncode(buf: Buffer): string {
  return [...buf].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
}

async function httpAnnounce(url: string, infoHash: Buffer, port: number, event: string, left: number): Promise<any> {
  const query = `info_hash=${percentEncode(infoHash)}&peer_id=${percentEncode(randomBytes(20))}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&event=${event}`
  const res = await fetch(`${url}?${query}`)
  return bencode.decode(new Uint8Array(await res.arrayBuffer()))
}

/** Local addresses bound to `port` in /proc/net (Linux), as "proto address". */
function boundAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const found: string[] = []
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const line of readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (!local?.endsWith(`:${hexPort}`)) continue
      // TCP: only listening sockets (state 0A), not the test's own client connections.
      if (proto.startsWith('tcp') && state !== '0A') continue
      found.push(`${proto} ${local.split(':')[0]}`)
    }
  }
  return found.sort()
}

test('tracker: prints its URLs, logs HTTP and UDP announces, binds loopback only, exits 0 on SIGTERM', async () => {
  const home = tempDir('tracker-cli')
  const port = await freePort()
  const tracker = startTrackerCli(['--port', String(port), '--host', '127.0.0.1'], home.path)
  let source: TrackerSource | undefined
  try {
    const first = await tracker.waitForLine(/^tracker running:/, 'the tracker to say it is running')
    const httpUrl = `http://127.0.0.1:${port}/announce`
    const udpUrl = `udp://127.0.0.1:${port}`
    assert.ok(first.includes(`${httpUrl} ${udpUrl}`), first)

    if (existsSync('/proc/net/udp6')) {
      // 127.0.0.1 is 0100007F in /proc/net; ::1 is 00000000000000000000000001000000.
      assert.deepEqual(boundAddresses(port), ['tcp 0100007F', 'udp 0100007F', 'udp6 00000000000000000000000001000000'])
    }

    const infoHash = randomBytes(20)
    const prefix = infoHash.toString('hex').slice(0, 8)
    const seederPort = 40_001
    const reply = await httpAnnounce(httpUrl, infoHash, seederPort, 'started', 0)
    assert.equal(reply.complete, 1, 'the tracker counts our seeder')
    assert.ok(reply.interval > 0)
    await tracker.waitForLine(new RegExp(`start\\s+${prefix} 127\\.0\\.0\\.1:${seederPort} \\(1 seeding, 0 downloading\\)`), 'the HTTP start line')

    source = new TrackerSource({
      infoHash,
      peerId: randomBytes(20),
      port: 40_002,
      tiers: [[udpUrl]],
      getStats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
    })
    const peers = waitFor<PeerCandidate[]>(source, 'peers', WAIT_MS)
    source.start()
    assert.ok((await peers).some((p) => p.host === '127.0.0.1' && p.port === seederPort), 'the UDP announce returned the HTTP seeder')
    await tracker.waitForLine(new RegExp(`start\\s+${prefix} 127\\.0\\.0\\.1:40002 \\(1 seeding, 1 downloading\\)`), 'the UDP start line')

    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats.json`)).json()) as { torrents: number; peersAll: number }
    assert.deepEqual([stats.torrents, stats.peersAll], [1, 2])

    await source.stop()
    source = undefined
    await tracker.waitForLine(new RegExp(`stop\\s+${prefix} 127\\.0\\.0\\.1:40002`), 'the UDP stop line')
    await httpAnnounce(httpUrl, infoHash, seederPort, 'stopped', 0)
    await tracker.waitForLine(new RegExp(`stop\\s+${prefix} 127\\.0\\.0\\.1:${seederPort}`), 'the HTTP stop line')

    tracker.child.kill('SIGTERM')
    const { code } = await tracker.exited
    assert.equal(code, 0, tracker.stderr())
    assert.match(tracker.stdout(), /SIGTERM: stopping the tracker\n$/)
    assert.equal(tracker.stderr(), '')
  } finally {
    await source?.stop()
    tracker.kill()
    await tracker.exited
    await home.cleanup()
  }
})

test('tracker: SIGINT also exits 0 and frees the port', async () => {
  const home = tempDir('tracker-int')
  const port = await freePort()
  const tracker = startTrackerCli(['--port', String(port), '--host', '127.0.0.1'], home.path)
  try {
    await tracker.waitForLine(/^tracker running:/, 'the tracker to say it is running')
    tracker.child.kill('SIGINT')
    assert.equal((await tracker.exited).code, 0, tracker.stderr())
    const again = createServer()
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject)
      again.listen(port, '127.0.0.1', () => resolve())
    })
    await new Promise<void>((resolve) => again.close(() => resolve()))
  } finally {
    tracker.kill()
    await tracker.exited
    await home.cleanup()
  }
})

test('tracker: a busy TCP or UDP port, or a bad --host/--port, is one line and exit 1', async () => {
  const home = tempDir('tracker-busy')
  const tcpPort = await freePort()
  const udpPort = await freePort()
  const tcp = createServer()
  await new Promise<void>((resolve) => tcp.listen(tcpPort, '127.0.0.1', () => resolve()))
  const udp = createSocket('udp4')
  await new Promise<void>((resolve) => udp.bind(udpPort, '127.0.0.1', () => resolve()))
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--port', String(tcpPort), '--host', '127.0.0.1'], new RegExp(`port ${tcpPort} \\(tcp\\) is already in use on 127\\.0\\.0\\.1; .*--port`)],
      [['--port', String(udpPort), '--host', '127.0.0.1'], new RegExp(`port ${udpPort} \\(udp\\) is already in use on 127\\.0\\.0\\.1`)],
      [['--host', 'tracker.example'], /--host must be an IP address/],
      [['--port', '70000', '--host', '127.0.0.1'], /--port must be 0-65535/],
      [['--port', '-1'], /^friendtorrent: option --port for tracker needs a value \(one starting with "-" is written --port=-1\); see friendtorrent tracker --help$/],
    ]
    for (const [args, pattern] of cases) {
      const run = startTrackerCli(args, home.path)
      // A tracker that wrongly keeps running is killed, and fails the exit-code check.
      const watchdog = setTimeout(() => run.kill(), WAIT_MS)
      try {
        const { code } = await run.exited
        clearTimeout(watchdog)
        assert.equal(code, 1, `${args.join(' ')}: ${run.stdout()} ${run.stderr()}`)
        const lines = run.stderr().trim().split('\n')
        assert.equal(lines.length, 1, run.stderr())
        assert.match(lines[0], pattern)
        assert.equal(run.stdout(), '', 'no "running" line for a tracker that is not running')
      } finally {
        clearTimeout(watchdog)
        run.kill()
      }
    }
  } finally {
    await new Promise<void>((resolve) => tcp.close(() => resolve()))
    await new Promise<void>((resolve) => udp.close(() => resolve()))
    await home.cleanup()
  }
})
