// Runs `friendtorrent seed` as users do (the executable, its shebang's Node
// flags, an isolated HOME) over a library the benchmark writes beforehand
// through StateStore: complete torrents stored as 'seeding' with resume data
// that matches the files, so the session starts without hashing anything.
// Never touches the user's real HOME; never leaves the child running.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { Bitfield } from '../src/core/bitfield.ts'
import { paths } from '../src/cli/config.ts'
import { parseTorrentFile } from '../src/metainfo/metainfo.ts'
import { StateStore } from '../src/session/state-store.ts'
import { CLI_PATH, REPO_ROOT, isolatedEnv } from '../test/helpers/cli.ts'
import { ManagedProcess } from '../test/helpers/managed-process.ts'
import { lastLines } from './measure.ts'

export interface SeedingTorrent {
  torrentFile: Buffer
  /** The folder holding the torrent's file (single-file) or its top folder (multi-file). */
  savePath: string
}

/**
 * Writes config.json (`{dht:false, listenPort}` plus `extraConfig`) and a library of `torrents`
 * into the state folder of `homeDir`; returns that folder. Adds run in
 * parallel so StateStore folds the library.json writes together.
 */
export async function writeSeedingLibrary(
  homeDir: string,
  listenPort: number,
  torrents: SeedingTorrent[],
  extraConfig: Record<string, unknown> = {},
): Promise<{ env: NodeJS.ProcessEnv; stateDir: string }> {
  const env = isolatedEnv(homeDir)
  const where = paths(env)
  mkdirSync(where.configDir, { recursive: true })
  writeFileSync(where.configFile, JSON.stringify({ dht: false, lsd: false, portForwarding: false, listenPort, ...extraConfig }))
  const store = await StateStore.open(where.dataDir)
  const addedAtMs = Date.now()
  await Promise.all(
    torrents.map(async ({ torrentFile, savePath }, queuePosition) => {
      const meta = await parseTorrentFile(torrentFile)
      const entry = {
        infoHash: meta.infoHashHex,
        name: meta.name,
        savePath,
        state: 'seeding' as const,
        uploadedBytes: 0,
        downloadedBytes: 0,
        addedAtMs,
        completedAtMs: addedAtMs,
        queuePosition,
      }
      const { added } = await store.add(entry, torrentFile)
      if (!added) throw new Error(`torrent ${meta.infoHashHex} (${meta.name}) is in the benchmark library twice`)
      await store.saveResume({
        infoHash: meta.infoHashHex,
        pieceCount: meta.pieceCount,
        bitfield: Buffer.from(Bitfield.full(meta.pieceCount).toBuffer()),
      })
    }),
  )
  await store.flush()
  return { env, stateDir: where.dataDir }
}

export interface RunningSession {
  proc: ManagedProcess
  /** Milliseconds from spawn to the `session on port` line. */
  startupMs: number
  /** What that line says: the port and torrent count. */
  port: number
  torrentCount: number
}

const READY_RE = /session on port (\d+): (\d+) torrents?,/

/**
 * The environment and the Node flags bin/friendtorrent.js's
 * `#!/usr/bin/env -S [-u NAME …] [NAME=value …] node …` line gives Node when started in `base`,
 * so a profiled run or a bare Node is launched as the bin is. As GNU env -S does: `${NAME}`
 * in a value is `base`'s NAME (empty when unset), and `-u` unsets before the assignments.
 */
export function shebang(base: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; nodeFlags: string[] } {
  const first = readFileSync(CLI_PATH, 'utf8').split('\n', 1)[0]
  const m = /^#!\S*env -S ((?:-u \w+\s+)*)((?:\w+=\S*\s+)*)node\b(.*)$/.exec(first)
  if (!m) return { env: { ...base }, nodeFlags: [] }
  const words = (s: string): string[] => s.trim().split(/\s+/).filter(Boolean)
  const env: NodeJS.ProcessEnv = { ...base }
  for (const name of words(m[1]).filter((w) => w !== '-u')) delete env[name]
  for (const kv of words(m[2])) {
    env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1).replace(/\$\{(\w+)\}/g, (_, name: string) => base[name] ?? '')
  }
  return { env, nodeFlags: words(m[3]) }
}

/**
 * `friendtorrent <args>` started as its shebang starts it, in `env`; with `cpuProfDir`, as
 * `node <shebang flags> --cpu-prof` on the script (Node refuses --cpu-prof in NODE_OPTIONS),
 * so its CPU profile is written there at exit.
 */
export function friendtorrentProcess(name: string, args: string[], env: NodeJS.ProcessEnv, cpuProfDir?: string): ManagedProcess {
  if (!cpuProfDir) return new ManagedProcess(name, CLI_PATH, args, { env, cwd: REPO_ROOT })
  const launch = shebang(env)
  return new ManagedProcess(name, process.execPath, [...launch.nodeFlags, '--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, CLI_PATH, ...args], { env: launch.env, cwd: REPO_ROOT })
}

/**
 * Spawns `friendtorrent seed` (with `seedArgs`, such as `--download`) and resolves once it logs `session on port`;
 * rejects (after stopping it) if it exits first or takes longer than `timeoutMs`.
 * With `cpuProfDir`, it writes a CPU profile there (friendtorrentProcess).
 */
export async function startSeedSession(env: NodeJS.ProcessEnv, timeoutMs: number, cpuProfDir?: string, seedArgs: string[] = []): Promise<RunningSession> {
  const started = performance.now()
  const args = ['seed', ...seedArgs]
  const proc = friendtorrentProcess('friendtorrent seed', args, env, cpuProfDir)
  let timer: NodeJS.Timeout | undefined
  let onData: ((chunk: Buffer) => void) | undefined
  try {
    const ready = await Promise.race([
      new Promise<{ ms: number; match: RegExpExecArray }>((resolvePromise) => {
        let seen = ''
        onData = (chunk: Buffer) => {
          const ms = performance.now() - started
          // Only complete lines matter; keep the unfinished tail.
          seen = (seen + chunk.toString()).slice(-4096)
          const match = READY_RE.exec(seen)
          if (match) resolvePromise({ ms, match })
        }
        proc.child.stdout?.on('data', onData)
      }),
      proc.exited.then((code) => {
        throw new Error(`friendtorrent seed exited with ${code} before its session was up: ${lastLines(proc.logs(), 3)}`)
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`friendtorrent seed did not log "session on port" within ${timeoutMs / 1000} s: ${lastLines(proc.logs(), 3)}`)), timeoutMs)
      }),
    ])
    return { proc, startupMs: ready.ms, port: Number(ready.match[1]), torrentCount: Number(ready.match[2]) }
  } catch (err) {
    await proc.stop()
    throw err
  } finally {
    clearTimeout(timer)
    if (onData) proc.child.stdout?.off('data', onData)
  }
}

/** SIGTERM, then waits up to `graceMs` (SIGKILL after); the exit code and how long the shutdown took. */
export async function stopSeedSession(proc: ManagedProcess, graceMs: number): Promise<{ exitCode: number; shutdownMs: number; killed: boolean; stoppedLine: boolean }> {
  const started = performance.now()
  let killed = false
  proc.child.kill('SIGTERM')
  const timer = setTimeout(() => {
    if (proc.running) {
      killed = true
      proc.child.kill('SIGKILL')
    }
  }, graceMs)
  const exitCode = await proc.exited
  clearTimeout(timer)
  return { exitCode, shutdownMs: performance.now() - started, killed, stoppedLine: /Z stopped\s*$/m.test(proc.logs()) }
}
