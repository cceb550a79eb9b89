// Hostile leechers against our seeder: raw clients (connectWirePeer) that
// flood requests, ask past a piece's end, send a huge length prefix or a
// message that never ends. Each is ignored or dropped, and the seeder goes on
// serving an honest leecher (our own Torrent) byte for byte.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { FakeClock } from '../helpers/fake-clock.ts'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { encode } from '../../src/wire/index.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import type { OurPeer, OurPeerOptions } from '../helpers/our-seeder.ts'
import { connectWirePeer } from '../helpers/wire-peer.ts'
import type { WireClient } from '../helpers/wire-peer.ts'

const PIECE_LENGTH = 16 * 1024
const built = buildTorrent({ name: 'served.bin', files: 40 * PIECE_LENGTH + 777, pieceLength: PIECE_LENGTH, seed: 77 })
const WAIT_MS = 20_000

interface Setup {
  work: TempDir
  seeder: OurPeer
  /** Why the seeder first closed each connection, by remote key. */
  closed: Map<string, string>
  /** Why the seeder closed this client's connection. */
  reasonFor(client: WireClient): string | undefined
}

async function withSeeder(opts: Pick<OurPeerOptions, 'clock' | 'limits'>, fn: (s: Setup) => Promise<void>): Promise<void> {
  const work = tempDir('hostile-leech')
  const seedDir = join(work.path, 'seed')
  mkdirSync(seedDir, { recursive: true })
  writeFileSync(join(seedDir, 'served.bin'), built.payload)
  const torrentPath = join(work.path, 'served.torrent')
  writeFileSync(torrentPath, built.torrent)
  const seeder = await startOurSeeder({ torrentPath, dataDir: seedDir, useTrackers: false, ...opts })
  const closed = new Map<string, string>()
  const record = (key: string, reason: string) => void (closed.has(key) || closed.set(key, reason))
  seeder.torrent.on('peerDisconnected', record)
  seeder.torrent.on('peerFailed', record)
  const reasonFor = (client: WireClient) => closed.get(client.key)
  try {
    await fn({ work, seeder, closed, reasonFor })
  } finally {
    await seeder.stop()
    await work.cleanup()
  }
}

/** Our leecher fetches the whole torrent from the seeder; the bytes must match. */
async function honestLeecherCompletes(s: Setup): Promise<void> {
  const meta = await parseTorrentFile(built.torrent)
  const dir = join(s.work.path, 'leech')
  const leecher = new Torrent({ meta, storage: await FileStorage.open(meta, dir), peerId: newPeerId(), listenPort: 0, useTrackers: false })
  try {
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the honest leecher did not complete within ${WAIT_MS} ms`)), WAIT_MS)
      leecher.once('complete', () => resolve(clearTimeout(timer)))
      leecher.once('error', (message) => reject(new Error(message, { cause: clearTimeout(timer) })))
    })
    leecher.addPeers([{ host: '127.0.0.1', port: s.seeder.port, source: 'manual' }])
    await leecher.start()
    await done
  } finally {
    await leecher.stop()
  }
  assert.ok((await readFile(join(dir, 'served.bin'))).equals(built.payload), 'the honest leecher got identical bytes')
}

/** A raw client that the seeder has unchoked. */
async function unchokedClient(s: Setup, localAddress = '127.0.0.3'): Promise<WireClient> {
  const client = await connectWirePeer({ port: s.seeder.port, infoHash: built.infoHash, localAddress, extended: true })
  await client.until(() => client.received.includes('bitfield'), 'the seeder’s bitfield')
  client.send(encode({ type: 'interested' }))
  await client.until(() => client.received.includes('unchoke'), 'an unchoke for an interested peer')
  return client
}

function requests(count: number, pieceCount: number): Buffer {
  const frames: Buffer[] = []
  for (let i = 0; i < count; i++) frames.push(encode({ type: 'request', index: i % pieceCount, begin: 0, length: PIECE_LENGTH }))
  return Buffer.concat(frames)
}

test('hostile leecher: a flood of requests is capped at the queue bound, the flooder is dropped, an honest leecher is served', async () => {
  await withSeeder({ limits: { maxPendingRequestsPerPeer: 64 } }, async (s) => {
    const client = await unchokedClient(s)
    try {
      assert.equal(client.extendedHandshake?.reqq, 64, 'the seeder tells its queue bound as BEP 10 reqq')
      client.send(requests(3000, 40))
      await client.until(() => client.closed, 'the seeder to drop the flooder')
      const reason = s.reasonFor(client)
      assert.match(reason ?? '', /request flood: over 128 requests refused in a row \(we queue 64\)/)
      assert.ok(client.blocks <= 64, `at most the queue bound was served to the flooder, got ${client.blocks}`)
      await honestLeecherCompletes(s)
    } finally {
      client.close()
    }
  })
})

test('hostile leecher: requests past a piece end, over 16 KiB or for no such piece are ignored; the connection stays; an honest leecher is served', async () => {
  await withSeeder({}, async (s) => {
    const client = await unchokedClient(s)
    try {
      client.send(Buffer.concat([
        encode({ type: 'request', index: 0, begin: PIECE_LENGTH - 1, length: 2 }),
        encode({ type: 'request', index: 40, begin: 0, length: 1000 }), // the last piece is 777 bytes
        encode({ type: 'request', index: 1, begin: 0, length: 2 * PIECE_LENGTH }),
        encode({ type: 'request', index: 41, begin: 0, length: PIECE_LENGTH }),
        encode({ type: 'request', index: 2, begin: 0, length: PIECE_LENGTH }), // a good one, last
      ]))
      await client.until(() => client.blocks === 1, 'the good request to be served')
      await honestLeecherCompletes(s)
      assert.equal(client.blocks, 1, 'only the good request was answered')
      assert.ok(!client.closed, 'the connection is still open')
    } finally {
      client.close()
    }
  })
})

test('hostile leecher: a length prefix of 2^32-1 drops it before anything is buffered; an honest leecher is served', async () => {
  await withSeeder({}, async (s) => {
    const client = await unchokedClient(s)
    try {
      client.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 6]))
      await client.until(() => client.closed, 'the seeder to drop it')
      const reason = s.reasonFor(client)
      assert.match(reason ?? '', /message of 4294967295 bytes, over the limit/)
      await honestLeecherCompletes(s)
    } finally {
      client.close()
    }
  })
})

test('hostile leecher: a message trickled a byte at a time is dropped after 60 s (seeder on a fake clock); an honest leecher is served', async () => {
  const clock = new FakeClock(Date.now())
  await withSeeder({ clock }, async (s) => {
    const client = await connectWirePeer({ port: s.seeder.port, infoHash: built.infoHash, localAddress: '127.0.0.3' })
    const head = Buffer.alloc(5)
    head.writeUInt32BE(13, 0) // a request: 13 bytes, only 1 of which ever comes
    head[4] = 6
    let sent = 0
    const trickle = setInterval(() => {
      if (sent < head.length) client.send(head.subarray(sent, ++sent))
    }, 5)
    try {
      await client.until(() => sent === head.length, 'the partial message to be sent')
      // Not dropped yet: 55 s of the seeder's time is under the limit.
      clock.advance(55_000)
      await new Promise((r) => setImmediate(r))
      assert.ok(!client.closed, 'a partial message younger than 60 s is waited for')
      await client.until(() => {
        clock.advance(5_000)
        return client.closed
      }, 'the seeder to drop the trickler')
      const reason = s.reasonFor(client)
      assert.match(reason ?? '', /message not finished within 60 s \(5 bytes of it received\)/)
      await honestLeecherCompletes(s)
    } finally {
      clearInterval(trickle)
      client.close()
    }
  })
})

test('hostile leechers: sockets that never handshake wait at most 8 per address (an honest leecher still gets in) and 64 in all', async () => {
  const { connect } = await import('node:net')
  await withSeeder({}, async (s) => {
    const silent: import('node:net').Socket[] = []
    const open = async (localAddress: string) => {
      const socket = connect({ host: '127.0.0.1', port: s.seeder.port, localAddress })
      silent.push(socket)
      socket.on('error', () => socket.destroy())
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      return socket
    }
    const closedSoon = (socket: import('node:net').Socket) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5_000)
        socket.once('close', () => {
          clearTimeout(timer)
          resolve(true)
        })
      })
    try {
      for (let i = 0; i < 8; i++) await open('127.0.0.3')
      assert.ok(await closedSoon(await open('127.0.0.3')), 'a 9th silent socket from one address is closed at once')
      await honestLeecherCompletes(s)
      for (let host = 10; host < 17; host++) for (let i = 0; i < 8; i++) await open(`127.0.0.${host}`)
      assert.ok(await closedSoon(await open('127.0.0.17')), 'a 65th silent socket in all is closed at once')
      assert.equal(silent.filter((x) => !x.destroyed).length, 64, 'the first 64 wait (for their 10 s handshake timeout)')
    } finally {
      for (const x of silent) x.destroy()
    }
  })
})
