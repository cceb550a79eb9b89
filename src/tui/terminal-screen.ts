// The terminal modes the dashboard runs in: the alternate screen (the shell's
// scrollback is left as it was), the cursor hidden, and with `mouse` xterm's
// mouse reports (mouse.ts). Every way out puts the terminal back, so it is
// never left reporting the mouse: release() (quit, and SIGINT, SIGTERM, SIGHUP
// through the caller's quit), a crash (uncaughtExceptionMonitor runs before
// Node prints the error, so the error lands on the normal screen; 'exit'
// catches any other way out), and a suspend (SIGTSTP, or Ctrl-Z through the
// dashboard): modes and raw mode off, then SIGSTOP; SIGCONT takes them again
// and calls onResume so the frame is drawn anew.
import { writeSync } from 'node:fs'
import { MOUSE_OFF, MOUSE_ON } from './mouse.ts'

export interface TerminalScreen {
  /** Back to the normal screen, the cursor shown, the mouse off; once. */
  release(): void
  /** Hands the terminal back and stops the process, as a shell's Ctrl-Z does. */
  suspend(): void
}

export function takeTerminal(opts: { stdout: NodeJS.WriteStream & { fd: number }; stdin: NodeJS.ReadStream; mouse: boolean; onResume: () => void }): TerminalScreen {
  const { stdout, stdin } = opts
  const enter = '\x1b[?1049h\x1b[H\x1b[?25l' + (opts.mouse ? MOUSE_ON : '')
  const leave = (opts.mouse ? MOUSE_OFF : '') + '\x1b[?25h\x1b[?1049l'
  let released = false
  let suspended = false
  // Synchronous: it must reach the terminal before the process exits or stops.
  const write = (s: string) => {
    try {
      writeSync(stdout.fd, s)
    } catch {
      // A terminal that is gone needs no restoring.
    }
  }
  const setRaw = (on: boolean) => {
    try {
      if (stdin.isTTY) stdin.setRawMode(on)
    } catch {}
  }
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    process.off('uncaughtExceptionMonitor', release)
    process.off('SIGTSTP', suspend)
    process.off('SIGCONT', onContinue)
    if (!suspended) write(leave)
  }
  const suspend = () => {
    if (released || suspended) return
    suspended = true
    write(leave)
    setRaw(false)
    process.kill(process.pid, 'SIGSTOP')
  }
  const onContinue = () => {
    if (released || !suspended) return
    suspended = false
    setRaw(true)
    write(enter)
    opts.onResume()
  }
  // The handlers first: a stop or an exit that comes as soon as the screen is taken puts it back.
  process.on('exit', release)
  process.on('uncaughtExceptionMonitor', release)
  process.on('SIGTSTP', suspend)
  process.on('SIGCONT', onContinue)
  write(enter)
  return { release, suspend }
}
