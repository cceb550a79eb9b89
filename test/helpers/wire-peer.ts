// A small seeding peer for tests, speaking the real wire protocol over
// loopback TCP with our codec. It can be told to lie: corrupt chosen pieces,
// or hold only some pieces. Hostile behaviours for hardening tests go here.
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { Bitfield } from '../../src/core/bitfield.ts'
import { Decoder, encode, encodeExtended, encodeExtendedHandshake, encodeHandshake, encodePieceHeader } from '../../src/wire/index.ts'

export interface WirePeerOptions {
  infoHash: Buffer
  /** The whole torrent's content, pieces back to back. */
  payload: Buffer
  pieceLength: number
  /** Pieces it has (default all). */
  pieces?: number[]
  /** Pieces whose blocks it sends with flipped bytes. */
  corruptPieces?: Set<number>
  peerId?: Buffer
  /** Unchokes and accepts requests but never answers them (a peer to be snubbed). */
  silent?: boolean
  /** Also connect out to this peer, saying (BEP 10 `p`) which port we listen on. */
  dial?: { host: string; port: number }
  /** Serves this many blocks on a connection, then closes it (a peer leaving mid-piece). */
  closeAfterBlocks?: number
  /** Loopback address to listen on (default 127.0.0.1); 127.0.0.2 etc. make a peer a distinct host. */
  host?: string
}

export interface WirePeer {
  host: string
  port: number
  /** Blocks served, and how many of them were corrupt. */
  stats: { blocksServed: number; corruptBlocksServed: number; connections: number; requests: number }
  close(): Promise<void>
}

export async function startWirePeer(opts: WirePeerOptions): Promise<WirePeer> {
  const pieceCount = Math.ceil(opts.payload.length / opts.pieceLength)
  const have = new Bitfield(pieceCount)
  for (const i of opts.pieces ?? Array.from({ length: pieceCount }, (_, i) => i)) have.set(i)
  const peerId = opts.peerId ?? Buffer.from('-TS0001-' + Math.random().toString(36).slice(2, 14).padEnd(12, '0'))
  const stats = { blocksServed: 0, corruptBlocksServed: 0, connections: 0, requests: 0 }
  const sockets = new Set<Socket>()

  let listenPort = 0
  const handle = (socket: Socket, outgoing: boolean): void => {
    stats.connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const decoder = new Decoder({ expectHandshake: true })
    let choking = true
    let served = 0
    socket.on('data', (chunk: Buffer) => {
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
          if (!outgoing) socket.write(encodeHandshake(opts.infoHash, peerId, { extended: false }))
          socket.write(encode({ type: 'bitfield', bitfield: have.toBuffer() }))
          if (outgoing) socket.write(encodeExtended(0, encodeExtendedHandshake({ m: {}, p: listenPort })))
        } else if (item.type === 'interested' && choking) {
          choking = false
          socket.write(encode({ type: 'unchoke' }))
        } else if (item.type === 'request') {
          stats.requests++
          if (choking || !have.get(item.index) || opts.silent || served === opts.closeAfterBlocks) continue
          const start = item.index * opts.pieceLength + item.begin
          const end = start + item.length
          if (item.begin + item.length > opts.pieceLength || end > opts.payload.length) return void socket.destroy()
          let block = opts.payload.subarray(start, end)
          if (opts.corruptPieces?.has(item.index)) {
            block = Buffer.from(block)
            for (let i = 0; i < block.length; i += 97) block[i] ^= 0xa5
            stats.corruptBlocksServed++
          }
          socket.write(encodePieceHeader(item.index, item.begin, block.length))
          socket.write(block)
          stats.blocksServed++
          if (++served === opts.closeAfterBlocks) socket.end() // after the blocks already written
        }
      }
    })
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
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
