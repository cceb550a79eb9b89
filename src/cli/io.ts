// The CLI's view of its process: output streams, environment and TTY-ness,
// passed in so commands can be run in tests without a terminal.

export interface CliIo {
  out(line: string): void
  err(line: string): void
  /** Raw write, for redrawing a live line. */
  write(text: string): void
  env: NodeJS.ProcessEnv
  cwd: string
  isTTY: boolean
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    write: (text) => process.stdout.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
  }
}
