// `friendtorrent` with no command: the full-screen dashboard. It attaches to a
// running session through the control socket, or owns one (with the control
// socket, so `friendtorrent add` from another shell reaches it) and stops it
// cleanly on quit. Without a terminal it says where to go instead and exits 2.
import { parseCommandLine } from './command-line.ts'
import { FriendError } from '../core/types.ts'
import { remoteBackend, localBackend } from '../tui/backend.ts'
import type { DashboardBackend } from '../tui/backend.ts'
import type { DashboardProps } from '../tui/dashboard.tsx'
import { loadDashboardUi } from '../tui/load-ui.ts'
import { takeTerminal } from '../tui/terminal-screen.ts'
import { ControlClient } from './control-client.ts'
import { loadConfig, paths, resolveDownloadDir, resolveStateDir } from './config.ts'
import type { CliIo } from './io.ts'
import { controlSocketPath } from './session-control.ts'
import { hostSession } from './session-host.ts'
import type { HostedSession } from './session-host.ts'

const MODES = ['seeding', 'downloading', 'all'] as const

export type RunCommand = (argv: string[], io: CliIo) => Promise<number>

export async function runDashboard(argv: string[], io: CliIo, runCommand: RunCommand): Promise<number> {
  const { values } = parseCommandLine('', {
    args: argv,
    options: { debug: { type: 'boolean' }, mode: { type: 'string' }, path: { type: 'string' }, 'no-mouse': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) return runCommand(['help'], io)
  const mode = values.mode ?? 'all'
  if (!MODES.includes(mode as (typeof MODES)[number])) throw new FriendError(`--mode is one of ${MODES.join(', ')}, got "${mode}"`)
  if (!io.isTTY || !process.stdin.isTTY) {
    io.err('friendtorrent: the dashboard needs a terminal; use `friendtorrent seed` to run headless or `friendtorrent add <torrent>` to download one (see friendtorrent help)')
    return 2
  }
  const config = await loadConfig(paths(io.env).configFile)
  // Before the session starts or is reached: loading the UI hides fetch for a moment (load-ui.ts).
  const ui = await loadDashboardUi()
  const stateDir = resolveStateDir(config, io.env, io.cwd)
  const saveDir = values.path === undefined ? undefined : resolveDownloadDir(config, values.path, io.cwd)
  const socketPath = controlSocketPath(stateDir)

  let backend: DashboardBackend
  let hosted: HostedSession | undefined
  let client: ControlClient | undefined
  let notice: string | undefined
  client = await ControlClient.connect(socketPath)
  if (client) {
    backend = remoteBackend(client, socketPath)
    notice = `attached to the session at ${socketPath}${values.mode ? '; --mode applies only to a session the dashboard runs' : ''}; q detaches, the session keeps running`
  } else {
    hosted = await hostSession({
      config,
      stateDir,
      cwd: io.cwd,
      saveDir: saveDir ?? config.downloadDir,
      download: mode !== 'seeding',
      seed: mode !== 'downloading',
    })
    await hosted.session.start()
    backend = localBackend(hosted.handler)
  }

  const mouse = config.mouse && !values['no-mouse']
  // The alternate screen (the shell's scrollback is left as it was on quit) and the mouse, put back on every way out.
  const screen = takeTerminal({ stdout: process.stdout, stdin: process.stdin, mouse, onResume: () => app.rerender(ui.dashboard({ ...props, resumedAt: Date.now() })) })
  let quit!: () => void
  const quitting = new Promise<void>((resolve) => (quit = resolve))
  const onSignal = () => quit()
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
  const props: DashboardProps = {
    backend,
    saveDir,
    cwd: io.cwd,
    debug: Boolean(values.debug),
    notice,
    // https://no-color.org: present and not empty.
    noColor: Boolean(io.env.NO_COLOR),
    mouse,
    onSuspend: () => screen.suspend(),
    onQuit: () => quit(),
    runCommand: async (args: string[]) => {
      const lines: string[] = []
      const capture: CliIo = { ...io, isTTY: false, out: (l) => lines.push(...l.split('\n')), err: (l) => lines.push(...l.split('\n')), write: () => {} }
      const code = await runCommand(args, capture)
      return { code, lines }
    },
  }
  const app = ui.render(ui.dashboard(props), { exitOnCtrlC: false, patchConsole: true, incrementalRendering: false, maxFps: 10 })
  try {
    await quitting
  } finally {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal)
    app.unmount()
    app.cleanup()
    screen.release()
  }
  if (hosted) {
    io.out('friendtorrent: stopping (telling trackers, saving resume data)…')
    await hosted.close()
    io.out(`friendtorrent: stopped; the library is in ${stateDir}`)
  }
  client?.close()
  return 0
}
