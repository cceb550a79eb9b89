// `friendtorrent ban|unban|bans|peer` with no session running: the ban list
// in the library changes directly (the next session applies it), bad input
// is one line and exit 1, and peer actions say they need a running session.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { runCli } from '../helpers/cli.ts'
import { tempDir } from '../helpers/net.ts'

describe('friendtorrent ban, unban, bans, peer (no session running)', () => {
  const home = tempDir('dash-cli-bans')
  after(() => home.cleanup())
  const cli = (...args: string[]) => runCli(args, { homeDir: home.path, timeoutMs: 30_000 })

  it('keeps the ban list in the library', async () => {
    const none = await cli('bans')
    assert.equal(none.code, 0, none.stderr)
    assert.equal(none.stdout.trim(), 'no banned addresses')
    const ban = await cli('ban', '::ffff:192.0.2.7')
    assert.equal(ban.code, 0, ban.stderr)
    assert.match(ban.stdout, /^banned 192\.0\.2\.7 \(no session running: the library is updated\)/)
    assert.equal((await cli('ban', '2001:db8::7')).code, 0)
    const listed = await cli('bans', '--json')
    assert.deepEqual(JSON.parse(listed.stdout), ['192.0.2.7', '2001:db8::7'])
    const library = JSON.parse(readFileSync(join(home.path, '.local', 'share', 'friendtorrent', 'library.json'), 'utf8')) as { bans: string[] }
    assert.deepEqual(library.bans, ['192.0.2.7', '2001:db8::7'])
    const unban = await cli('unban', '192.0.2.7')
    assert.match(unban.stdout, /^unbanned 192\.0\.2\.7/)
    assert.match((await cli('unban', '192.0.2.7')).stdout, /192\.0\.2\.7 was not banned/)
    assert.deepEqual(JSON.parse((await cli('bans', '--json')).stdout), ['2001:db8::7'])
  })

  it('refuses what is not an address, and peer actions without a session, in one line', async () => {
    const bad = await cli('ban', 'example.org')
    assert.equal(bad.code, 1)
    assert.equal(bad.stderr.trim(), 'friendtorrent: a ban is an IP address (like 192.0.2.7 or 2001:db8::7), got "example.org"')
    const peer = await cli('peer', 'abc', 'add', '127.0.0.1:6881')
    assert.equal(peer.code, 1)
    assert.match(peer.stderr.trim(), /^friendtorrent: no session is running: peers can only be added to a running torrent/)
    assert.equal(peer.stderr.trim().split('\n').length, 1)
    const usage = await cli('peer', 'abc', 'kick')
    assert.equal(usage.code, 1)
    assert.match(usage.stderr, /usage: friendtorrent peer <torrent> add/)
  })
})
