// Hostile seeders (test peers written here) against our download task: each
// misbehaves one way, is dropped or ignored as BEP 3 says, and the download
// then completes from an honest peer, byte for byte. The hostile peer is on
// 127.0.0.2 and is the only one at first, so what drops it is its own doing.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { FakeClock } from '../helpers/fake-clock.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { parseMagnetOrInfoHash } from '../../src/metainfo/magnet.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { MetadataTask } from '../../src/torrent/metadata-task.ts'
import { OUR_EXTENSIONS, Torrent } from '../../src/torrent/torrent.ts'
import { encode, encodeExtended, encodeHandshake } from '../../src/wire/index.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'
import type { HostileScript, WirePeer, WirePeerMetadata } from '../helpers/wire-peer.ts'

const PIECE_LENGTH = 16 * 1024
/** 17 pieces, the last one short: a 3-byte bitfield with 7 spare bits. */
const built = buildTorrent({ name: 'hostile.bin', files: 16 * PIECE_LENGTH + 1234, pieceLength: PIECE_LENGTH, seed: 41 })
const HOSTILE_HOST = '127.0.0.2'
const WAIT_MS = 20_000

function frame(length: number, id: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5)
  head.writeUInt32BE(length, 0)
  head[4] = id
  return Buffer.concat([head, body])
}

interface Drop {
  event: 'peerFailed' | 'peerDisconnected'
  reason: string
}

/** The first time the hostile peer's connection ends (before or after its handshake), and why. */
function hostileDrop(torrent: Torrent): { drops: Drop[]; first: Promise<Drop> } {
  const drops: Drop[] = []
  const first = new Promise<Drop>((resolve) => {
    const on = (event: Drop['event']) => (key: string, reason: string) => {
      if (!key.startsWith(`${HOSTILE_HOST}:`)) return
      drops.push({ event, reason })
      resolve({ event, reason })
    }
    torrent.on('peerFailed', on('peerFailed'))
    torrent.on('peerDisconnected', on('peerDisconnected'))
  })
  return { drops, first }
}

function completes(torrent: Torrent): Promise<void> {
  return new Promise((resolve, reject) => {
    torrent.once('complete', () => resolve())
    torrent.once('error', (message) => reject(new Error(message)))
  })
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * Our leecher meets the hostile peer alone; once `expectDrop` matched the
 * reason it was dropped (or, with `ignored`, once `ignored` holds and it is
 * still connected), an honest seeder joins and the download must complete.
 */
async function downloadPastHostile(opts: {
  hostile?: HostileScript
  metadata?: (meta: Metainfo) => WirePeerMetadata
  silent?: boolean
  expectDrop?: RegExp
  ignored?: (torrent: Torrent) => boolean
  clock?: FakeClock
}): Promise<{ torrent: Torrent; drops: Drop[] }> {
  const work = tempDir('hostile')
  const meta = await parseTorrentFile(built.torrent)
  const peers: WirePeer[] = []
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, work.path), peerId: newPeerId(), listenPort: 0, useTrackers: false, clock: opts.clock })
  const { drops, first } = hostileDrop(torrent)
  let advancing: NodeJS.Timeout | undefined
  try {
    const hostile = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: PIECE_LENGTH, host: HOSTILE_HOST, hostile: opts.hostile, metadata: opts.metadata?.(meta), silent: opts.silent })
    peers.push(hostile)
    const done = completes(torrent)
    torrent.addPeers([{ host: HOSTILE_HOST, port: hostile.port, source: 'manual' }])
    await torrent.start()
    if (opts.clock) {
      // Once connected (so no connect or handshake timeout can fire first), the fake
      // clock moves 5 s every 20 ms of real time while the hostile peer keeps trickling.
      await waitUntil(() => torrent.snapshot().peers.some((p) => p.key.startsWith(`${HOSTILE_HOST}:`)), WAIT_MS, 'the hostile peer to connect')
      advancing = setInterval(() => opts.clock!.advance(5_000), 20)
    }
    if (opts.expectDrop) {
      const drop = await within(first, WAIT_MS, 'the hostile peer to be dropped')
      assert.match(drop.reason, opts.expectDrop)
    } else {
      await waitUntil(() => opts.ignored!(torrent), WAIT_MS, 'the hostile message to be ignored')
      assert.equal(drops.length, 0, `the hostile peer was kept: ${JSON.stringify(drops)}`)
      assert.ok(torrent.snapshot().peers.some((p) => p.key.startsWith(`${HOSTILE_HOST}:`)), 'the hostile peer is still connected')
    }
    clearInterval(advancing)
    const honest = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: PIECE_LENGTH })
    peers.push(honest)
    torrent.addPeers([{ host: '127.0.0.1', port: honest.port, source: 'manual' }])
    await within(done, WAIT_MS, 'the download to complete')
    assert.equal(torrent.snapshot().piecesVerified, meta.pieceCount)
    assert.ok((await readFile(join(work.path, 'hostile.bin'))).equals(built.payload), 'the file is byte-identical')
    return { torrent, drops }
  } finally {
    clearInterval(advancing)
    await torrent.stop()
    await Promise.all(peers.map((p) => p.close()))
    await work.cleanup()
  }
}

const dropped: { name: string; hostile?: HostileScript; metadata?: (meta: Metainfo) => WirePeerMetadata; expectDrop: RegExp }[] = [
  { name: 'a garbage handshake', hostile: { handshake: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'.padEnd(68, '.')) }, expectDrop: /not a BitTorrent handshake/ },
  { name: 'a handshake for another info hash', hostile: { handshake: encodeHandshake(Buffer.alloc(20, 7), Buffer.from('-XX0001-hostilepeer1'), { extended: false }) }, expectDrop: /another torrent/ },
  { name: 'a length prefix of 2^32-1', hostile: { afterHandshake: frame(0xffffffff, 7) }, expectDrop: /message of 4294967295 bytes, over the limit/ },
  { name: 'a length prefix just over 1 MiB', hostile: { afterHandshake: frame(1024 * 1024 + 17, 5) }, expectDrop: /message of 1048593 bytes, over the limit of 1048592/ },
  { name: 'a bitfield of the wrong length', hostile: { noBitfield: true, afterHandshake: encode({ type: 'bitfield', bitfield: Buffer.alloc(4, 0xff) }) }, expectDrop: /bitfield of 4 bytes, expected 3/ },
  { name: 'a bitfield with spare bits set', hostile: { noBitfield: true, afterHandshake: encode({ type: 'bitfield', bitfield: Buffer.from([0xff, 0xff, 0xff]) }) }, expectDrop: /spare bits set/ },
  { name: 'a have out of range', hostile: { afterHandshake: encode({ type: 'have', index: 17 }) }, expectDrop: /have for piece 17, torrent has 17/ },
  { name: 'a fixed-size message of the wrong size', hostile: { afterHandshake: frame(2, 0, Buffer.from([1])) }, expectDrop: /choke message with a 1-byte payload/ },
  {
    name: 'broken bencode in its extended handshake',
    metadata: (meta) => ({ info: meta.infoBuffer, rawHandshake: Buffer.from('d1:md11:ut_metadatai3e') }),
    expectDrop: /bad extension handshake/,
  },
  { name: 'broken bencode in a ut_metadata message', hostile: { afterHandshake: encodeExtended(OUR_EXTENSIONS.ut_metadata, Buffer.from('d8:msg_typei0e5:piecei0')) }, expectDrop: /bad ut_metadata message/ },
  { name: 'broken bencode in a ut_pex message', hostile: { afterHandshake: encodeExtended(OUR_EXTENSIONS.ut_pex, Buffer.from('d5:added12:abc')) }, expectDrop: /bad ut_pex message/ },
]

for (const c of dropped) {
  test(`hostile seeder: ${c.name} → dropped; the download completes from an honest one`, async () => {
    await downloadPastHostile({ hostile: c.hostile, metadata: c.metadata, expectDrop: c.expectDrop })
  })
}

test('hostile seeder: a piece for a block never requested is ignored (counted as waste); the peer stays', async () => {
  const junk = frame(9 + PIECE_LENGTH, 7, Buffer.alloc(8 + PIECE_LENGTH)) // piece 0, begin 0, all zeros
  const { torrent } = await downloadPastHostile({ hostile: { afterHandshake: junk }, silent: true, ignored: (t) => t.snapshot().wastedBytes >= PIECE_LENGTH })
  assert.ok(torrent.snapshot().wastedBytes >= PIECE_LENGTH)
})

test('hostile seeder: a message that never finishes (one byte at a time) is dropped by the message timeout, not the idle one', async () => {
  const endless = Buffer.alloc(4 + 1 + 4096, 0x41)
  endless.writeUInt32BE(9 + PIECE_LENGTH, 0) // a valid-size piece message
  endless[4] = 7
  await downloadPastHostile({
    hostile: { noBitfield: true, trickle: { bytes: endless, everyMs: 10 } },
    clock: new FakeClock(Date.now()),
    expectDrop: /message not finished within 60 s \(\d+ bytes of it received\)/,
  })
})

// --- BEP 9: peers that lie about the metadata --------------------------------

async function fetchPastLiar(liar: (info: Buffer) => WirePeerMetadata, expectDrop: RegExp): Promise<void> {
  const meta = await parseTorrentFile(built.torrent)
  const peers: WirePeer[] = []
  const task = new MetadataTask({ link: parseMagnetOrInfoHash(`magnet:?xt=urn:btih:${meta.infoHashHex}`), peerId: newPeerId(), listenPort: 0, useTrackers: false })
  const drops: string[] = []
  const liarDropped = new Promise<string>((resolve) =>
    task.on('peerDropped', (key, reason) => {
      if (!key.startsWith(`${HOSTILE_HOST}:`)) return
      drops.push(reason)
      resolve(reason)
    }),
  )
  const fetched = new Promise<Metainfo>((resolve) => task.on('metadata', (m) => resolve(m)))
  try {
    task.start()
    const bad = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: PIECE_LENGTH, host: HOSTILE_HOST, metadata: liar(meta.infoBuffer) })
    peers.push(bad)
    task.addPeers([{ host: HOSTILE_HOST, port: bad.port, source: 'manual' }])
    assert.match(await within(liarDropped, WAIT_MS, 'the liar to be dropped'), expectDrop)
    const honest = await startWirePeer({ infoHash: meta.infoHash, payload: built.payload, pieceLength: PIECE_LENGTH, metadata: { info: meta.infoBuffer } })
    peers.push(honest)
    task.addPeers([{ host: '127.0.0.1', port: honest.port, source: 'manual' }])
    const got = await within(fetched, WAIT_MS, 'the metadata from the honest peer')
    assert.equal(got.infoHashHex, meta.infoHashHex)
    assert.ok(got.infoBuffer.equals(meta.infoBuffer))
    assert.ok(honest.stats.metadataServed > 0, 'the honest peer served it')
    assert.equal(drops.length, 1, `only the liar was dropped: ${drops.join('; ')}`)
  } finally {
    await task.stop()
    await Promise.all(peers.map((p) => p.close()))
  }
}

test('metadata: a peer claiming a 100 MiB metadata_size is dropped at its handshake; the info dict comes from an honest peer', async () => {
  await fetchPastLiar((info) => ({ info, claimSize: 100 * 1024 * 1024 }), /metadata_size 104857600, over the 31457280-byte limit/)
})

test('metadata: a peer whose metadata_size does not match the dict it sends is dropped on the hash check; an honest peer then serves it', async () => {
  await fetchPastLiar((info) => ({ info, claimSize: info.length + 20_000, serveClaimed: true }), /does not match the info hash/)
})
