// One info hash's metadata fetched from the peers a DHT lookup gave: several
// peers at once over BEP 9 (MetadataFetcher decides what to ask whom and
// checks the whole dict against the info hash), within per-IP and total
// connection limits, a circuit breaker per peer address, and one deadline for
// the whole fetch. Settles once: the info dict, or one line saying why not.
// Never writes anything; every socket it opened is closed when it settles.
import type { Clock, TimerHandle } from '../core/clock.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { addressKey, errorMessage, type PeerAddress } from '../core/types.ts'
import { MetadataFetcher } from '../metadata/metadata-fetcher.ts'
import { receiveMetadataMessage, sendMetadataRequests } from '../metadata/metadata-exchange.ts'
import { dialPeer } from '../peer/dial.ts'
import { PeerConnection } from '../peer/peer-connection.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import type { FetchLimits } from './fetch-limits.ts'

export interface MetadataFetchOptions {
  infoHash: Buffer
  peers: PeerAddress[]
  peerId: Buffer
  limits: FetchLimits
  /** Per peer address; a peer that fails is skipped for a while, by every fetch. */
  peerBreaker: CircuitBreaker
  clock: Clock
  /** The whole fetch gives up after this long. */
  timeoutMs: number
  connectTimeoutMs: number
  /** Connections at once for this fetch. */
  maxPeers: number
  /** Reused for every TCP read of the pool (reads are handled one at a time). */
  readBuffer: Buffer
}

export type MetadataFetchResult =
  | { ok: true; infoDict: Buffer }
  | { ok: false; reason: string; mismatched: boolean }

/** How often waiting fetches retry for a free slot and re-ask timed-out pieces. */
const TICK_MS = 250
/** A peer that sent metadata not hashing to the info hash is skipped this many failures' worth. */
const LIAR_STRIKES = 3

export class MetadataFetch {
  readonly #opts: MetadataFetchOptions
  readonly #fetcher: MetadataFetcher
  readonly #untried: PeerAddress[]
  readonly #connections = new Map<string, PeerConnection>()
  readonly #dialing = new Set<string>()
  readonly #pending = new Set<PeerSocket>()
  #settled = false
  #mismatched = false
  #lastReason = 'no peer to ask'
  #resolve!: (result: MetadataFetchResult) => void
  #tick: TimerHandle | undefined
  #deadline: TimerHandle | undefined
  readonly done: Promise<MetadataFetchResult>

  constructor(opts: MetadataFetchOptions) {
    this.#opts = opts
    this.#fetcher = new MetadataFetcher(opts.infoHash)
    const seen = new Set<string>()
    this.#untried = opts.peers.filter((p) => {
      const key = addressKey(p)
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    this.done = new Promise((resolve) => (this.#resolve = resolve))
  }

  start(): Promise<MetadataFetchResult> {
    const { clock, timeoutMs } = this.#opts
    this.#deadline = clock.setTimeout(() => this.#fail(`no metadata within ${Math.round(timeoutMs / 1000)} s (last: ${this.#lastReason})`), timeoutMs)
    this.#tick = clock.setInterval(() => this.#handleTick(), TICK_MS)
    this.#maintain()
    return this.done
  }

  /** Stops at once (the crawler is stopping). */
  abort(reason = 'the crawler stopped'): void {
    this.#fail(reason)
  }

  get connections(): number {
    return this.#connections.size + this.#dialing.size
  }

  #handleTick(): void {
    this.#requestMore()
    this.#maintain()
  }

  /** Dials untried peers while this fetch and the limits allow; fails when no one is left to ask. */
  #maintain(): void {
    if (this.#settled) return
    const { limits, peerBreaker, clock, maxPeers } = this.#opts
    const now = clock.now()
    let waitingForSlot = false
    for (let i = 0; i < this.#untried.length && this.connections < maxPeers; ) {
      const peer = this.#untried[i]
      const key = addressKey(peer)
      if (!peerBreaker.allows(key, now)) {
        this.#untried.splice(i, 1)
        this.#lastReason = `${key} failed recently`
        continue
      }
      if (!limits.tryAcquire(peer.host)) {
        waitingForSlot = true
        i++
        continue
      }
      this.#untried.splice(i, 1)
      this.#dial(key, peer)
    }
    if (this.connections === 0 && this.#untried.length === 0 && !waitingForSlot) {
      this.#fail(this.#mismatched ? `metadata from every peer failed the info-hash check (${this.#lastReason})` : `no peer gave the metadata (last: ${this.#lastReason})`)
    }
  }

  #dial(key: string, peer: PeerAddress): void {
    const { limits, clock, connectTimeoutMs, readBuffer } = this.#opts
    this.#dialing.add(key)
    let released = false
    const release = () => {
      if (released) return
      released = true
      limits.release(peer.host)
    }
    dialPeer({ host: peer.host, port: peer.port, timeoutMs: connectTimeoutMs, readBuffer, clock, pending: this.#pending }).then(
      ({ socket, route }) => {
        this.#dialing.delete(key)
        if (this.#settled) {
          socket.destroy()
          release()
          return
        }
        const pc = this.#connect(key, socket, release)
        pc.start() // our handshake first: theirs may be in already
        route((chunk) => pc.handleData(chunk))
      },
      (err: unknown) => {
        this.#dialing.delete(key)
        release()
        this.#peerFailed(key, errorMessage(err))
        this.#maintain()
      },
    )
  }

  #connect(key: string, socket: PeerSocket, release: () => void): PeerConnection {
    const { infoHash, peerId, clock } = this.#opts
    const pc = new PeerConnection({
      socket,
      infoHash,
      ourPeerId: peerId,
      pieceCount: undefined,
      outgoing: true,
      clock,
      // BEP 9: no metadata_size, since we have none; requests for ours get a reject.
      extendedHandshake: { m: { ut_metadata: 1 }, v: CLIENT_VERSION },
    })
    this.#connections.set(key, pc)
    let added = false
    pc.on('extendedHandshake', (h) => {
      if (added) return
      if (pc.remoteExtensionId('ut_metadata') === undefined) return pc.close('peer does not offer metadata (no ut_metadata)')
      const result = this.#fetcher.addPeer({ id: key, metadataSize: h.metadataSize })
      if (!result.ok) return pc.close(result.reason)
      added = true
      this.#requestMore()
    })
    pc.on('extended', (name, payload) => {
      if (name === 'ut_metadata') this.#handleMetadataMessage(pc, key, payload)
    })
    pc.on('close', (reason) => {
      this.#connections.delete(key)
      release()
      if (added) this.#fetcher.removePeer(key)
      if (!this.#settled) {
        this.#peerFailed(key, reason)
        this.#requestMore()
        this.#maintain()
      }
    })
    return pc
  }

  #handleMetadataMessage(pc: PeerConnection, key: string, payload: Buffer): void {
    if (this.#settled) return
    const step = receiveMetadataMessage(this.#fetcher, pc, key, payload)
    if (step.kind === 'failed') {
      if (/does not match the info hash/.test(step.reason)) {
        this.#mismatched = true
        // Each liar is skipped by every fetch for a while: the breaker opens at once.
        for (const liar of step.liars) for (let i = 0; i < LIAR_STRIKES; i++) this.#opts.peerBreaker.failure(liar, this.#opts.clock.now())
      }
      this.#lastReason = step.reason
      for (const liar of step.liars) this.#connections.get(liar)?.close(step.reason)
      return
    }
    if (step.kind === 'done') {
      this.#opts.peerBreaker.success(key)
      this.#settle({ ok: true, infoDict: step.infoDict })
      return
    }
    if (step.kind === 'more') this.#requestMore()
  }

  #requestMore(): void {
    if (this.#settled) return
    sendMetadataRequests(this.#fetcher, this.#opts.clock.now(), (k) => this.#connections.get(k))
  }

  #peerFailed(key: string, reason: string): void {
    this.#lastReason = `${key}: ${reason}`
    this.#opts.peerBreaker.failure(key, this.#opts.clock.now())
  }

  #fail(reason: string): void {
    this.#settle({ ok: false, reason, mismatched: this.#mismatched })
  }

  #settle(result: MetadataFetchResult): void {
    if (this.#settled) return
    this.#settled = true
    this.#tick?.cancel()
    this.#deadline?.cancel()
    for (const pc of [...this.#connections.values()]) pc.close('metadata fetch finished')
    for (const socket of this.#pending) socket.destroy()
    this.#resolve(result)
  }
}
