// The built binary's dashboard in a real terminal (tmux, 80×24) and the
// mouse: while it runs the terminal reports the mouse (tmux's pane flags say
// so), a click (the SGR report a terminal sends, written into the pane)
// selects the torrent on that row, a suspend hands the terminal back with the
// mouse off and a continue takes it again, and quitting leaves the terminal
// out of mouse mode. With --no-mouse the terminal is never put in it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CLI_PATH, isolatedEnv, runCli } from '../helpers/cli.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'

const SOCKET = `ft-test-dash2-mouse-${process.pid}`
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' })
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const NAMES = ['mouse-alpha', 'mouse-bravo', 'mouse-charlie']

describe('dashboard mouse in a real terminal (tmux)', () => {
  let work: TempDir

  before(() => {
    try {
      execFileSync('tmux', ['-V'])
    } catch {
      throw new Error('tmux is not installed: .ci/run installs it (apt-get install tmux)')
    }
    work = tempDir('tui-tmux-dash2-mouse')
  })

  after(async () => {
    try {
      tmux('kill-server')
    } catch {}
    await work?.cleanup()
  })

  function pane(name: string) {
    const screen = () => tmux('capture-pane', '-p', '-t', name)
    /** tmux's view of the pane: standard (1000) and SGR (1006) mouse reporting on or off. */
    const mouseFlags = () => tmux('display-message', '-p', '-t', name, '#{mouse_standard_flag} #{mouse_sgr_flag}').trim()
    const until = async (what: string, test: () => boolean, ms = 20_000) => {
      const end = Date.now() + ms
      while (!test()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; mouse flags ${mouseFlags()}; the screen:\n${screen()}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const start = (env: NodeJS.ProcessEnv, flags: string[]) => {
      const vars = ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'FRIENDTORRENT_NO_FORCED_EXIT'].map((k) => `${k}=${sh(env[k]!)}`).join(' ')
      tmux('new-session', '-d', '-s', name, '-x', '80', '-y', '24', `env ${vars} TERM=xterm-256color ${sh(process.execPath)} ${sh(CLI_PATH)} ${flags.join(' ')}; sleep 60`)
    }
    /** The dashboard's own process: the pane's shell runs it as its child. */
    const dashboardPid = () => {
      const shell = tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim()
      return Number(execFileSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' }).trim().split('\n')[0])
    }
    return { screen, mouseFlags, until, start, dashboardPid, keys: (...k: string[]) => tmux('send-keys', '-t', name, ...k) }
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
