// The built binary's dashboard in a real terminal (tmux, 80×24) and the
// mouse: while it runs the terminal reports the mouse (tmux's pane flags say
// so), a click (the SGR report a terminal sends, written into the pane)
// selects the torrent on that row, a suspend hands the terminal back with the
// mouse off and a continue takes it again, and quitting leaves the terminal
// out of mouse mode. With --no-mouse the terminal is never put in it.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { isolatedEnv, runCli } from '../helpers/cli.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { sh, tmuxServer } from '../helpers/tmux.ts'
import type { TmuxServer } from '../helpers/tmux.ts'

const NAMES = ['mouse-alpha', 'mouse-bravo', 'mouse-charlie']

describe('dashboard mouse in a real terminal (tmux)', () => {
  let work: TempDir
  let server: TmuxServer

  before(() => {
    server = tmuxServer('test-dash2-mouse')
    work = tempDir('tui-tmux-dash2-mouse')
  })

  after(async () => {
    server?.kill()
    await work?.cleanup()
  })

  /** A pane whose timeouts also say tmux's mouse flags: standard (1000) and SGR (1006) reporting on or off. */
  function pane(name: string) {
    const mouseFlags = () => server.tmux('display-message', '-p', '-t', name, '#{mouse_standard_flag} #{mouse_sgr_flag}').trim()
    return { ...server.pane(name, () => `mouse flags ${mouseFlags()}`), mouseFlags }
  }

  it('reports the mouse while it runs, a click selects a row, suspend and quit give the mouse back', async () => {
    const home = join(work.path, 'home')
    const env = isolatedEnv(home)
    const p = pane('ft')
    p.start(env, ['--path', sh(join(work.path, 'downloads'))])
    await p.until('the empty dashboard', () => p.screen().includes('friendtorrent all 0') && p.screen().includes('port '))
    assert.equal(p.mouseFlags(), '1 1', 'mouse reporting on, SGR encoding')
    for (const [i, name] of NAMES.entries()) {
      const path = join(work.path, `${name}.torrent`)
      writeFileSync(path, buildTorrent({ name, files: 64 * 1024, pieceLength: 16 * 1024, seed: i + 1 }).torrent)
      const added = await runCli(['add', path], { timeoutMs: 30_000, env })
      assert.equal(added.code, 0, added.stderr)
    }
    await p.until('three torrents', () => NAMES.every((n) => p.screen().includes(n)))
    const rowOf = (n: string) => p.screen().split('\n').findIndex((l) => l.includes(n))
    const row = (n: string) => p.screen().split('\n')[rowOf(n)] ?? ''

    // A left press and release on charlie's row (1-based cells), then p: charlie pauses, alpha does not.
    const y = rowOf('mouse-charlie') + 1
    p.keys('-l', `\x1b[<0;6;${y}M\x1b[<0;6;${y}m`)
    p.keys('p')
    await p.until('charlie paused', () => /paused/.test(row('mouse-charlie')))
    assert.doesNotMatch(row('mouse-alpha'), /paused/)

    // Suspended, the terminal is its own again; continued, the dashboard takes it and draws again.
    const pid = p.dashboardPid()
    process.kill(pid, 'SIGTSTP')
    await p.until('the mouse off while suspended', () => p.mouseFlags() === '0 0' && !p.screen().includes('mouse-charlie'))
    process.kill(pid, 'SIGCONT')
    await p.until('the dashboard back', () => p.mouseFlags() === '1 1' && p.screen().includes('mouse-charlie') && p.screen().includes('resumed'))

    p.keys('q')
    await p.until('the session stopped', () => p.screen().includes('friendtorrent: stopped'))
    assert.equal(p.mouseFlags(), '0 0', 'the terminal is left without mouse reporting')
  })

  it('--no-mouse leaves the mouse to the terminal', async () => {
    const env = isolatedEnv(join(work.path, 'home-no-mouse'))
    const p = pane('ft-off')
    p.start(env, ['--no-mouse'])
    await p.until('the empty dashboard', () => p.screen().includes('friendtorrent all 0') && p.screen().includes('port '))
    assert.equal(p.mouseFlags(), '0 0')
    p.keys('q')
    await p.until('the session stopped', () => p.screen().includes('friendtorrent: stopped'))
  })
})
