// Without a terminal the dashboard says where to go instead and exits 2;
// a bad flag is one line and exit 1, terminal or not.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCli } from '../helpers/cli.ts'

test('friendtorrent with no command and no terminal points to seed and add, exit 2', async () => {
  for (const args of [[], ['--debug', '--mode', 'seeding']]) {
    const run = await runCli(args, { timeoutMs: 20_000 })
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    assert.equal(run.stdout, '')
    assert.equal(run.stderr.trim().split('\n').length, 1)
    assert.match(run.stderr, /the dashboard needs a terminal; use `friendtorrent seed` to run headless or `friendtorrent add <torrent>`/)
  }
})

test('a bad --mode is one line naming the choices, exit 1', async () => {
  const run = await runCli(['--mode', 'leeching'], { timeoutMs: 20_000 })
  assert.equal(run.code, 1)
  assert.equal(run.stderr.trim(), 'friendtorrent: --mode is one of seeding, downloading, all, got "leeching"')
})
