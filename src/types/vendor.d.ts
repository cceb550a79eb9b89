// Type declarations for the untyped packages we use. Only what we call.

declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array
    decode(data: Uint8Array, start?: number, end?: number, encoding?: string): any
    byteLength(value: unknown): number
  }
  export default bencode
}

declare module 'magnet-uri' {
  export interface MagnetData {
    infoHash?: string
    infoHashes?: string[]
    name?: string | string[]
    dn?: string | string[]
    tr?: string | string[]
    announce?: string[]
    urlList?: string[]
    peerAddresses?: string[]
    xs?: string | string[]
    [key: string]: unknown
  }
  function magnet(uri: string): MagnetData
  namespace magnet {
    function decode(uri: string): MagnetData
    function encode(data: MagnetData): string
  }
  export default magnet
  export function decode(uri: string): MagnetData
  export function encode(data: MagnetData): string
}

declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'node:events'
  export interface ClientOptions {
    infoHash: string | Uint8Array
    peerId: string | Uint8Array
    announce: string[]
    port: number
    getAnnounceOpts?: () => Record<string, unknown>
    rtcConfig?: unknown
    userAgent?: string
    wrtc?: unknown
  }
  export default class Client extends EventEmitter {
    constructor(opts: ClientOptions)
    start(opts?: Record<string, unknown>): void
    stop(opts?: Record<string, unknown>): void
    complete(opts?: Record<string, unknown>): void
    update(opts?: Record<string, unknown>): void
    scrape(opts?: Record<string, unknown>): void
    setInterval(intervalMs: number): void
    destroy(cb?: (err?: Error) => void): void
    _trackers: any[]
  }
  export class Server extends EventEmitter {
    constructor(opts?: Record<string, unknown>)
    listen(port: number, hostname?: string | Record<string, unknown>, onlistening?: () => void): void
    /** Per-protocol ports and hosts; the udp6 socket binds `udp6` (default: all interfaces). */
    listen(
      port: { http?: number; udp?: number },
      hostname?: { http?: string; udp?: string; udp6?: string },
      onlistening?: () => void,
    ): void
    close(cb?: () => void): void
    http: any
    udp4: any
    udp6: any
    torrents: Record<string, any>
  }
}

declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'
  export interface DHTNodeInfo {
    id: Uint8Array
    host: string
    port: number
  }
  export interface DHTOptions {
    /** Our node id (20 bytes or hex). */
    nodeId?: string | Uint8Array
    /** "host:port" strings or objects; `false` skips the initial bootstrap. Omitted = the public routers. */
    bootstrap?: false | Array<string | { host: string; port: number }>
    /** Adds our own announces to our local peer store (not the bind address). */
    host?: string | false
    concurrency?: number
    timeBucketOutdated?: number
    maxAge?: number
  }
  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    listen(port?: number, address?: string, cb?: () => void): void
    address(): { address: string; family: string; port: number }
    lookup(infoHash: string | Uint8Array, cb?: (err: Error | null, n?: number) => void): () => void
    announce(infoHash: string | Uint8Array, port?: number, cb?: (err: Error | null) => void): void
    /** With an id: straight into the routing table. Without: pinged first, added if it answers. */
    addNode(node: { id?: string | Uint8Array; host: string; port: number }): void
    toJSON(): { nodes: { host: string; port: number }[]; values: Record<string, unknown> }
    destroy(cb?: () => void): void
    nodeId: Uint8Array
    nodes: { count(): number; toArray(): DHTNodeInfo[] }
    listening: boolean
    ready: boolean
    destroyed: boolean
  }
}

declare module 'create-torrent' {
  function createTorrent(
    input: string | string[] | Uint8Array,
    opts: Record<string, unknown>,
    cb: (err: Error | null, torrent: Uint8Array) => void,
  ): void
  export default createTorrent
  export const announceList: string[][]
}
