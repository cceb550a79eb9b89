// The built binary's dashboard in real terminals (tmux, 80×24 and 200×50)
// against a loopback swarm, for the views of issue 16: the files tree folds,
// the session's rate graph moves while a download runs, and a ban from the
// peers tab takes effect (the seeder drops, progress stops, the ban is listed
// and kept in the library); lifting it and adding the seeder back by
// HOST:PORT finishes the download.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { isolatedEnv } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { startDashboardSwarm } from '../helpers/dashboard-swarm.ts'
import type { DashboardSwarm } from '../helpers/dashboard-swarm.ts'
import { sh } from '../helpers/tmux.ts'

const BRAILLE = /[\u2801-\u28ff]/
const UPLOAD_BYTES_PER_SECOND = 96 * 1024

describe('dashboard views in real terminals (tmux)', () => {
  let swarm: DashboardSwarm

  before(async () => {
    // ~3 MB at 96 KiB/s: about 30 s, long enough to ban the seeder and watch the
    // graph mid-way; each case lifts the limit once it has seen those.
    swarm = await startDashboardSwarm('dash-views', UPLOAD_BYTES_PER_SECOND)
  })

  after(() => swarm?.stop())

  for (const [columns, rows] of [
    [80, 24],
    [200, 50],
  ] as const) {
    it(`${columns}×${rows}: the tree folds, the rate graph moves, a ban takes effect and lifts`, async () => {
      const session = `v${columns}`
      swarm.uploadBucket.setRate(UPLOAD_BYTES_PER_SECOND)
      const { screen, keys, waitScreen, start } = swarm.server.pane(session)
      // One key at a time: keys sent together reach Ink as one chunk, read as typed text.
      const press = async (...k: string[]) => {
        for (const key of k) {
          keys(key)
          await new Promise((r) => setTimeout(r, 200))
        }
      }
      const fits = (s: string) => {
        for (const line of s.split('\n')) assert.ok([...line].length <= columns, `wider than ${columns}: ${line}`)
      }
      const home = join(swarm.work.path, `home-${columns}`)
      const env = isolatedEnv(home)
      const dl = join(swarm.work.path, `downloads-${columns}`)
      const exitFile = join(swarm.work.path, `exit-${columns}`)
      start(env, ['--path', sh(dl)], { columns, rows, exitFile })
      await waitScreen('the empty dashboard', (s) => s.includes('friendtorrent all 0') && s.includes('port '))
      keys('a')
      await waitScreen('the add prompt', (s) => s.includes('add (path or magnet'))
      keys('-l', swarm.fixture.torrentPath)
      keys('Enter')
      await waitScreen('it downloading', (s) => /\d+\.\d% downloading/.test(s))

      // Ban the seeder from the peers tab: its connection closes and stays closed.
      await press('Enter', '2')
      const seederKey = `127.0.0.1:${swarm.seeder.port}`
      await waitScreen('the seeder in the peers tab', (s) => s.includes(seederKey))
      keys('b')
      await waitScreen('the ban said and the seeder gone', (s) => s.includes('banned 127.0.0.1 in every torrent') && s.includes('no peers connected'))
      const progress = (s: string) => /(\d+\.\d)%\s+↓/.exec(s)?.[1]
      const stalled = progress(screen())
      await new Promise((r) => setTimeout(r, 2500))
      const later = screen()
      assert.ok(later.includes('no peers connected'), `a banned address stays away:\n${later}`)
      assert.equal(progress(later), stalled, 'nothing arrives while the only seeder is banned')
      const library = JSON.parse(readFileSync(join(env.XDG_DATA_HOME!, 'friendtorrent', 'library.json'), 'utf8')) as { bans?: string[] }
      assert.deepEqual(library.bans, ['127.0.0.1'], 'the ban is kept in the library')

      // The ban list shows it; x lifts it; n adds the seeder back by HOST:PORT and the download finishes.
      keys('B')
      await waitScreen('the ban list', (s) => /Banned addresses \(1\)/.test(s) && s.includes('127.0.0.1'))
      fits(screen())
      keys('x')
      await waitScreen('unbanned', (s) => s.includes('unbanned 127.0.0.1') && /Banned addresses \(0\)/.test(s))
      // Esc and n together would reach Ink as one chunk (an Alt-n): a pause between them.
      await press('Escape', 'n')
      await waitScreen('the add-peer prompt', (s) => s.includes('add a peer HOST:PORT'))
      keys('-l', seederKey)
      keys('Enter')
      await waitScreen('the seeder back', (s) => s.includes(seederKey))
      keys('Escape')
      // The session's rate graph: shown at 50 rows, one key away at 24; it moves while the download runs.
      if (rows < 30) keys('r')
      const graphLines = (s: string) => s.split('\n').filter((l) => BRAILLE.test(l) && !/[█·]/.test(l)).join('\n')
      const first = await waitScreen('the rate graph with samples', (s) => /↓ down \d/.test(s) && BRAILLE.test(graphLines(s)))
      fits(first)
      await waitScreen('the graph moving', (s) => graphLines(s) !== graphLines(first) && BRAILLE.test(graphLines(s)))

      // The files tree: the lone top folder and its folders open at first, ← folds, → unfolds.
      await press('Enter', '1')
      await waitScreen('the tree', (s) => s.includes('▾ odd/') && s.includes('▾ données/') && s.includes('ñandú.bin') && s.includes('nested/'))
      fits(screen())
      await press('Down', 'Left')
      await waitScreen('données folded', (s) => s.includes('▸ données/') && !s.includes('ñandú.bin'))
      keys('Right')
      await waitScreen('données open again', (s) => s.includes('▾ données/') && s.includes('ñandú.bin'))
      keys('t')
      await waitScreen('the flat list', (s) => s.includes('nested/deeper/beta.bin'))
      keys('t')

      // Seen what needs a download under way: the rest at full speed.
      swarm.uploadBucket.setRate(0)
      keys('Escape')
      await waitScreen('100 % and seeding', (s) => /100\.0% seeding/.test(s), 60_000)
      await assertSameTree(swarm.fixture.payloadDir, dl)
      keys('q')
      await waitScreen('the shell after quit', () => existsSync(exitFile), 20_000)
      assert.equal(readFileSync(exitFile, 'utf8').trim(), '0', screen())
    })
  }
})
