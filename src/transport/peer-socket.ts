// What a PeerConnection needs from its byte stream: a Duplex with the few
// net.Socket extras it reads. A TCP socket and a UtpSocket both are one, so
// everything above the transport runs unchanged over either.
import type { Duplex } from 'node:stream'
import { UtpSocket } from './utp/utp-socket.ts'

export interface PeerSocket extends Duplex {
  readonly remoteAddress?: string
  readonly remotePort?: number
  setNoDelay(noDelay?: boolean): this
}

export type TransportKind = 'tcp' | 'utp'

export function transportOf(socket: PeerSocket): TransportKind {
  return socket instanceof UtpSocket ? 'utp' : 'tcp'
}
