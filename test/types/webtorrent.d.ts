// The little of webtorrent 2 (npm, no types of its own) that the interop test uses.
declare module 'webtorrent' {
  import { EventEmitter } from 'node:events'
  export interface WebTorrentWire extends EventEmitter {
    /** 'tcpOutgoing', 'utpOutgoing', 'tcpIncoming', ... */
    type: string
    /** bittorrent-protocol's: the MSE handshake finished, and with which method (1 plaintext, 2 RC4). */
    _cryptoHandshakeDone: boolean
    _encryptionMethod: number | null
  }
  export interface WebTorrentTorrent extends EventEmitter {
    ready: boolean
    done: boolean
    progress: number
    wires: WebTorrentWire[]
    addPeer(peer: string): boolean
  }
  export default class WebTorrent extends EventEmitter {
    constructor(opts?: Record<string, unknown>)
    destroyed: boolean
    add(torrentId: Buffer | string, opts?: { path?: string }): WebTorrentTorrent
    destroy(cb?: (err?: Error | string) => void): void
  }
}
