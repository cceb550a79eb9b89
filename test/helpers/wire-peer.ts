// A small seeding peer for tests, speaking the real wire protocol over
// loopback TCP with our codec. It can be told to lie: corrupt chosen pieces,
// or hold only some pieces. Hostile behaviours for hardening tests go here:
// a `hostile` script (bad handshake, raw frames, a message trickled for ever,
// lies about the metadata) for the seeding side, and connectWirePeer(), a raw
// client that dials our seeder and sends whatever a test writes.
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { Bitfield } from '../../src/core/bitfield.ts'
import { metadataResponse } from '../../src/metadata/metadata-server.ts'
import { generateDhKeyPair, req2 } from '../../src/transport/mse-crypto.ts'
import { CRYPTO_PLAINTEXT, MseResponder } from '../../src/transport/mse-handshake.ts'
import {
  Decoder, decodeExtendedHandshake, decodeMetadataMessage, encode, encodeExtended, encodeExtendedHandshake, encodeHandshake, encodeMetadataMessage, encodePieceHeader, EXTENDED_HANDSHAKE_ID,
} from '../../src/wire/index.ts'
import type { DecodedItem, ExtendedHandshake, HashRange } from '../../src/wire/index.ts'
import { waitUntil } from './net.ts'

/** What a hostile wire peer does instead of (or besides) behaving. */
export interface HostileScript {
  /** Sent instead of its handshake (garbage, another torrent's info hash, ...). */
  handshake?: Buffer
  /** Raw bytes sent right after its handshake and bitfield. */
  afterHandshake?: Buffer
  /** Sends no bitfield (the raw bytes speak for it). */
  noBitfield?: boolean
  /** After the handshake (and bitfield), these bytes one at a time, one every `everyMs`: a message that never ends. */
  trickle?: { bytes: Buffer; everyMs: number }
  /**
   * To an MSE opening: answers with a real DH key (Yb), then closes as soon as
   * the dialler's request arrives (a peer dropping us mid-handshake). Plain
   * BitTorrent handshakes are served as usual.
   */
  mseKeyThenDrop?: boolean
}

/** BEP 10 and BEP 9: its extended handshake and the info dict it serves (it may lie about both). */
export interface WirePeerMetadata {
  /** The real info dict. */
  info: Buffer
  /** metadata_size to announce instead of the real one. */
  claimSize?: number
  /** Serve pieces of a dict of `claimSize` bytes: the real one cut or padded with junk. */
  serveClaimed?: boolean
  /** Raw bytes sent as its extended handshake payload instead of a good one (e.g. broken bencode). */
  rawHandshake?: Buffer
}

export interface WirePeerOptions {
  infoHash: Buffer
  /** The whole torrent's content, pieces back to back. */
  payload: Buffer
  pieceLength: number
  /** Pieces it has (default all). */
  pieces?: number[]
  /** Pieces whose blocks it sends with flipped bytes. */
  corruptPieces?: Set<number>
  /** The first this many blocks it serves (of any piece) have flipped bytes; the rest are good. */
  corruptFirstBlocks?: number
  /** BEP 52: sets the v2 bit in its handshake and answers hash requests with this (undefined: no answer). */
  v2Hashes?: (range: HashRange) => Buffer | undefined
  /** Holds its hashes answers until it has served this many blocks on the connection (blocks before their hashes). */
  v2HashesAfterBlocks?: number
  peerId?: Buffer
  /** Unchokes and accepts requests but never answers them (a peer to be snubbed). */
  silent?: boolean
  /** Also connect out to this peer, saying (BEP 10 `p`) which port we listen on. */
  dial?: { host: string; port: number }
  /** Serves this many blocks on a connection, then closes it (a peer leaving mid-piece). */
  closeAfterBlocks?: number
  /** Loopback address to listen on (default 127.0.0.1); 127.0.0.2 etc. make a peer a distinct host. */
  host?: string
  hostile?: HostileScript
  /**
   * Answer an MSE opening as Transmission 3.00 does with encryption 0: select
   * plaintext (when offered) and send our BitTorrent handshake right behind the
   * crypto_select, before the dialler's has arrived (in the same write, with
   * the BEP 10 bit set, so a dialler that answers it before sending its own
   * handshake is caught).
   */
  mseSelectsPlaintextEagerly?: boolean
  /** Speak BEP 10 and serve ut_metadata (BEP 9) from this. */
  metadata?: WirePeerMetadata
}

export interface WirePeer {
  host: string
  port: number
  /** Blocks served, and how many of them were corrupt. */
  stats: { blocksServed: number; corruptBlocksServed: number; connections: number; requests: number; metadataServed: number; mseDropped: number; hashRequests: number }
  close(): Promise<void>
}

export async function startWirePeer(opts: WirePeerOptions): Promise<WirePeer> {
  const pieceCount = Math.ceil(opts.payload.length / opts.pieceLength)
  const have = new Bitfield(pieceCount)
  for (const i of opts.pieces ?? Array.from({ length: pieceCount }, (_, i) => i)) have.set(i)
  const peerId = opts.peerId ?? Buffer.from('-TS0001-' + Math.random().toString(36).slice(2, 14).padEnd(12, '0'))
  const stats = { blocksServed: 0, corruptBlocksServed: 0, connections: 0, requests: 0, metadataServed: 0, mseDropped: 0, hashRequests: 0 }
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const hostile = opts.hostile ?? {}
  const md = opts.metadata
  const served = md?.serveClaimed && md.claimSize !== undefined ? Buffer.concat([md.info, Buffer.alloc(Math.max(0, md.claimSize - md.info.length), 0x5a)]).subarray(0, md.claimSize) : md?.info
  const afterHandshake = (socket: Socket, outgoing: boolean): void => {
    if (!hostile.noBitfield) socket.write(encode({ type: 'bitfield', bitfield: have.toBuffer() }))
    if (outgoing) socket.write(encodeExtended(0, encodeExtendedHandshake({ m: {}, p: listenPort })))
    else if (md) {
      const ours: ExtendedHandshake = { m: { ut_metadata: 3 }, metadataSize: md.claimSize ?? md.info.length }
      socket.write(encodeExtended(EXTENDED_HANDSHAKE_ID, md.rawHandshake ?? encodeExtendedHandshake(ours)))
    }
    if (hostile.afterHandshake) socket.write(hostile.afterHandshake)
    if (hostile.trickle) {
      const { bytes, everyMs } = hostile.trickle
      let sent = 0
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= bytes.length) return void clearInterval(timer)
        socket.write(bytes.subarray(sent, ++sent))
      }, everyMs)
      timers.add(timer)
      socket.on('close', () => {
        clearInterval(timer)
        timers.delete(timer)
      })
    }
  }

  let listenPort = 0
  const handle = (socket: Socket, outgoing: boolean): void => {
    stats.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const decoder = new Decoder({ expectHandshake: true })
    let choking = true
    let remoteMetadataId: number | undefined
    let blocksSent = 0
    let mse: 'unknown' | 'no' | 'making-key' | 'key-sent' = hostile.mseKeyThenDrop && !outgoing ? 'unknown' : 'no'
    let handshakeSent = false
    const sendHandshake = () => {
      if (handshakeSent) return
      handshakeSent = true
      socket.write(hostile.handshake ?? encodeHandshake(opts.infoHash, peerId, { extended: md !== undefined || opts.mseSelectsPlaintextEagerly, v2: opts.v2Hashes !== undefined }))
    }
    let responder: Promise<MseResponder> | undefined
    let mseDone = !opts.mseSelectsPlaintextEagerly || outgoing
    let mseChain = Promise.resolve()
    const onMse = async (chunk: Buffer) => {
      if (mseDone) return onPlain(chunk)
      responder ??= generateDhKeyPair().then((keys) => new MseResponder({
        keys,
        findSkey: (hash) => (hash.equals(req2(opts.infoHash)) ? opts.infoHash : undefined),
        select: (provide) => provide & CRYPTO_PLAINTEXT,
      }))
      const r = await responder
      if (socket.destroyed) return
      let out: Buffer[]
      try {
        out = r.push(chunk)
      } catch {
        socket.destroy()
        return
      }
      // Transmission writes its crypto_select and its handshake in one go.
      socket.cork()
      for (const b of out) socket.write(b)
      if (r.result) sendHandshake()
      socket.uncork()
      if (!r.result) return
      mseDone = true
      for (const b of [r.result.initialPayload, r.result.rest]) if (b.length > 0) onPlain(b)
    }
    const heldHashes: Buffer[] = []
    socket.on('data', (chunk: Buffer) => {
      if (!mseDone && !responder && chunk[0] === 19) mseDone = true
      if (mseDone && !responder) return onPlain(chunk)
      // An MSE handshake: its reads take turns behind the key pair's making, then go on as plain.
      const copy = Buffer.from(chunk)
      mseChain = mseChain.then(() => onMse(copy))
    })
    const onPlain = (chunk: Buffer) => {
      if (mse === 'unknown' && chunk[0] !== 19) {
        mse = 'making-key'
        void generateDhKeyPair().then((keys) => {
          if (socket.destroyed) return
          socket.write(keys.publicKey)
          mse = 'key-sent'
        })
      } else if (mse === 'unknown') mse = 'no'
      if (mse === 'making-key') return // Ya and PadA
      if (mse === 'key-sent') {
        // The dialler sends its request only once it has our key.
        stats.mseDropped++
        socket.destroy()
        return
      }
      let items
      try {
        items = decoder.push(chunk)
      } catch {
        socket.destroy()
        return
      }
      for (const item of items) {
        if (item.type === 'handshake') {
          if (!item.infoHash.equals(opts.infoHash)) return void socket.destroy()
          if (!outgoing) sendHandshake()
          afterHandshake(socket, outgoing)
        } else if (item.type === 'extended' && item.extId === EXTENDED_HANDSHAKE_ID) {
          remoteMetadataId = decodeExtendedHandshake(item.payload).m.ut_metadata
        } else if (item.type === 'extended' && item.extId === 3 && served && remoteMetadataId) {
          const m = decodeMetadataMessage(item.payload)
          if (m.msgType !== 'request') continue
          stats.metadataServed++
          socket.write(encodeExtended(remoteMetadataId, encodeMetadataMessage(metadataResponse(served, m.piece))))
        } else if (item.type === 'interested' && choking) {
          choking = false
          socket.write(encode({ type: 'unchoke' }))
        } else if (item.type === 'hashRequest' && opts.v2Hashes) {
          stats.hashRequests++
          const { type: _type, ...range } = item
          const hashes = opts.v2Hashes(range)
          if (hashes) heldHashes.push(encode({ type: 'hashes', ...range, hashes }))
          if (blocksSent >= (opts.v2HashesAfterBlocks ?? 0)) for (const frame of heldHashes.splice(0)) socket.write(frame)
        } else if (item.type === 'request') {
          stats.requests++
          if (choking || !have.get(item.index) || opts.silent || blocksSent === opts.closeAfterBlocks) continue
          const start = item.index * opts.pieceLength + item.begin
          const end = start + item.length
          if (item.begin + item.length > opts.pieceLength || end > opts.payload.length) return void socket.destroy()
          let block = opts.payload.subarray(start, end)
          if (opts.corruptPieces?.has(item.index) || stats.blocksServed < (opts.corruptFirstBlocks ?? 0)) {
            block = Buffer.from(block)
            for (let i = 0; i < block.length; i += 97) block[i] ^= 0xa5
            stats.corruptBlocksServed++
          }
          socket.write(encodePieceHeader(item.index, item.begin, block.length))
          socket.write(block)
          stats.blocksServed++
          if (blocksSent + 1 >= (opts.v2HashesAfterBlocks ?? 0)) for (const frame of heldHashes.splice(0)) socket.write(frame)
          if (++blocksSent === opts.closeAfterBlocks) socket.end() // after the blocks already written
        }
      }
    }
  }
  const server: Server = createServer((socket) => handle(socket, false))
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', resolve))
  listenPort = (server.address() as AddressInfo).port
  if (opts.dial) {
    const out = connect({ host: opts.dial.host, port: opts.dial.port, localAddress: opts.host })
    out.once('connect', () => out.write(encodeHandshake(opts.infoHash, peerId, { extended: true })))
    handle(out, true)
  }
  return {
    host: opts.host ?? '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    stats,
    async close() {
      for (const t of timers) clearInterval(t)
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A raw client connected to one of our peers: it sends what the test writes and records what comes back. */
export interface WireClient {
  socket: Socket
  /** host:port of this end, as the other side names it. */
  key: string
  /** Every message received, in order (piece blocks are not kept). */
  received: DecodedItem['type'][]
  blocks: number
  /** Its BEP 10 handshake, when we asked for extensions. */
  extendedHandshake: ExtendedHandshake | undefined
  /** Set once the other side closed the connection. */
  closed: boolean
  send(bytes: Buffer): void
  /** Waits (generously) until `what` holds; fails naming `label`. */
  until(what: () => boolean, label: string, ms?: number): Promise<void>
  close(): void
}

/** Dials our peer on loopback, says the BitTorrent handshake and waits for its handshake back. */
export async function connectWirePeer(opts: { port: number; infoHash: Buffer; host?: string; localAddress?: string; peerId?: Buffer; extended?: boolean }): Promise<WireClient> {
  const socket = connect({ host: opts.host ?? '127.0.0.1', port: opts.port, localAddress: opts.localAddress })
  const decoder = new Decoder({ expectHandshake: true })
  const client: WireClient = {
    socket,
    key: '',
    received: [],
    blocks: 0,
    extendedHandshake: undefined,
    closed: false,
    send: (bytes) => void socket.write(bytes),
    until: (what, label, ms = 15_000) => waitUntil(what, ms, label, 20),
    close: () => void socket.destroy(),
  }
  socket.on('data', (chunk: Buffer) => {
    let items: DecodedItem[]
    try {
      items = decoder.push(chunk)
    } catch {
      socket.destroy()
      return
    }
    for (const m of items) {
      client.received.push(m.type)
      if (m.type === 'piece') client.blocks++
      if (m.type === 'extended' && m.extId === EXTENDED_HANDSHAKE_ID) client.extendedHandshake = decodeExtendedHandshake(m.payload)
    }
  })
  socket.on('error', () => socket.destroy())
  socket.on('close', () => (client.closed = true))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  client.key = `${socket.localAddress}:${socket.localPort}`
  socket.write(encodeHandshake(opts.infoHash, opts.peerId ?? Buffer.from('-XX0001-' + Math.random().toString(36).slice(2, 14).padEnd(12, '0')), { extended: opts.extended ?? false }))
  await client.until(() => client.received.includes('handshake') || client.closed, 'the handshake back')
  return client
}
