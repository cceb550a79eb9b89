// Two of our clients learn of each other at the same moment and dial each
// other at once (a simultaneous open), over TCP and over uTP-then-TCP: each
// ends with exactly one connection to the other, the same one at both ends
// (the one dialled by the greater peer id, libtorrent's rule), nothing is
// held against the peer, and the download goes on over it.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import { DUPLICATE_CONNECTION } from '../../src/torrent/duplicate-connection.ts'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startOurPeer, startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer } from '../helpers/our-seeder.ts'

const ROUNDS = 4

for (const utp of [false, true]) {
  test(`simultaneous dial over ${utp ? 'uTP (TCP after it)' : 'TCP'}: exactly one connection, the same at both ends`, { timeout: 120_000 }, async (t) => {
    const work = tempDir(`ft-simopen-${utp ? 'utp' : 'tcp'}`)
    const stops: (() => Promise<void>)[] = []
    try {
      const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: ['http://127.0.0.1:9/announce'] })
      let duplicatesResolved = 0
      for (let round = 0; round < ROUNDS; round++) {
        // Upload held back: the leecher is still downloading (so still connected) while we look.
        const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false, utp, uploadLimiter: new LimiterChain(new TokenBucket(64 * 1024, 32 * 1024)) })
        stops.push(seeder.stop)
        const leecher = await startOurPeer({ torrentPath: fixture.torrentPath, dataDir: join(work.path, `leech-${round}`), useTrackers: false, utp })
        stops.push(leecher.stop)
        const events = { seeder: record(seeder), leecher: record(leecher) }

        // The same moment: each hears of the other and dials at once.
        seeder.torrent.addPeers([{ host: '127.0.0.1', port: leecher.port, source: 'manual' }])
        leecher.torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])

        const one = () => seeder.torrent.snapshot().connectedPeers === 1 && leecher.torrent.snapshot().connectedPeers === 1
        await waitUntil(one, 20_000, `one connection at each end (round ${round})`)
        // Then the transfer runs over it, and it stays the only one.
        const from = leecher.torrent.snapshot().downloadedBytes
        let notOne = ''
        await waitUntil(() => {
          if (!one() && !notOne) notOne = describe(seeder, leecher)
          return leecher.torrent.snapshot().downloadedBytes > from + 32 * 1024
        }, 30_000, `data flowing over the one connection (round ${round})`)
        assert.equal(notOne, '', 'still exactly one connection at each end all along')

        const [s] = seeder.torrent.snapshot().peers
        const [l] = leecher.torrent.snapshot().peers
        assert.notEqual(s.incoming, l.incoming, `both ends kept the same connection: ${describe(seeder, leecher)}`)
        const seederDialled = !s.incoming
        assert.equal(seederDialled, Buffer.compare(seeder.peerId, leecher.peerId) > 0, 'the connection kept is the one the greater peer id dialled')
        // Only duplicates were closed, and none of them counts as a failure of the peer.
        for (const [who, e] of Object.entries(events)) {
          const others = e.closed.filter((reason) => reason !== DUPLICATE_CONNECTION)
          assert.deepEqual(others, [], `${who}: connections closed for other reasons`)
          duplicatesResolved += e.closed.length
        }
        assert.equal(leecher.torrent.snapshot().knownPeers, 1)
        assert.equal(seeder.torrent.snapshot().knownPeers, 1, 'the seeder knows the leecher once, at its listen address')
        await leecher.stop()
        await seeder.stop()
      }
      // Two dials at one moment almost always both reach a handshake; had none, this test would show nothing.
      assert.ok(duplicatesResolved > 0, 'at least one round made two connections and closed one')
      t.diagnostic(`${duplicatesResolved} duplicate connections closed in ${ROUNDS} rounds`)
    } finally {
      for (const stop of stops.reverse()) await stop()
      await work.cleanup()
    }
  })
}

/** Every connection of `peer` that ended, or never became a peer, with its reason. */
function record(peer: OurPeer): { closed: string[] } {
  const closed: string[] = []
  peer.torrent.on('peerFailed', (_key, reason) => closed.push(reason))
  peer.torrent.on('peerDisconnected', (_key, reason) => closed.push(reason))
  return { closed }
}

function describe(seeder: OurPeer, leecher: OurPeer): string {
  const view = (p: OurPeer) => p.torrent.snapshot().peers.map((x) => `${x.key} ${x.incoming ? 'in' : 'out'} ${x.transport}`).join(', ')
  return `seeder [${view(seeder)}] leecher [${view(leecher)}]`
}
