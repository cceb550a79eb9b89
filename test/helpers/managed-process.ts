// A child process for tests and the benchmark: bounded captured output (plus
// the tail of the log files it names), an exit code promise, and stop() that
// kills it by its own PID (TERM, then KILL) and waits. Every live one is killed
// if the test process exits or is interrupted, so no client outlives a test.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants as osConstants } from 'node:os'

const LOG_LIMIT_CHARS = 256 * 1024
const STOP_GRACE_MS = 5000

const liveChildren = new Set<ChildProcess>()
let exitHookInstalled = false

function killLiveChildren(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
}

/**
 * A client left running by a crashed or interrupted test would hold ports and
 * disk: kill ours as the test process exits, or when it is interrupted, after
 * which the signal is raised again so the process still dies of it.
 */
function onTerminatingSignal(signal: NodeJS.Signals): void {
  killLiveChildren()
  process.off('SIGINT', onTerminatingSignal)
  process.off('SIGTERM', onTerminatingSignal)
  process.kill(process.pid, signal)
}

function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', killLiveChildren)
  }
  if (liveChildren.size === 0) {
    process.on('SIGINT', onTerminatingSignal)
    process.on('SIGTERM', onTerminatingSignal)
  }
  liveChildren.add(child)
}

function untrackChild(child: ChildProcess): void {
  if (!liveChildren.delete(child)) return
  // Without children to protect, the default signal behaviour applies again.
  if (liveChildren.size === 0) {
    process.off('SIGINT', onTerminatingSignal)
    process.off('SIGTERM', onTerminatingSignal)
  }
}

/** A child process with bounded captured output and a stop() that waits for the exit. */
export class ManagedProcess {
  readonly child: ChildProcess
  readonly exited: Promise<number>
  readonly #name: string
  readonly #logFiles: string[]
  #output = ''
  #running = true

  /** `ipc`: a Node child gets an IPC channel (child.send / process.send) beside its piped output. */
  constructor(name: string, command: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string; logFiles?: string[]; ipc?: boolean }) {
    this.#name = name
    this.#logFiles = options.logFiles ?? []
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] })
    trackChild(this.child)
    this.child.stdout?.on('data', (chunk: Buffer) => this.#append(chunk))
    this.child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk))
    this.exited = new Promise<number>((resolvePromise) => {
      this.child.once('error', (err) => {
        this.#append(Buffer.from(`could not start ${command}: ${err.message}\n`))
        this.#running = false
        untrackChild(this.child)
        resolvePromise(127)
      })
      this.child.once('exit', (code, signal) => {
        this.#running = false
        untrackChild(this.child)
        resolvePromise(code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0))
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get running(): boolean {
    return this.#running
  }

  #append(chunk: Buffer): void {
    this.#output += chunk.toString()
    if (this.#output.length > LOG_LIMIT_CHARS) this.#output = this.#output.slice(-LOG_LIMIT_CHARS / 2)
  }

  logs(): string {
    let text = `--- ${this.#name} (pid ${this.pid}) output ---\n${this.#output}`
    for (const file of this.#logFiles) {
      try {
        text += `\n--- ${file} ---\n${readFileSync(file, 'utf8').slice(-LOG_LIMIT_CHARS / 2)}`
      } catch {
        // the client has not written its log yet
      }
    }
    return text
  }

  /** Last lines of the output, to put in a one-line-ish error. */
  tail(lines = 15): string {
    return this.logs().trim().split('\n').slice(-lines).join('\n')
  }

  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.#running || this.child.pid === undefined) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => {
      if (this.#running) this.child.kill('SIGKILL')
    }, graceMs)
    await this.exited
    clearTimeout(timer)
  }
}

/** The exit code, or 'timeout' once `ms` pass; its timer never outlives the wait (a stray one holds a test process open). */
export async function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))])
  } finally {
    clearTimeout(timer)
  }
}
