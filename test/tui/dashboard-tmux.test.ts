// The built binary's dashboard in a real terminal (tmux, 80×24) against a
// loopback swarm: add a torrent with `a`, watch its bar reach 100 %, pause and
// resume, verify, open its details and see the seeder, quit with `q`, and find
// the session's state saved.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CLI_PATH, REPO_ROOT, isolatedEnv, runCli } from '../helpers/cli.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { startDashboardSwarm } from '../helpers/dashboard-swarm.ts'
import type { DashboardSwarm } from '../helpers/dashboard-swarm.ts'
import { sh } from '../helpers/tmux.ts'
import type { TmuxPane } from '../helpers/tmux.ts'

describe('dashboard in a real terminal (tmux)', () => {
  let swarm: DashboardSwarm

  before(async () => {
    // Slow enough (~6 s for 3 MB) to watch it download and look at its peer, fast enough for CI.
    swarm = await startDashboardSwarm('tui', 512 * 1024)
  })

  after(() => swarm?.stop())

  it('adds, downloads to 100 %, pauses, resumes, verifies, shows the peer, quits and keeps its state', async () => {
    const home = join(swarm.work.path, 'home')
    const env = isolatedEnv(home)
    const dl = join(swarm.work.path, 'downloads')
    const exitFile = join(swarm.work.path, 'exit-code')
    const { screen, keys, waitScreen, start }: TmuxPane = swarm.server.pane('ft')
    start(env, ['--path', sh(dl)], { exitFile })

    await waitScreen('the empty dashboard', (s) => s.includes('friendtorrent all 0') && s.includes('port '))
    keys('a')
    await waitScreen('the add prompt', (s) => s.includes('add (path or magnet'))
    keys('-l', swarm.fixture.torrentPath)
    keys('Enter')
    await waitScreen('the torrent in the list', (s) => s.includes(swarm.fixture.name) && /added /.test(s))
    await waitScreen('it downloading, with its bar', (s) => /[█▏▎▍▌▋▊▉]*·+ +\d+\.\d% downloading/.test(s))

    const row = (s: string) => s.split('\n').find((l) => l.startsWith(swarm.fixture.name.slice(0, 10))) ?? ''
    keys('p')
    await waitScreen('it paused', (s) => /paused/.test(row(s)))
    keys('p')
    await waitScreen('it resumed', (s) => /resumed /.test(s))

    // Details while it downloads: the seeder is connected.
    keys('Enter')
    await waitScreen('the files tab', (s) => s.includes('1 files') && s.includes('Priority'))
    keys('Tab')
    await waitScreen('the seeder in the peers tab', (s) => s.includes(`127.0.0.1:${swarm.seeder.port}`) && /tracker/.test(s))
    keys('Right')
    await waitScreen('the trackers tab', (s) => s.includes(swarm.tracker.httpUrl.slice(0, 30)) && /\bok\b/.test(s))
    keys('Right')
    await waitScreen('the piece map', (s) => /\d+\/\d+ pieces of 32\.0 KiB/.test(s))
    keys('Escape')
    await waitScreen('the list again', (s) => s.includes('Name') && s.includes('Progress'))

    await waitScreen('100 % and seeding', (s) => /100\.0% seeding/.test(row(s)), 30_000)
    await assertSameTree(swarm.fixture.payloadDir, dl)

    keys('v')
    await waitScreen('the check starting', (s) => s.includes('verifying') || /checking/.test(row(s)))
    await waitScreen('seeding again after the check', (s) => /100\.0% seeding/.test(row(s)), 30_000)

    for (const line of screen().split('\n')) assert.ok([...line].length <= 80, `wider than 80: ${line}`)
    // Resized smaller, it redraws to fit and stays usable.
    swarm.server.tmux('resize-window', '-t', 'ft', '-x', '60', '-y', '16')
    const small = await waitScreen('a redraw at 60×16', (s) => /^friendtorrent.*…$/m.test(s) && / port \d+/.test(s) && s.includes(swarm.fixture.name.slice(0, 10)))
    for (const line of small.split('\n')) assert.ok([...line].length <= 60, `wider than 60: ${line}`)
    keys('q')
    await waitScreen('the shell after quit', () => existsSync(exitFile), 20_000)
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', `exit code (70: a handle left open, named on the screen):\n${screen()}`)
    const after = screen()
    assert.match(after, /stopped; the library is in/)

    const stateDir = join(env.XDG_DATA_HOME!, 'friendtorrent')
    const library = JSON.parse(readFileSync(join(stateDir, 'library.json'), 'utf8')) as { torrents: { infoHash: string; state: string; savePath: string }[] }
    assert.deepEqual(
      library.torrents.map((t) => [t.infoHash, t.state, t.savePath]),
      [[swarm.fixture.infoHash, 'seeding', dl]],
    )
    assert.ok(readdirSync(join(stateDir, 'resume')).some((f) => f.startsWith(swarm.fixture.infoHash)), 'resume data saved')
  })

  it('attaches to a running headless session, acts on it, and q leaves it running', async () => {
    const home = join(swarm.work.path, 'home-attach')
    const env = isolatedEnv(home)
    const dl = join(swarm.work.path, 'downloads-attach')
    const seed = new ManagedProcess('friendtorrent seed', CLI_PATH, ['seed', '--download'], { env, cwd: REPO_ROOT })
    try {
      for (const end = Date.now() + 20_000; !seed.logs().includes('session on port'); ) {
        if (Date.now() > end || !seed.running) throw new Error(`friendtorrent seed did not start: ${seed.logs()}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      const add = await runCli(['add', swarm.fixture.torrentPath, '-o', dl], { homeDir: home, timeoutMs: 30_000 })
      assert.equal(add.code, 0, add.stderr)
      const exitFile = join(swarm.work.path, 'exit-code-attach')
      const ft2 = swarm.server.pane('ft2')
      ft2.start(env, [], { exitFile })
      const until = (what: string, test: (s: string) => boolean) => ft2.waitScreen(what, test)
      await until('the attached dashboard', (s) => s.includes('attached to the session') && / attached /.test(s) && s.includes(swarm.fixture.name.slice(0, 10)))
      await until('seeding', (s) => /100\.0% seeding/.test(s))
      ft2.keys('p')
      await until('paused through the socket', (s) => /paused/.test(s.split('\n').find((l) => l.startsWith(swarm.fixture.name.slice(0, 10))) ?? ''))
      ft2.keys('q')
      await until('the dashboard gone', () => existsSync(exitFile))
      assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', `exit code (70: a handle left open, named on the screen):\n${ft2.screen()}`)
      assert.ok(seed.running, 'the headless session keeps running after the dashboard detaches')
      const list = await runCli(['list', '--json'], { homeDir: home, timeoutMs: 10_000 })
      assert.equal(list.code, 0, list.stderr)
      assert.deepEqual((JSON.parse(list.stdout) as { state: string }[]).map((t) => t.state), ['paused'])
    } finally {
      await seed.stop()
    }
  })
})
