// A private tmux server for tests that drive the built binary in a real
// terminal: start the CLI in a pane of a given size, read its screen, send it
// keys, and poll until the screen (or anything else) says what the test waits for.
import { execFileSync } from 'node:child_process'
import { CLI_PATH } from './cli.ts'

/** One shell word: `s` in single quotes, safe inside a tmux command line. */
export const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The environment a pane's dashboard gets from the test's isolated one. */
const PASSED_ENV = ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'FRIENDTORRENT_NO_FORCED_EXIT']

export interface StartOptions {
  columns?: number
  rows?: number
  /** Where the pane's shell writes the binary's exit code once it ends. */
  exitFile?: string
}

export interface TmuxPane {
  screen(): string
  keys(...k: string[]): string
  /** `friendtorrent` with `env` (the keys of PASSED_ENV) and `args` (shell words, quoted by the caller). */
  start(env: NodeJS.ProcessEnv, args: string[], options?: StartOptions): void
  /** Polls the screen until `test` holds; returns the screen that passed. */
  waitScreen(what: string, test: (s: string) => boolean, ms?: number): Promise<string>
  /** Polls until `test` holds; the error shows `detail` (if given) and the screen. */
  until(what: string, test: () => boolean, ms?: number): Promise<void>
  /** The dashboard's own process: the pane's shell runs it as its child. */
  dashboardPid(): number
}

export interface TmuxServer {
  tmux(...args: string[]): string
  pane(name: string, detail?: () => string): TmuxPane
  /** Ends the server and every pane in it; never throws. */
  kill(): void
}

/** A tmux server on its own socket (`ft-<label>-<pid>`); throws one line if tmux is missing. */
export function tmuxServer(label: string): TmuxServer {
  try {
    execFileSync('tmux', ['-V'])
  } catch {
    throw new Error('tmux is not installed: .ci/run installs it (apt-get install tmux)')
  }
  const socket = `ft-${label}-${process.pid}`
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' })
  const pane = (name: string, detail?: () => string): TmuxPane => {
    const screen = () => tmux('capture-pane', '-p', '-t', name)
    return {
      screen,
      keys: (...k) => tmux('send-keys', '-t', name, ...k),
      start(env, args, { columns = 80, rows = 24, exitFile } = {}) {
        const vars = PASSED_ENV.map((k) => `${k}=${sh(env[k]!)}`).join(' ')
        const exit = exitFile === undefined ? '' : ` echo $? > ${sh(exitFile)};`
        const command = `env ${vars} TERM=xterm-256color ${sh(process.execPath)} ${sh(CLI_PATH)} ${args.join(' ')};${exit} sleep 60`
        tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), command)
      },
      async waitScreen(what, test, ms = 20_000) {
        const end = Date.now() + ms
        let s = ''
        while (Date.now() < end) {
          s = screen()
          if (test(s)) return s
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error(`timed out waiting for ${what}; the screen:\n${s}`)
      },
      async until(what, test, ms = 20_000) {
        const end = Date.now() + ms
        while (!test()) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}; ${detail ? `${detail()}; ` : ''}the screen:\n${screen()}`)
          await new Promise((r) => setTimeout(r, 100))
        }
      },
      dashboardPid() {
        const shell = tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim()
        return Number(execFileSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n')[0])
      },
    }
  }
  const kill = () => {
    try {
      tmux('kill-server')
    } catch {}
  }
  return { tmux, pane, kill }
}
