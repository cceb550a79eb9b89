// Opening outgoing peer sockets. Reads land in one buffer the caller reuses for
// every socket it dials (each read is handled synchronously, one at a time), so
// a download at hundreds of MB/s makes no garbage per read. Whatever a reader
// keeps of a chunk it must copy (PeerConnection.handleData's contract).
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Clock } from '../core/clock.ts'

export interface DialedSocket {
  socket: Socket
  /** Sends this socket's reads (and any that came before) to `sink` from now on. */
  route(sink: (chunk: Buffer) => void): void
}

export interface DialOptions {
  host: string
  port: number
  timeoutMs: number
  readBuffer: Buffer
  clock: Clock
  /** Sockets still connecting, so an owner that stops can destroy them. */
  pending: Set<Socket>
}

export function dialPeer(opts: DialOptions): Promise<DialedSocket> {
  return new Promise((resolve, reject) => {
    let sink: ((chunk: Buffer) => void) | undefined
    const early: Buffer[] = []
    const socket = connect({
      host: opts.host,
      port: opts.port,
      onread: {
        buffer: opts.readBuffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, bytes)
          if (sink) sink(chunk)
          else early.push(Buffer.from(chunk))
          return true
        },
      },
    })
    const route = (to: (chunk: Buffer) => void) => {
      sink = to
      for (const chunk of early.splice(0)) to(chunk)
    }
    opts.pending.add(socket)
    const timer = opts.clock.setTimeout(() => {
      opts.pending.delete(socket)
      socket.destroy()
      reject(new Error(`connect to ${opts.host}:${opts.port} timed out`))
    }, opts.timeoutMs)
    socket.once('connect', () => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.removeAllListeners('error')
      resolve({ socket, route })
    })
    socket.once('error', (err) => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.destroy()
      reject(err)
    })
  })
}
