// Both ends of a doubled connection must close the same one. Each case is
// checked from both ends: our view and the peer's (ids and directions swapped).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SILENT_REPLACE_MS, keepOnDuplicate, replacesStale, type DuplicateCase } from '../../../src/torrent/duplicate-connection.ts'

const LOW = Buffer.from('-FT0001-aaaaaaaaaaaa')
const HIGH = Buffer.from('-FT0001-zzzzzzzzzzzz')

/** The same two connections as the other end sees them. */
function mirror(c: DuplicateCase, theirId: Buffer, ourId: Buffer): DuplicateCase {
  return {
    ourPeerId: theirId,
    ourListenPort: c.remoteListenPort,
    remoteListenPort: c.ourListenPort,
    existing: { outgoing: !c.existing.outgoing, remotePeerId: ourId },
    fresh: { outgoing: !c.fresh.outgoing, remotePeerId: ourId },
  }
}

/** Which connection (named by who dialled it) each end keeps. */
function kept(c: DuplicateCase): 'ours' | 'theirs' {
  const keeper = keepOnDuplicate(c) === 'fresh' ? c.fresh : c.existing
  return keeper.outgoing ? 'ours' : 'theirs'
}

test('simultaneous open: the connection dialled by the greater peer id stays, at both ends', () => {
  for (const [ours, theirs] of [[LOW, HIGH], [HIGH, LOW]]) {
    for (const freshOutgoing of [true, false]) {
      const c: DuplicateCase = {
        ourPeerId: ours,
        ourListenPort: 6881,
        remoteListenPort: 6882,
        existing: { outgoing: !freshOutgoing, remotePeerId: theirs },
        fresh: { outgoing: freshOutgoing, remotePeerId: theirs },
      }
      const want = Buffer.compare(ours, theirs) > 0 ? 'ours' : 'theirs'
      assert.equal(kept(c), want, `our id ${ours}, fresh ${freshOutgoing ? 'outgoing' : 'incoming'}`)
      // The peer sees the same two connections, possibly finishing in the other order.
      for (const m of [mirror(c, theirs, ours), { ...mirror(c, theirs, ours), existing: mirror(c, theirs, ours).fresh, fresh: mirror(c, theirs, ours).existing }]) {
        const theirKeep = kept(m) === 'ours' ? 'theirs' : 'ours'
        assert.equal(theirKeep, want, 'the peer keeps the very same connection')
      }
    }
  }
})

test('two connections made the same way: the one there first stays', () => {
  for (const outgoing of [true, false]) {
    const c: DuplicateCase = { ourPeerId: HIGH, ourListenPort: 1, remoteListenPort: 2, existing: { outgoing, remotePeerId: LOW }, fresh: { outgoing, remotePeerId: LOW } }
    assert.equal(keepOnDuplicate(c), 'existing')
  }
})

test('same IP and listen port under another peer id: the lower listen port keeps its outgoing connection, as libtorrent decides by address', () => {
  // A peer that changes its id per connection cannot be matched by id; libtorrent
  // (peer_list.cpp) keeps the outgoing connection of the side with the lower listen port.
  const other = Buffer.from('-XX0001-000000000000')
  for (const [ourPort, theirPort] of [[6881, 7000], [7000, 6881]]) {
    for (const freshOutgoing of [true, false]) {
      const c: DuplicateCase = {
        ourPeerId: LOW,
        ourListenPort: ourPort,
        remoteListenPort: theirPort,
        existing: { outgoing: !freshOutgoing, remotePeerId: freshOutgoing ? other : HIGH },
        fresh: { outgoing: freshOutgoing, remotePeerId: freshOutgoing ? HIGH : other },
      }
      const want = ourPort < theirPort ? 'ours' : 'theirs'
      assert.equal(kept(c), want)
      const libtorrentKeeps = theirPort < ourPort ? 'theirs' : 'ours'
      assert.equal(libtorrentKeeps, want)
    }
  }
})

test('the peer dials again while its old connection is dead at its end: the new one replaces it', () => {
  const base = { ourPeerId: HIGH, ourListenPort: 6881, remoteListenPort: 6882 }
  const silent = SILENT_REPLACE_MS
  for (const existingOutgoing of [true, false]) {
    // Silent long enough, from the same IP address: replaced, whoever dialled the old one.
    const c: DuplicateCase = { ...base, existing: { outgoing: existingOutgoing, remotePeerId: LOW }, fresh: { outgoing: false, remotePeerId: LOW }, staleness: { sameHost: true, sameEndpoint: false, existingSilentMs: silent } }
    assert.equal(keepOnDuplicate(c), 'fresh')
    assert.equal(replacesStale(c), true)
    // Not silent long enough: the tie-break rules decide, as before.
    const live = { ...c, staleness: { sameHost: true, sameEndpoint: false, existingSilentMs: silent - 1 } }
    assert.equal(replacesStale(live), false)
    assert.equal(keepOnDuplicate(live), keepOnDuplicate({ ...c, staleness: undefined }))
    // Another IP address (a copied peer id): never replaced, however silent.
    const stranger = { ...c, staleness: { sameHost: false, sameEndpoint: false, existingSilentMs: 10 * silent } }
    assert.equal(replacesStale(stranger), false)
    // Our own dial never replaces: the peer may still hold the old one and keep it.
    const ours: DuplicateCase = { ...c, existing: { outgoing: !existingOutgoing, remotePeerId: LOW }, fresh: { outgoing: true, remotePeerId: LOW } }
    assert.equal(replacesStale(ours), false)
  }
})

test('a second incoming connection from the very address and port of the first replaces it at once; a uTP simultaneous open does not', () => {
  const base = { ourPeerId: HIGH, ourListenPort: 6881, remoteListenPort: 6882 }
  const sameEndpoint = { sameHost: true, sameEndpoint: true, existingSilentMs: 0 }
  // Both dialled by the peer from one address and port: its old one is gone (TCP cannot hold the pair twice).
  const redial: DuplicateCase = { ...base, existing: { outgoing: false, remotePeerId: LOW }, fresh: { outgoing: false, remotePeerId: LOW }, staleness: sameEndpoint }
  assert.equal(keepOnDuplicate(redial), 'fresh')
  // uTP dials from the listen port: one each way from the same endpoints is a simultaneous open, for the tie-break.
  const simultaneous: DuplicateCase = { ...redial, existing: { outgoing: true, remotePeerId: LOW }, staleness: sameEndpoint }
  assert.equal(replacesStale(simultaneous), false)
  assert.equal(keepOnDuplicate(simultaneous), keepOnDuplicate({ ...simultaneous, staleness: undefined }))
})
