// A magnet link's first phase: find peers (the link's trackers and `x.pe`
// peers, plus any other sources such as the DHT), fetch the info dict from
// several of them at once over BEP 9, and check its SHA-1 against the info
// hash. The result is a Metainfo; the caller then starts a normal Torrent.
// Peers that lie about the size or send bad pieces are dropped; the fetch goes
// on from the others. It never writes anything to disk.
import pLimit from 'p-limit'
import type { LimitFunction } from 'p-limit'
import type { PeerSocket } from '../transport/peer-socket.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import type { ConnectionSlots } from '../core/connection-slots.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { addressKey, errorMessage } from '../core/types.ts'
import type { PeerCandidate } from '../core/types.ts'
import { ownAddressCheck } from '../core/own-address.ts'
import { CandidatePool } from '../discovery/candidate-pool.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import { TrackerSource } from '../discovery/tracker-source.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { metainfoFromInfo } from '../metainfo/metainfo.ts'
import { MetadataFetcher } from '../metadata/metadata-fetcher.ts'
import { receiveMetadataMessage, sendMetadataRequests } from '../metadata/metadata-exchange.ts'
import { dialPeer } from '../peer/dial.ts'
import type { TransportPolicy } from '../peer/dial.ts'
import { PeerConnection, SELF_CONNECTION } from '../peer/peer-connection.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'

export interface MetadataTaskOptions {
  link: MagnetLink
  peerId: Buffer
  listenPort: number
  /** The address our listener is bound to (default: every address of this machine): our own addresses are never dialled. */
  listenHost?: string
  /** Other peer sources for this info hash (the DHT); started and stopped with the task. */
  sources?: PeerSource[]
  useTrackers?: boolean
  maxConnections?: number
  /** Connection slots shared with the session's torrents (its total); taken before each dial. */
  connectionSlots?: ConnectionSlots
  connectTimeoutMs?: number
  /** uTP and TCP as the session's listener allows (TCP alone when omitted). */
  transports?: TransportPolicy
  dialLimit?: LimitFunction
  clock?: Clock
  /** MSE for the peers we dial; none means plaintext. */
  encryption?: EncryptionPolicy
}

export interface MetadataTaskEvents {
  /** The verified metadata, and the peers known so far (to hand to the download). */
  metadata: [meta: Metainfo, peers: PeerCandidate[]]
  peerConnected: [key: string]
  peerDropped: [key: string, reason: string]
  trackerError: [info: { url: string; message: string; retryAtMs: number }]
  /** The metadata matched the info hash but is not a torrent we can use (e.g. unsafe paths). */
  error: [message: string]
}

const TICK_MS = 1_000

export class MetadataTask extends TypedEmitter<MetadataTaskEvents> {
  readonly #opts: MetadataTaskOptions
  readonly #clock: Clock
  readonly #fetcher: MetadataFetcher
  readonly #pool: CandidatePool
  readonly #connections = new Map<string, PeerConnection>()
  readonly #dialing = new Set<string>()
  readonly #sockets = new Set<PeerSocket>()
  readonly #readBuffer = Buffer.allocUnsafeSlow(64 * 1024)
  readonly #dialLimit: LimitFunction
  readonly #sources: PeerSource[] = []
  #tick: TimerHandle | undefined
  #stopped = false
  #done = false

  constructor(opts: MetadataTaskOptions) {
    super()
    this.#opts = opts
    this.#clock = opts.clock ?? systemClock
    this.#pool = new CandidatePool({ isOwnAddress: ownAddressCheck(opts.listenPort, opts.listenHost) })
    this.#fetcher = new MetadataFetcher(opts.link.infoHash, { infoHashV2: opts.link.infoHashV2 })
    this.#dialLimit = opts.dialLimit ?? pLimit(16)
  }

  start(): void {
    const link = this.#opts.link
    this.#pool.add(link.peers.map((p) => ({ ...p, source: 'manual' as const })), this.#clock.now())
    if ((this.#opts.useTrackers ?? true) && link.tiers.length > 0) {
      const tracker = new TrackerSource({
        infoHash: link.infoHash,
        peerId: this.#opts.peerId,
        port: this.#opts.listenPort,
        tiers: link.tiers,
        clock: this.#clock,
        // Size unknown until the metadata arrives; BEP 3 trackers accept a guess, and 0 would say "seed".
        getStats: () => ({ uploaded: 0, downloaded: 0, left: 16 * 1024 * 1024 }),
      })
      tracker.on('trackerError', (info) => this.emit('trackerError', info))
      this.#sources.push(tracker)
    }
    this.#sources.push(...(this.#opts.sources ?? []))
    for (const source of this.#sources) {
      source.on('peers', (peers) => this.addPeers(peers))
      source.start()
    }
    this.#tick = this.#clock.setInterval(() => this.#handleTick(), TICK_MS)
    this.#maintain()
  }

  addPeers(peers: PeerCandidate[]): void {
    this.#pool.add(peers, this.#clock.now())
    this.#maintain()
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#tick?.cancel()
    for (const pc of this.#connections.values()) pc.close('metadata fetch stopped')
    for (const s of this.#sockets) s.destroy()
    await Promise.allSettled(this.#sources.map((s) => s.stop()))
  }

  get connectedPeers(): number {
    return this.#connections.size
  }

  get knownPeers(): number {
    return this.#pool.size()
  }

  #maintain(): void {
    if (this.#stopped || this.#done) return
    const now = this.#clock.now()
    const max = this.#opts.maxConnections ?? 30
    const slots = this.#opts.connectionSlots
    while (this.#connections.size + this.#dialing.size < max && (!slots || slots.free > 0)) {
      const candidate = this.#pool.next(now)
      if (!candidate) break
      const key = addressKey(candidate)
      if (this.#connections.has(key) || this.#dialing.has(key)) continue
      slots?.tryAcquire()
      let held = Boolean(slots)
      this.#dial(key, candidate.host, candidate.port, () => {
        if (held) slots!.release()
        held = false
      })
    }
  }

  /** `release` gives back the connection's slot, once the dial fails or the connection closes. */
  #dial(key: string, host: string, port: number, release: () => void): void {
    this.#dialing.add(key)
    void this.#dialLimit(() => {
      if (this.#stopped) throw new Error('stopping')
      const encryption = this.#opts.encryption && { policy: this.#opts.encryption, infoHash: this.#opts.link.infoHash }
      return dialPeer({ host, port, timeoutMs: this.#opts.connectTimeoutMs ?? 10_000, readBuffer: this.#readBuffer, clock: this.#clock, pending: this.#sockets, encryption, transports: this.#opts.transports })
    }).then(
      ({ socket, route }) => {
        this.#dialing.delete(key)
        if (this.#stopped || this.#done) {
          release()
          socket.destroy()
          return
        }
        const pc = this.#connect(key, socket)
        pc.on('close', release)
        pc.start() // our handshake first: theirs may be in already
        route((chunk) => pc.handleData(chunk))
      },
      () => {
        this.#dialing.delete(key)
        release()
        this.#pool.markFailed(key, this.#clock.now())
        this.#maintain()
      },
    )
  }

  #connect(key: string, socket: PeerSocket): PeerConnection {
    const pc = new PeerConnection({
      socket,
      infoHash: this.#opts.link.infoHash,
      ourPeerId: this.#opts.peerId,
      pieceCount: undefined,
      outgoing: true,
      clock: this.#clock,
      // BEP 9: no metadata_size while we have none; we answer requests with reject.
      extendedHandshake: { m: { ut_metadata: 1 }, v: CLIENT_VERSION, p: this.#opts.listenPort || undefined },
    })
    let added = false
    pc.on('ready', () => {
      this.#connections.set(key, pc)
      this.#pool.markConnected(key)
      this.emit('peerConnected', key)
    })
    pc.on('extendedHandshake', (h) => {
      if (added) return
      if (pc.remoteExtensionId('ut_metadata') === undefined) return pc.close('peer does not offer metadata (no ut_metadata)')
      const result = this.#fetcher.addPeer({ id: key, metadataSize: h.metadataSize })
      if (!result.ok) return pc.close(result.reason)
      added = true
      this.#requestMore()
    })
    pc.on('extended', (name, payload) => {
      if (name !== 'ut_metadata') return
      void this.#handleMetadataMessage(pc, key, payload)
    })
    pc.on('close', (reason) => {
      this.#connections.delete(key)
      if (added) this.#fetcher.removePeer(key)
      if (reason === SELF_CONNECTION) this.#pool.markSelf(key)
      else this.#pool.markDisconnected(key, this.#clock.now())
      this.emit('peerDropped', key, reason)
      this.#requestMore()
      this.#maintain()
    })
    return pc
  }

  async #handleMetadataMessage(pc: PeerConnection, key: string, payload: Buffer): Promise<void> {
    const step = receiveMetadataMessage(this.#fetcher, pc, key, payload)
    if (step.kind === 'failed') {
      // A hash mismatch names every sender; drop them all, the fetch goes on from others.
      for (const liar of step.liars) this.#connections.get(liar)?.close(step.reason)
      return
    }
    if (step.kind === 'idle') return
    if (step.kind === 'done' && !this.#done) {
      this.#done = true
      let meta: Metainfo
      try {
        meta = await metainfoFromInfo(step.infoDict, this.#opts.link.tiers)
      } catch (err) {
        // The hash matched: every peer would send the same dict, so there is no point going on.
        this.emit('error', `the metadata for ${this.#opts.link.infoHashHex} is not a usable torrent: ${errorMessage(err)}`)
        return
      }
      const peers = [...this.#connections.keys()].flatMap((k) => {
        const c = this.#pool.get(k)
        return c ? [{ host: c.host, port: c.port, source: [...c.sources][0] ?? ('manual' as const) }] : []
      })
      this.emit('metadata', meta, peers)
      return
    }
    this.#requestMore()
  }

  #requestMore(): void {
    if (this.#done || this.#stopped) return
    sendMetadataRequests(this.#fetcher, this.#clock.now(), (k) => this.#connections.get(k))
  }

  #handleTick(): void {
    this.#requestMore()
    this.#maintain()
  }
}
