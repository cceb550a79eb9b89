// The terminal is never left reporting the mouse: a process that took the
// terminal (alternate screen, mouse on) and then crashes, or is suspended and
// continued, writes the sequences that put it back, in order. Run in a child
// process whose "terminal" is a file, so the bytes can be read back.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, it } from 'node:test'
import { MOUSE_OFF, MOUSE_ON } from '../../src/tui/mouse.ts'
import { tempDir } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'

const MODULE = new URL('../../src/tui/terminal-screen.ts', import.meta.url).pathname
const ENTER = '\x1b[?1049h\x1b[H\x1b[?25l' + MOUSE_ON
const LEAVE = MOUSE_OFF + '\x1b[?25h\x1b[?1049l'
let work: TempDir

before(() => {
  work = tempDir('terminal-screen-dash2')
})
after(async () => {
  await work?.cleanup()
})

/** Runs `body` after takeTerminal in a child whose terminal output goes to a file; resolves with the child. */
function child(name: string, body: string) {
  const out = join(work.path, `${name}.out`)
  const script = join(work.path, `${name}.ts`)
  writeFileSync(out, '')
  writeFileSync(
    script,
    `import { openSync, writeSync } from 'node:fs'
import { takeTerminal } from ${JSON.stringify(MODULE)}
const fd = openSync(${JSON.stringify(out)}, 'a')
const screen = takeTerminal({ stdout: { fd } as never, stdin: process.stdin, mouse: true, onResume: () => writeSync(fd, '<resumed>') })
${body}
`,
  )
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  return { proc, exited, stderr: () => stderr, written: () => readFileSync(out, 'utf8') }
}

async function until(check: () => boolean, what: () => string, ms = 20_000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

it('a crash puts the terminal back before Node prints the error', async () => {
  const c = child('crash', `setTimeout(() => { throw new Error('boom in the dashboard') }, 10)`)
  assert.equal(await c.exited, 1)
  assert.equal(c.written(), ENTER + LEAVE)
  assert.match(c.stderr(), /boom in the dashboard/)
})

it('release puts it back once, however often it is called', async () => {
  const c = child('release', `screen.release(); screen.release(); process.exit(0)`)
  assert.equal(await c.exited, 0)
  assert.equal(c.written(), ENTER + LEAVE)
})

it('SIGTSTP gives the terminal back and stops; SIGCONT takes it again and asks for a redraw', async () => {
  const c = child('suspend', `setTimeout(() => { screen.release(); process.exit(0) }, 60_000); process.on('SIGCONT', () => setTimeout(() => { screen.release(); process.exit(0) }, 50))`)
  await until(() => c.written() === ENTER, c.written)
  c.proc.kill('SIGTSTP')
  const state = () => /\) (\w)/.exec(readFileSync(`/proc/${c.proc.pid}/stat`, 'utf8'))?.[1]
  await until(() => state() === 'T', () => `the child stopped (state ${state()})`)
  assert.equal(c.written(), ENTER + LEAVE, 'the mouse is off while it is stopped')
  c.proc.kill('SIGCONT')
  assert.equal(await c.exited, 0)
  assert.equal(c.written(), ENTER + LEAVE + ENTER + '<resumed>' + LEAVE)
})
