import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PEX_MAX_PEERS_PER_LIST, PEX_MIN_INTERVAL_MS, PexState } from '../../../src/discovery/pex.ts'
import { addressKey, type PeerAddress } from '../../../src/core/types.ts'
import { decodePex, encodePex, PEX_FLAG_REACHABLE, PEX_FLAG_SEED, PEX_FLAG_UTP, type PexMessage } from '../../../src/wire/ut-pex.ts'

const A: PeerAddress = { host: '10.0.0.1', port: 6881 }
const B: PeerAddress = { host: '10.0.0.2', port: 6882 }
const C: PeerAddress = { host: '10.0.0.3', port: 6883 }
const D: PeerAddress = { host: '10.0.0.4', port: 6884 }
const V6: PeerAddress = { host: '2001:db8::1', port: 7000 }

function v4(i: number): PeerAddress {
  return { host: `10.1.${i >> 8}.${i & 0xff}`, port: 6000 + (i % 1000) }
}

function msg(parts: Partial<PexMessage>): PexMessage {
  const added = parts.added ?? []
  return {
    added,
    addedFlags: parts.addedFlags ?? added.map(() => 0),
    dropped: parts.dropped ?? [],
    added6: parts.added6 ?? [],
    dropped6: parts.dropped6 ?? [],
  }
}

function sendTo(pex: PexState, to: PeerAddress, nowMs: number): PexMessage | undefined {
  return pex.messageFor(addressKey(to), [to], nowMs)
}

test('the first message lists every connected peer except the recipient', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(A)
  pex.handleConnected(B)
  pex.handleConnected(C)
  const m = sendTo(pex, B, 0)
  assert.ok(m)
  assert.deepEqual(m.added, [A, C])
  assert.deepEqual(m.addedFlags, [0, 0])
  assert.deepEqual(m.dropped, [])
  assert.deepEqual(m.added6, [])
  // The message must be encodable by the codec.
  assert.deepEqual(decodePex(encodePex(m)).added, [A, C])
})

test('the recipient is left out whether it is matched by key or by address', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(A)
  pex.handleConnected(B)
  const m = pex.messageFor('some-other-key', [A], 0)
  assert.deepEqual(m?.added, [B])
})

test('a peer that dialled us never hears its own listen address (BEP 10 p) back', () => {
  // A dialled us from an ephemeral port and told us it listens on 6881: both
  // addresses are its own, and the first is never in the list anyway.
  const pex = new PexState({ private: false })
  const aFrom: PeerAddress = { host: A.host, port: 54321 }
  pex.handleConnected(A) // its listen address, as PeerExtensions records it
  pex.handleConnected(B)
  const m = pex.messageFor(addressKey(aFrom), [aFrom, A], 0)
  assert.deepEqual(m?.added, [B])
  assert.deepEqual(m?.dropped, [])
})

test('a message that would name only the recipient is not sent and does not start its minute', () => {
  // The flake this guards: the first message named the leecher only itself,
  // used up the minute, and the peer that joined a moment later waited for the next one.
  const pex = new PexState({ private: false })
  const aFrom: PeerAddress = { host: A.host, port: 54321 }
  pex.handleConnected(A)
  assert.equal(pex.messageFor(addressKey(aFrom), [aFrom, A], 0), undefined)
  pex.handleConnected(B)
  assert.deepEqual(pex.messageFor(addressKey(aFrom), [aFrom, A], 1_000)?.added, [B], 'the next tick carries the news')
})

test('the recipient’s own address is never sent later either, even after it reconnects', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  assert.deepEqual(sendTo(pex, A, 0)?.added, [B])
  pex.handleConnected(A)
  pex.handleConnected(C)
  assert.deepEqual(sendTo(pex, A, 60_000)?.added, [C])
  pex.forgetPeer(addressKey(A))
  assert.deepEqual(sendTo(pex, A, 60_001)?.added, [B, C])
})

test('nothing to say yields no message', () => {
  const pex = new PexState({ private: false })
  assert.equal(sendTo(pex, A, 0), undefined)
  pex.handleConnected(A)
  assert.equal(sendTo(pex, A, 0), undefined, 'the only connected peer is the recipient itself')
})

test('a recipient hears from us at most once per interval (60 s by default)', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(A)
  pex.handleConnected(B)
  assert.ok(sendTo(pex, A, 1_000))
  pex.handleConnected(C)
  assert.equal(sendTo(pex, A, 1_000 + PEX_MIN_INTERVAL_MS - 1), undefined)
  assert.deepEqual(sendTo(pex, A, 1_000 + PEX_MIN_INTERVAL_MS)?.added, [C])
})

test('a custom interval is respected', () => {
  const pex = new PexState({ private: false, minIntervalMs: 5_000 })
  pex.handleConnected(A)
  pex.handleConnected(B)
  assert.ok(sendTo(pex, A, 0))
  pex.handleConnected(C)
  assert.equal(sendTo(pex, A, 4_999), undefined)
  assert.deepEqual(sendTo(pex, A, 5_000)?.added, [C])
})

test('an empty round does not restart the interval', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  assert.ok(sendTo(pex, A, 0))
  assert.equal(sendTo(pex, A, 60_000), undefined, 'no change, no message')
  pex.handleConnected(C)
  assert.deepEqual(sendTo(pex, A, 60_001)?.added, [C])
})

test('later messages carry only what was added and dropped since', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  pex.handleConnected(C)
  assert.deepEqual(sendTo(pex, A, 0)?.added, [B, C])
  pex.handleDisconnected(B)
  pex.handleConnected(D)
  const m = sendTo(pex, A, 60_000)
  assert.deepEqual(m?.added, [D])
  assert.deepEqual(m?.dropped, [B])
})

test('each recipient has its own baseline', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  assert.deepEqual(sendTo(pex, A, 0)?.added, [B])
  pex.handleConnected(C)
  // D has heard nothing yet: its first message lists everyone current.
  assert.deepEqual(sendTo(pex, D, 10_000)?.added, [B, C])
  pex.handleDisconnected(B)
  const toA = sendTo(pex, A, 60_000)
  assert.deepEqual(toA?.added, [C])
  assert.deepEqual(toA?.dropped, [B])
  const toD = sendTo(pex, D, 70_000)
  assert.deepEqual(toD?.added, [])
  assert.deepEqual(toD?.dropped, [B])
})

test('a peer that came and went between messages is never mentioned', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  assert.ok(sendTo(pex, A, 0))
  pex.handleConnected(C)
  pex.handleDisconnected(C)
  assert.equal(sendTo(pex, A, 60_000), undefined)
})

test('a peer that left and came back before the next message is neither added nor dropped', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  pex.handleConnected(C)
  assert.ok(sendTo(pex, A, 0))
  pex.handleDisconnected(B)
  pex.handleConnected(B)
  pex.handleConnected(D)
  const m = sendTo(pex, A, 60_000)
  assert.deepEqual(m?.added, [D])
  assert.deepEqual(m?.dropped, [])
})

test('forgetPeer makes the next message to that peer a full first one again', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  pex.handleConnected(C)
  assert.ok(sendTo(pex, A, 0))
  pex.forgetPeer(addressKey(A))
  assert.deepEqual(sendTo(pex, A, 1)?.added, [B, C], 'no interval wait and no baseline after forgetting')
})

test('added is capped at 50 by default and the rest follow in later messages', () => {
  const pex = new PexState({ private: false })
  for (let i = 1; i <= 120; i++) pex.handleConnected(v4(i))
  const first = sendTo(pex, A, 0)
  assert.equal(PEX_MAX_PEERS_PER_LIST, 50)
  assert.equal(first?.added.length, 50)
  assert.equal(first?.addedFlags.length, 50)
  const second = sendTo(pex, A, 60_000)
  assert.equal(second?.added.length, 50)
  const third = sendTo(pex, A, 120_000)
  assert.equal(third?.added.length, 20)
  const all = [...first!.added, ...second!.added, ...third!.added].map(addressKey)
  assert.equal(new Set(all).size, 120, 'every peer sent exactly once')
  assert.equal(sendTo(pex, A, 180_000), undefined)
})

test('dropped is capped and the rest follow in later messages', () => {
  const pex = new PexState({ private: false, maxAddedPerMessage: 10, maxDroppedPerMessage: 3 })
  for (let i = 1; i <= 8; i++) pex.handleConnected(v4(i))
  assert.equal(sendTo(pex, A, 0)?.added.length, 8)
  for (let i = 1; i <= 8; i++) pex.handleDisconnected(v4(i))
  assert.equal(sendTo(pex, A, 60_000)?.dropped.length, 3)
  assert.equal(sendTo(pex, A, 120_000)?.dropped.length, 3)
  assert.equal(sendTo(pex, A, 180_000)?.dropped.length, 2)
  assert.equal(sendTo(pex, A, 240_000), undefined)
})

test('a private torrent never sends and never accepts (BEP 27)', () => {
  const pex = new PexState({ private: true })
  pex.handleConnected(B)
  pex.handleConnected(C)
  assert.equal(sendTo(pex, A, 0), undefined)
  assert.equal(sendTo(pex, A, 10 * 60_000), undefined)
  assert.deepEqual(pex.handleMessage(addressKey(A), msg({ added: [B, C, D] }), 0), [])
})

test('incoming peers become candidates from source pex, IPv4 and IPv6', () => {
  const pex = new PexState({ private: false })
  const got = pex.handleMessage(addressKey(A), msg({ added: [B, C], added6: [V6], dropped: [D] }), 0)
  assert.deepEqual(got, [
    { ...B, source: 'pex', utp: false },
    { ...C, source: 'pex', utp: false },
    { ...V6, source: 'pex' },
  ])
})

test('BEP 11 flag 0x04 (uTP) is sent for uTP peers and read from incoming flags', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(A, { utp: true })
  pex.handleConnected(B)
  const m = sendTo(pex, C, 0)!
  assert.deepEqual(m.addedFlags, [PEX_FLAG_UTP, 0])
  const back = decodePex(encodePex(m))
  const got = new PexState({ private: false }).handleMessage(addressKey(D), back, 0)
  assert.deepEqual(got, [{ ...A, source: 'pex', utp: true }, { ...B, source: 'pex', utp: false }])
})

test('a peer sending more often than every 30 s is ignored until 30 s have passed', () => {
  const pex = new PexState({ private: false })
  const from = addressKey(A)
  assert.equal(pex.handleMessage(from, msg({ added: [B] }), 0).length, 1)
  assert.deepEqual(pex.handleMessage(from, msg({ added: [C] }), 29_999), [])
  assert.deepEqual(pex.handleMessage(from, msg({ added: [C] }), 30_000), [{ ...C, source: 'pex', utp: false }])
  // Another sender has its own clock.
  assert.equal(pex.handleMessage(addressKey(B), msg({ added: [D] }), 30_001).length, 1)
})

test('incoming candidates over the cap are ignored', () => {
  const pex = new PexState({ private: false })
  const many = Array.from({ length: 80 }, (_, i) => v4(i + 1))
  const got = pex.handleMessage(addressKey(A), msg({ added: many }), 0)
  assert.equal(got.length, 50)
  assert.deepEqual(got.map(addressKey), many.slice(0, 50).map(addressKey))

  const small = new PexState({ private: false, maxCandidatesPerMessage: 2 })
  assert.equal(small.handleMessage(addressKey(A), msg({ added: [B, C], added6: [V6] }), 0).length, 2)
})

test('unusable and own addresses are skipped', () => {
  const pex = new PexState({ private: false })
  const self: PeerAddress = { host: '192.168.1.5', port: 51413 }
  const got = pex.handleMessage(
    addressKey(A),
    msg({
      added: [
        { host: '10.0.0.9', port: 0 },
        { host: '0.0.0.0', port: 6881 },
        { host: '224.0.0.1', port: 6881 },
        { host: '239.255.255.250', port: 1900 },
        { host: '255.255.255.255', port: 6881 },
        self,
        B,
        B,
      ],
      added6: [
        { host: '::', port: 6881 },
        { host: 'ff02::1', port: 6881 },
        { host: '2001:db8::1', port: 0 },
        V6,
      ],
    }),
    0,
    self,
  )
  assert.deepEqual(got, [
    { ...B, source: 'pex', utp: false },
    { ...V6, source: 'pex' },
  ])
})

test('the same peer on our own address but another port is kept', () => {
  const pex = new PexState({ private: false })
  const self: PeerAddress = { host: '192.168.1.5', port: 51413 }
  const got = pex.handleMessage(addressKey(A), msg({ added: [{ host: self.host, port: 51414 }] }), 0, self)
  assert.equal(got.length, 1)
})

test('IPv6 peers go in added6 and dropped6', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  pex.handleConnected(V6)
  const first = sendTo(pex, A, 0)
  assert.deepEqual(first?.added, [B])
  assert.deepEqual(first?.added6, [V6])
  assert.deepEqual(first?.addedFlags, [0], 'one flag byte per IPv4 added peer')
  pex.handleDisconnected({ host: '2001:0db8:0:0::1', port: 7000 })
  const second = sendTo(pex, A, 60_000)
  assert.deepEqual(second?.dropped, [])
  assert.deepEqual(second?.dropped6, [V6])
  const wire = decodePex(encodePex(second!))
  assert.deepEqual(wire.dropped6, [V6])
})

test('IPv4-mapped IPv6 addresses are treated as IPv4', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected({ host: '::ffff:10.0.0.2', port: 6882 })
  const m = sendTo(pex, A, 0)
  assert.deepEqual(m?.added, [B])
  assert.deepEqual(m?.added6, [])
})

test('seed and reachable flags are set per added peer', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B, { seed: true })
  pex.handleConnected(C, { reachable: true })
  pex.handleConnected(D, { seed: true, reachable: true })
  pex.handleConnected({ host: '10.0.0.5', port: 6885 })
  const m = sendTo(pex, A, 0)
  assert.deepEqual(m?.addedFlags, [PEX_FLAG_SEED, PEX_FLAG_REACHABLE, PEX_FLAG_SEED | PEX_FLAG_REACHABLE, 0])
  assert.equal(PEX_FLAG_SEED, 0x02)
  assert.equal(PEX_FLAG_REACHABLE, 0x10)
  assert.deepEqual(decodePex(encodePex(m!)).addedFlags, [0x02, 0x10, 0x12, 0x00])
})

test('connecting again updates a peer’s flags for recipients not yet told', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected(B)
  pex.handleConnected(B, { seed: true })
  assert.deepEqual(sendTo(pex, A, 0)?.addedFlags, [PEX_FLAG_SEED])
})

test('peers without a usable listen address are never advertised', () => {
  const pex = new PexState({ private: false })
  pex.handleConnected({ host: 'example.org', port: 6881 })
  pex.handleConnected({ host: '10.0.0.7', port: 0 })
  assert.equal(sendTo(pex, A, 0), undefined)
})

test('bad options are refused with a message naming the option', () => {
  assert.throws(() => new PexState({ private: false, minIntervalMs: -1 }), /minIntervalMs/)
  assert.throws(() => new PexState({ private: false, maxAddedPerMessage: 1.5 }), /maxAddedPerMessage/)
})
