// Local Service Discovery (BEP 14) for a whole session: one UDP socket on
// port 6771 in the IPv4 group 239.192.152.143 (and one in [ff15::efc0:988f]
// where IPv6 multicast works), announcing the info hashes registered with it
// on start and every 5 minutes, batched into messages under 1400 bytes, and
// reporting peers announced by others for those info hashes. A random
// cookie tells our own announces (looped back by multicast) from others'.
// Rate limits: an info hash is announced at most once a minute (BEP 14), and
// at most MAX_MESSAGES_PER_SEC incoming messages a second are read, so a
// flood on the LAN costs little. LsdSource is one torrent's view of it.
// Never for private torrents: the session does not register them (BEP 27).
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { isIP } from 'node:net'
import type { Socket } from 'node:dgram'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { PeerAddress, PeerCandidate } from '../core/types.ts'
import { decodeAnnounce, encodeAnnounces, LSD_IPV4_GROUP, LSD_IPV6_GROUP, LSD_PORT } from './lsd-codec.ts'
import type { PeerSource, PeerSourceEvents } from './peer-source.ts'

/** BEP 14: announce every 5 minutes; no info hash more than once a minute. */
export const ANNOUNCE_INTERVAL_MS = 5 * 60_000
const MIN_ANNOUNCE_GAP_MS = 60_000
/** Torrents starting together go out in one message. */
const BATCH_DELAY_MS = 500
const MAX_MESSAGES_PER_SEC = 50
const MULTICAST_TTL = 4

export interface LsdServiceEvents {
  peer: [infoHashHex: string, peer: PeerAddress]
}

export interface LsdServiceOptions {
  /** Our peer-wire listen port, announced. */
  port: number
  clock?: Clock
  /** Default 6771; tests on loopback pick their own. */
  lsdPort?: number
  ipv6?: boolean
}

interface Group {
  socket: Socket
  address: string
}

export class LsdService extends TypedEmitter<LsdServiceEvents> {
  readonly #opts: LsdServiceOptions
  readonly #clock: Clock
  readonly #groups: Group[]
  readonly #cookie = randomBytes(8).toString('hex')
  /** Registered info hashes (hex) → how many sources hold them. */
  readonly #hashes = new Map<string, number>()
  readonly #lastAnnouncedMs = new Map<string, number>()
  readonly #queued = new Set<string>()
  #batch: TimerHandle | undefined
  readonly #interval: TimerHandle
  #windowStartMs = 0
  #windowCount = 0
  #closed = false

  private constructor(opts: LsdServiceOptions, groups: Group[]) {
    super()
    this.#opts = opts
    this.#clock = opts.clock ?? systemClock
    this.#groups = groups
    for (const g of groups) g.socket.on('message', (msg, rinfo) => this.#handleMessage(msg, rinfo.address))
    this.#interval = this.#clock.setInterval(() => {
      for (const h of this.#hashes.keys()) this.#queued.add(h)
      this.#flush()
    }, ANNOUNCE_INTERVAL_MS)
  }

  /** Joins the groups; rejects with one line when not even IPv4 multicast works (the session goes on without LSD). */
  static async open(opts: LsdServiceOptions): Promise<LsdService> {
    const lsdPort = opts.lsdPort ?? LSD_PORT
    const v4 = await joinGroup('udp4', LSD_IPV4_GROUP, lsdPort)
    const groups: Group[] = [{ socket: v4, address: LSD_IPV4_GROUP }]
    if (opts.ipv6 ?? true) {
      // Best effort: many hosts have no IPv6 multicast route.
      const v6 = await joinGroup('udp6', LSD_IPV6_GROUP, lsdPort).catch(() => undefined)
      if (v6) groups.push({ socket: v6, address: LSD_IPV6_GROUP })
    }
    return new LsdService(opts, groups)
  }

  get cookie(): string {
    return this.#cookie
  }

  /** Starts announcing `infoHashHex` (now, then every 5 minutes) and reporting its peers. */
  add(infoHashHex: string): void {
    const h = infoHashHex.toLowerCase()
    this.#hashes.set(h, (this.#hashes.get(h) ?? 0) + 1)
    this.announceSoon(h)
  }

  remove(infoHashHex: string): void {
    const h = infoHashHex.toLowerCase()
    const n = (this.#hashes.get(h) ?? 0) - 1
    if (n > 0) this.#hashes.set(h, n)
    else {
      this.#hashes.delete(h)
      this.#queued.delete(h)
    }
  }

  /** Announces `infoHashHex` in the next batch, unless it went out less than a minute ago. */
  announceSoon(infoHashHex: string): void {
    if (this.#closed || !this.#hashes.has(infoHashHex)) return
    this.#queued.add(infoHashHex)
    this.#batch ??= this.#clock.setTimeout(() => {
      this.#batch = undefined
      this.#flush()
    }, BATCH_DELAY_MS)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#interval.cancel()
    this.#batch?.cancel()
    await Promise.all(this.#groups.map((g) => new Promise<void>((resolve) => g.socket.close(() => resolve()))))
  }

  #flush(): void {
    if (this.#closed) return
    const now = this.#clock.now()
    const due = [...this.#queued].filter((h) => this.#hashes.has(h) && now - (this.#lastAnnouncedMs.get(h) ?? -Infinity) >= MIN_ANNOUNCE_GAP_MS)
    this.#queued.clear()
    if (due.length === 0) return
    for (const h of due) this.#lastAnnouncedMs.set(h, now)
    for (const g of this.#groups) {
      for (const msg of encodeAnnounces(g.address, this.#opts.port, due, this.#cookie)) {
        // A send that fails (no route for this family now) costs nothing; the next round tries again.
        g.socket.send(msg, this.#opts.lsdPort ?? LSD_PORT, g.address, () => {})
      }
    }
  }

  #handleMessage(msg: Buffer, from: string): void {
    const now = this.#clock.now()
    if (now - this.#windowStartMs >= 1000) {
      this.#windowStartMs = now
      this.#windowCount = 0
    }
    if (++this.#windowCount > MAX_MESSAGES_PER_SEC) return
    // A link-local IPv6 sender (fe80::…%eth0) needs its zone to be dialled, which peer addresses do not carry.
    if (!isIP(from) || from.includes('%')) return
    const announce = decodeAnnounce(msg)
    if (!announce || announce.cookie === this.#cookie) return
    for (const h of announce.infoHashes) if (this.#hashes.has(h)) this.emit('peer', h, { host: from, port: announce.port })
  }
}

function joinGroup(type: 'udp4' | 'udp6', group: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, reuseAddr: true, ...(type === 'udp6' && { ipv6Only: true }) })
    const fail = (err: Error) => {
      socket.close()
      reject(new Error(`LSD: cannot join ${group} on port ${port}: ${err.message}`))
    }
    socket.once('error', fail)
    socket.bind(port, () => {
      try {
        socket.addMembership(group)
        socket.setMulticastTTL(MULTICAST_TTL)
        socket.setMulticastLoopback(true)
      } catch (err) {
        fail(err as Error)
        return
      }
      socket.off('error', fail)
      socket.on('error', () => {}) // per-datagram errors; the socket stays usable
      resolve(socket)
    })
  })
}

/** One torrent's LSD: registered with the session's service while it runs; peers heard of come as candidates with source `lsd`. */
export class LsdSource extends TypedEmitter<PeerSourceEvents> implements PeerSource {
  readonly kind = 'lsd'
  readonly #service: LsdService
  readonly #infoHashHex: string
  #running = false
  readonly #onPeer = (h: string, peer: PeerAddress) => {
    if (this.#running && h === this.#infoHashHex) this.emit('peers', [{ host: peer.host, port: peer.port, source: 'lsd' } satisfies PeerCandidate])
  }

  constructor(service: LsdService, infoHash: Buffer) {
    super()
    this.#service = service
    this.#infoHashHex = infoHash.toString('hex')
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#service.on('peer', this.#onPeer)
    this.#service.add(this.#infoHashHex)
  }

  requestMore(): void {
    if (this.#running) this.#service.announceSoon(this.#infoHashHex)
  }

  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#service.off('peer', this.#onPeer)
    this.#service.remove(this.#infoHashHex)
  }
}
