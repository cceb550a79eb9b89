// Magnet links end to end on loopback: no tracker, only a small DHT of
// bittorrent-dht nodes on 127.0.0.1 that our seeder announces into. Every
// node gets an explicit loopback bootstrap list: nothing here leaves the machine.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type DHT from 'bittorrent-dht'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { DhtSource } from '../../src/discovery/dht-source.ts'
import { magnetUri } from '../../src/metainfo/magnet.ts'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, runCli, testConfigJson } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { LOOPBACK, startLocalDht, type LocalDht } from '../helpers/local-dht.ts'

let local: LocalDht
let plain: DHT[] = []
let bootstrap: string[] = []

before(async () => {
  local = await startLocalDht(4)
  plain = local.nodes
  bootstrap = local.bootstrap
})

after(() => local.close())

test('add <magnet> with no tracker: metadata over BEP 9 from a peer found in the DHT, then the download', { timeout: 90_000 }, async () => {
  const work = tempDir('ft-magnet')
  const seederDht = new DhtNode({ port: 0, host: LOOPBACK, bootstrap })
  try {
    // The torrent names an announce URL nobody listens on: only the DHT can find the seeder.
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
    await seederDht.start()
    const announced = new Promise<void>((resolve) => plain.forEach((d) => d.once('announce', () => resolve())))
    const seeder = await startOurSeeder({
      torrentPath: fixture.torrentPath,
      dataDir: fixture.payloadDir,
      useTrackers: false,
      sources: (port, meta) => [new DhtSource({ node: seederDht, infoHash: meta.infoHash, port, private: false, announce: true })],
    })
    try {
      await announced
      const home = join(work.path, 'home')
      mkdirSync(join(home, '.config', 'friendtorrent'), { recursive: true })
      writeFileSync(join(home, '.config', 'friendtorrent', 'config.json'), testConfigJson({ dht: true, dhtBootstrap: bootstrap }))
      const out = join(work.path, 'out')
      const link = magnetUri({ infoHashHex: fixture.infoHash, name: fixture.name })
      const run = await runCli(['add', link, '-o', out, '--port', String(await freePort())], { timeoutMs: 60_000, homeDir: home })
      assert.equal(run.code, 0, describeRun(run))
      assert.match(run.stdout, /metadata verified/)
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(out, fixture.name))
      assert.ok(existsSync(join(home, '.local', 'share', 'friendtorrent', 'torrents', `${fixture.infoHash}.torrent`)), 'the fetched .torrent is kept in the state folder')
      assert.ok(existsSync(join(home, '.local', 'share', 'friendtorrent', 'dht.json')), 'the routing table is saved in the state folder')
    } finally {
      await seeder.stop()
    }
  } finally {
    await seederDht.stop()
    await work.cleanup()
  }
})
