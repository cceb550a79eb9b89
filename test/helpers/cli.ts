// Runs our own CLI (bin/friendtorrent.js) as a child process the way a user
// would, with home and XDG folders in a temp dir so nothing touches the real home.
// Never leaves the child running: on timeout it is killed by its own PID.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, tempDir } from './net.ts'

export const CLI_PATH = fileURLToPath(new URL('../../bin/friendtorrent.js', import.meta.url))
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface CliResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  durationMs: number
  timedOut: boolean
}

export interface RunCliOptions {
  timeoutMs: number
  /** Folder for HOME/XDG_*; default a temp folder removed afterwards. */
  homeDir?: string
  env?: NodeJS.ProcessEnv
  /** Run the CLI as this user (root only): a check that needs an ordinary user runs under root too. */
  user?: { uid: number; gid: number }
  /** Start the bin itself, through its shebang (`env -S … node <flags>`) as a user's shell does, not `node bin/friendtorrent.js`. */
  shebang?: boolean
}

const OUTPUT_LIMIT_CHARS = 1024 * 1024
const KILL_GRACE_MS = 2000

/**
 * A config file's JSON for a test: nothing reaches past this machine unless the
 * test says so (no public DHT, no LSD multicast on the LAN, no router asked for
 * a port mapping), then the test's own keys.
 */
export function testConfigJson(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ dht: false, lsd: false, portForwarding: false, ...extra })
}

/** Env with HOME, XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_CACHE_HOME inside `homeDir`, and no forced exit. */
export function isolatedEnv(homeDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dirs = {
    HOME: homeDir,
    XDG_CONFIG_HOME: join(homeDir, '.config'),
    XDG_DATA_HOME: join(homeDir, '.local', 'share'),
    XDG_CACHE_HOME: join(homeDir, '.cache'),
  }
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true })
  // Tests never reach the public DHT, the LAN (LSD) or a router (port forwarding): off unless a test writes its own config.
  const config = join(dirs.XDG_CONFIG_HOME, 'friendtorrent', 'config.json')
  if (!existsSync(config)) {
    mkdirSync(join(dirs.XDG_CONFIG_HOME, 'friendtorrent'), { recursive: true })
    writeFileSync(config, testConfigJson())
  }
  // The CLI exits on its own when its work is done; with this set it names any handle still
  // open 2 s later and exits 70, so a test expecting exit 0 fails on a leak (bin/friendtorrent.js).
  return { ...process.env, ...dirs, NO_COLOR: '1', FRIENDTORRENT_NO_FORCED_EXIT: '1', ...extra }
}

/** `node bin/friendtorrent.js ...args` (or the bin through its shebang), resolved when it exits or after `timeoutMs` (then killed). */
export async function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  const home = options.homeDir === undefined ? tempDir('cli-home') : undefined
  const env = isolatedEnv(options.homeDir ?? home!.path, options.env)
  const started = performance.now()
  try {
    return await new Promise<CliResult>((resolve) => {
      const [command, commandArgs] = options.shebang ? [CLI_PATH, args] : [process.execPath, [CLI_PATH, ...args]]
      const child = spawn(command, commandArgs, { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options.user })
      let stdout = ''
      let stderr = ''
      let timedOut = false
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (stdout.length > OUTPUT_LIMIT_CHARS) stdout = stdout.slice(-OUTPUT_LIMIT_CHARS / 2)
      })
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        if (stderr.length > OUTPUT_LIMIT_CHARS) stderr = stderr.slice(-OUTPUT_LIMIT_CHARS / 2)
      })
      let killTimer: NodeJS.Timeout | undefined
      const timer = setTimeout(() => {
        timedOut = true
        child.kill('SIGTERM')
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
      }, options.timeoutMs)
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer)
        if (killTimer) clearTimeout(killTimer)
        resolve({ code, signal, stdout, stderr, durationMs: performance.now() - started, timedOut })
      }
      child.once('error', (err) => {
        stderr += `could not start ${options.shebang ? '' : `${process.execPath} `}${CLI_PATH}: ${err.message}\n`
        finish(127, null)
      })
      child.once('close', finish)
    })
  } finally {
    await home?.cleanup()
  }
}

/** A readable summary of a CLI run for assertion messages: exit status and the last lines of output. */
export function describeRun(result: CliResult, lines = 20): string {
  const status = result.timedOut
    ? `timed out after ${Math.round(result.durationMs)} ms`
    : `exited with ${result.code ?? result.signal} after ${Math.round(result.durationMs)} ms`
  const tail = (text: string): string => text.trim().split('\n').slice(-lines).join('\n')
  return `friendtorrent ${status}\n--- stdout (tail) ---\n${tail(result.stdout)}\n--- stderr (tail) ---\n${tail(result.stderr)}`
}

/**
 * `friendtorrent add <torrent> -o <outDir> --port <free port>`: the foreground
 * download of the CLI contract (exit 0 once every piece is verified and files are closed).
 */
export async function downloadWithCli(options: {
  torrentPath: string
  outDir: string
  timeoutMs: number
  peers?: string[]
  extraArgs?: string[]
}): Promise<CliResult> {
  mkdirSync(options.outDir, { recursive: true })
  const port = await freePort()
  const args = [
    'add',
    options.torrentPath,
    '-o',
    options.outDir,
    '--port',
    String(port),
    ...(options.peers ?? []).flatMap((peer) => ['--peer', peer]),
    ...(options.extraArgs ?? []),
  ]
  return runCli(args, { timeoutMs: options.timeoutMs })
}
