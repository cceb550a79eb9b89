// A torrent's swarm: the candidate peers it knows of (trackers, DHT, PEX,
// incoming), which to dial and when, the connection slots (a share of the
// session-wide total, and at most so many per IP address), the connections it
// holds, and bans on addresses that sent pieces failing the hash check.
// Every socket of a torrent is dialled or accepted here, and nowhere else.
// It keeps one connection per peer: our own addresses are never dialled, and
// of two connections with one peer (same peer id, or same IP and listen port)
// both ends close the same one (duplicate-connection.ts); a new one the peer
// dials while the old one is dead at its end replaces the old one.
// It reports each connection's life (made, ready, closed) and each attempt
// that never became one to its owner as events. It never reads what a peer
// says after the handshake, nor decides what to request or whom to unchoke.
import type { TransportPolicy } from '../peer/dial.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import type { LimitFunction } from 'p-limit'
import { canonicalHost } from '../core/address.ts'
import type { Clock } from '../core/clock.ts'
import type { ConnectionSlots } from '../core/connection-slots.ts'
import type { OwnAddressCheck } from '../core/own-address.ts'
import { describeClient } from '../core/peer-id.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { addressKey, errorMessage } from '../core/types.ts'
import type { PeerCandidate } from '../core/types.ts'
import { CandidatePool } from '../discovery/candidate-pool.ts'
import { dialPeer } from '../peer/dial.ts'
import { PeerConnection, SELF_CONNECTION } from '../peer/peer-connection.ts'
import type { DecodedItem, Decoder } from '../wire/decoder.ts'
import type { ExtendedHandshake } from '../wire/extension.ts'
import type { Handshake } from '../wire/handshake.ts'
import { DUPLICATE_CONNECTION, keepOnDuplicate, replacedReason, replacesStale } from './duplicate-connection.ts'
import type { DuplicateCase } from './duplicate-connection.ts'
import type { PeerSnapshot } from './torrent-types.ts'

export interface SwarmOptions {
  infoHash: Buffer
  /** BEP 52: set the v2 bit in our handshakes. */
  v2?: boolean
  /** BEP 52 hybrid: the v2 hash (first 20 bytes) incoming peers may use instead. */
  otherInfoHash?: Buffer
  peerId: Buffer
  /** Where we accept peers (0 = nowhere): to tell which of two connections with one peer stays. */
  listenPort: number
  /** Our own listen addresses: candidates there are never dialled (see core/own-address.ts). */
  isOwnAddress?: OwnAddressCheck
  pieceCount: number
  /** Our BEP 10 handshake, sent on every connection. */
  extendedHandshake: ExtendedHandshake
  clock: Clock
  maxConnections: number
  maxConnectionsPerIp: number
  /** Taken before dialling or accepting, given back when the connection ends. */
  slots: ConnectionSlots
  /** Connection attempts in flight (shared among torrents). */
  dialLimit: LimitFunction
  connectTimeoutMs: number
  /** Hash failures before an address is banned. */
  maxStrikes: number
  /** MSE for the peers we dial (the listener decides for incoming ones); none means plaintext. */
  encryption?: EncryptionPolicy
  /** uTP and TCP as the session's listener allows (TCP alone when omitted). */
  transports?: TransportPolicy
  /** Addresses banned by a person (the library's ban list): never dialled, refused when they call. */
  bannedHosts?: Iterable<string>
}

export interface SwarmEvents {
  /** A new connection, before its handshake: its owner subscribes to its messages now. */
  connection: [pc: PeerConnection]
  /** Its handshake checked out and it is no second connection to a peer we have: a peer now. */
  peerReady: [pc: PeerConnection]
  /** A connection closed; `wasReady` tells a peer that left from an attempt that failed in its handshake. */
  peerClosed: [pc: PeerConnection, reason: string, wasReady: boolean]
  /** An attempt that never got as far as a connection: a dial that failed (`dialled`), or an incoming one refused. */
  peerFailed: [key: string, reason: string, dialled: boolean]
}

/** Who a torrent may dial now: while seeding, peers found to be seeds are not worth it. */
export type SwarmMode = 'downloading' | 'seeding'

export class Swarm extends TypedEmitter<SwarmEvents> {
  readonly #opts: SwarmOptions
  readonly #clock: Clock
  readonly #pool: CandidatePool
  readonly #connections = new Map<string, PeerConnection>()
  /** Connections still in their handshake: not peers yet, but close() must close them too. */
  readonly #handshaking = new Set<PeerConnection>()
  readonly #dialing = new Set<string>()
  /** Sockets still connecting. */
  readonly #sockets = new Set<PeerSocket>()
  /** Slots held per remote host (dialling, handshaking or connected), for maxConnectionsPerIp. */
  readonly #slotsPerHost = new Map<string, number>()
  /** Every dialled socket reads into this one buffer (see dial.ts). */
  readonly #readBuffer = Buffer.allocUnsafeSlow(256 * 1024)
  /** Peers that turned out to be seeds while we seed too. */
  readonly #seedKeys = new Set<string>()
  /** The listen address of each ready peer (an outgoing one's is its key; an incoming one's, BEP 10 `p`): never dialled while it is connected. */
  readonly #byListenKey = new Map<string, PeerConnection>()
  readonly #listenKeysOf = new Map<PeerConnection, Set<string>>()
  readonly #strikesByHost = new Map<string, number>()
  readonly #trackerPeers = new Map<string, PeerCandidate[]>()
  #closed = false

  constructor(opts: SwarmOptions) {
    super()
    this.#opts = opts
    this.#clock = opts.clock
    this.#pool = new CandidatePool({ isOwnAddress: opts.isOwnAddress })
    for (const host of opts.bannedHosts ?? []) this.#pool.banHost(canonicalHost(host))
  }

  /** Ready peers by address key. */
  get connections(): ReadonlyMap<string, PeerConnection> {
    return this.#connections
  }

  /** Peers we know of, connected or not. */
  get knownPeers(): number {
    return this.#pool.size()
  }

  /** What a view shows of each ready peer. */
  peerSnapshots(): PeerSnapshot[] {
    const peers: PeerSnapshot[] = []
    const pieceCount = this.#opts.pieceCount
    for (const pc of this.#connections.values()) {
      if (!pc.ready) continue
      peers.push({
        key: pc.key,
        // Where we first learnt of a peer we dialled.
        source: pc.outgoing ? [...(this.#pool.get(pc.key)?.sources ?? [])][0] : 'incoming',
        client: pc.remotePeerId ? describeClient(pc.remotePeerId) : '',
        transport: pc.transport,
        incoming: !pc.outgoing,
        amChoking: pc.amChoking,
        amInterested: pc.amInterested,
        peerChoking: pc.peerChoking,
        peerInterested: pc.peerInterested,
        snubbed: pc.snubbed,
        downloadRate: pc.downloadMeter.rateBytesPerSec(),
        uploadRate: pc.uploadMeter.rateBytesPerSec(),
        progress: pieceCount ? pc.have.count() / pieceCount : 0,
        outstanding: pc.outstandingCount,
      })
    }
    return peers
  }

  addCandidates(candidates: PeerCandidate[]): void {
    this.#pool.add(candidates, this.#clock.now())
  }

  /**
   * A tracker's latest list replaces its previous one: candidates that no
   * tracker lists any longer (and no other source knows) leave the pool.
   */
  handleTrackerPeers(url: string, peers: PeerCandidate[]): void {
    this.#trackerPeers.set(url, peers)
    const union = [...this.#trackerPeers.values()].flat()
    this.#pool.replaceFromSource('tracker', union, this.#clock.now())
  }

  /** Both sides are seeds: not dialled again while we seed (at any address it is known by). */
  markSeed(pc: PeerConnection): void {
    this.#seedKeys.add(pc.key)
    for (const key of this.#listenKeysOf.get(pc) ?? []) this.#seedKeys.add(key)
  }

  /**
   * An incoming peer told where it listens (BEP 10 `p`): that address is
   * connected now (not dialled while this connection lasts), and a connection
   * we have to it is a duplicate, resolved as duplicate-connection.ts says.
   */
  handleListenPort(pc: PeerConnection, port: number): void {
    if (pc.outgoing || !pc.ready || this.#connections.get(pc.key) !== pc) return
    if (!Number.isInteger(port) || port < 1 || port > 65535) return
    const listenKey = addressKey({ host: canonicalHost(pc.remoteAddress), port })
    const other = this.#byListenKey.get(listenKey)
    if (other === pc) return
    if (other && !this.#keepFresh(other, pc, port)) return
    this.#pool.add([{ host: canonicalHost(pc.remoteAddress), port, source: 'incoming' }], this.#clock.now())
    this.#bindListenKey(pc, listenKey)
  }

  /** We want data again: the seeds we left are worth dialling, and idle candidates at once. */
  forgetSeeds(): void {
    this.#seedKeys.clear()
    this.#pool.wakeIdle(this.#clock.now())
  }

  /**
   * Dials candidates while connections and slots are free. Returns true when
   * nothing is connected, nothing is being dialled and no candidate is ready:
   * the owner should ask its sources for more.
   */
  maintain(mode: SwarmMode): boolean {
    if (this.#closed) return false
    const now = this.#clock.now()
    const hostFull: string[] = []
    while (this.#connections.size + this.#dialing.size < this.#opts.maxConnections && this.#opts.slots.free > 0) {
      const candidate = this.#pool.next(now)
      if (!candidate) break
      const key = addressKey(candidate)
      if (this.#connections.has(key) || this.#byListenKey.has(key) || this.#dialing.has(key) || (mode === 'seeding' && this.#seedKeys.has(key))) {
        this.#pool.markConnected(key)
        continue
      }
      const release = this.#takeSlot(canonicalHost(candidate.host))
      if (!release) {
        hostFull.push(key)
        continue
      }
      this.#dial(key, candidate.host, candidate.port, release)
    }
    // Their host has all its slots: they wait, without a failure, for one to free.
    for (const key of hostFull) this.#pool.putBack(key)
    return this.#connections.size === 0 && this.#dialing.size === 0 && this.#pool.readyCount(now) === 0
  }

  /** A routed incoming connection (the listener read its handshake); refused when full or banned. */
  handleIncoming(socket: PeerSocket, decoder: Decoder, handshake: Handshake, rest: DecodedItem[]): void {
    if (this.#closed || this.#connections.size >= this.#opts.maxConnections || this.#pool.isBanned(canonicalHost(socket.remoteAddress ?? ''))) {
      socket.destroy()
      return
    }
    const host = canonicalHost(socket.remoteAddress ?? '?')
    const release = this.#takeSlot(host)
    if (!release) {
      const key = addressKey({ host, port: socket.remotePort ?? 0 })
      socket.destroy()
      const slots = this.#opts.slots
      this.emit('peerFailed', key, slots.free === 0 ? `refused: all ${slots.maxTotal} connection slots are in use` : `refused: already ${this.#opts.maxConnectionsPerIp} connections with ${host}`, false)
      return
    }
    const pc = this.#newConnection(socket, false, release, { decoder, handshake, rest })
    pc.startIncoming(handshake, rest)
  }

  /**
   * One more piece that failed its hash check had blocks from `key`. At
   * maxStrikes its address is banned and every connection with it closed;
   * returns what to report then.
   */
  strike(key: string, index: number): { host: string; strikes: number } | undefined {
    const host = hostOfKey(key)
    const strikes = (this.#strikesByHost.get(host) ?? 0) + 1
    this.#strikesByHost.set(host, strikes)
    if (strikes < this.#opts.maxStrikes || this.#pool.isBanned(host)) return undefined
    this.#pool.ban(key)
    for (const pc of this.#connections.values()) {
      if (pc.remoteAddress === host) pc.close(`banned: sent ${strikes} pieces that failed the hash check (last: ${index})`)
    }
    return { host, strikes }
  }

  /** Bans the host of peer `key` at once (it sent data proven bad on its own); returns the host. */
  banPeer(key: string, reason: string): string {
    const host = hostOfKey(key)
    this.ban(canonicalHost(host), reason)
    return host
  }

  /** Closes the connection with `key` (a person's disconnect); false when there is none. It may be dialled again later. */
  disconnect(key: string, reason: string): boolean {
    const pc = this.#connections.get(key)
    if (!pc) return false
    pc.close(reason)
    return true
  }

  /** Bans a host (canonical IP text) on every port and closes every connection with it; returns how many closed. */
  ban(host: string, reason: string): number {
    this.#pool.banHost(host)
    let closed = 0
    for (const pc of [...this.#connections.values(), ...this.#handshaking]) {
      if (canonicalHost(pc.remoteAddress) !== host) continue
      pc.close(reason)
      closed++
    }
    return closed
  }

  /** Lifts a person's ban: the host's candidates may be dialled again at once. */
  unban(host: string): void {
    this.#pool.unbanHost(host, this.#clock.now())
  }

  /** Closes every connection and connection attempt; nothing is dialled or accepted after. */
  close(): void {
    this.#closed = true
    for (const pc of this.#connections.values()) pc.close('torrent stopped')
    for (const pc of [...this.#handshaking]) pc.close('torrent stopped')
    for (const s of this.#sockets) s.destroy()
  }

  /**
   * A slot for one more connection with `host`: one of the shared total and
   * one of the host's share. Returns the function that gives both back (once),
   * or undefined when either is used up.
   */
  #takeSlot(host: string): (() => void) | undefined {
    const held = this.#slotsPerHost.get(host) ?? 0
    if (held >= this.#opts.maxConnectionsPerIp || !this.#opts.slots.tryAcquire()) return undefined
    this.#slotsPerHost.set(host, held + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#opts.slots.release()
      const left = (this.#slotsPerHost.get(host) ?? 1) - 1
      if (left > 0) this.#slotsPerHost.set(host, left)
      else this.#slotsPerHost.delete(host)
    }
  }

  #dial(key: string, host: string, port: number, release: () => void): void {
    this.#dialing.add(key)
    void this.#opts.dialLimit(() => {
      if (this.#closed) throw new Error('stopping')
      const encryption = this.#opts.encryption && { policy: this.#opts.encryption, infoHash: this.#opts.infoHash }
      return dialPeer({ host, port, timeoutMs: this.#opts.connectTimeoutMs, readBuffer: this.#readBuffer, clock: this.#clock, pending: this.#sockets, encryption, transports: this.#opts.transports })
    }).then(
      ({ socket, route }) => {
        this.#dialing.delete(key)
        if (this.#closed || this.#connections.size >= this.#opts.maxConnections) {
          release()
          socket.destroy()
          this.#pool.markDisconnected(key, this.#clock.now())
          return
        }
        const connected = this.#byListenKey.get(key)
        if (connected) {
          // It dialled us meanwhile and told us this address: no handshake, so its end sees no duplicate either.
          release()
          socket.destroy()
          this.#pool.markConnected(key)
          return
        }
        const pc = this.#newConnection(socket, true, release)
        // Our handshake goes out before theirs is read: a peer may have sent it already (with its MSE crypto_select).
        pc.start()
        route((chunk) => pc.handleData(chunk))
      },
      (err: unknown) => {
        this.#dialing.delete(key)
        release()
        this.#pool.markFailed(key, this.#clock.now())
        this.emit('peerFailed', key, errorMessage(err), true)
      },
    )
  }

  /** `release` gives back the connection's slot; it is called when the connection closes. */
  #newConnection(socket: PeerSocket, outgoing: boolean, release: () => void, incoming?: { decoder: Decoder; handshake: Handshake; rest: DecodedItem[] }): PeerConnection {
    const pc = new PeerConnection({
      socket,
      infoHash: this.#opts.infoHash,
      v2: this.#opts.v2,
      otherInfoHash: this.#opts.otherInfoHash,
      ourPeerId: this.#opts.peerId,
      pieceCount: this.#opts.pieceCount,
      outgoing,
      incoming,
      clock: this.#clock,
      extendedHandshake: this.#opts.extendedHandshake,
    })
    const key = pc.key
    let ready = false
    this.#handshaking.add(pc)
    pc.on('ready', () => {
      this.#handshaking.delete(pc)
      const other = this.#duplicateOf(pc)
      if (other && !this.#keepFresh(other, pc, outgoing ? pc.remotePort : 0)) return
      ready = true
      this.#connections.set(key, pc)
      if (outgoing) this.#bindListenKey(pc, key)
      this.emit('peerReady', pc)
    })
    pc.on('close', (reason) => {
      release()
      this.#handshaking.delete(pc)
      if (ready) {
        if (this.#connections.get(key) === pc) this.#connections.delete(key)
        const now = this.#clock.now()
        for (const listenKey of this.#listenKeysOf.get(pc) ?? []) {
          if (this.#byListenKey.get(listenKey) !== pc) continue
          this.#byListenKey.delete(listenKey)
          this.#pool.markDisconnected(listenKey, now)
        }
        this.#listenKeysOf.delete(pc)
      } else if (reason === SELF_CONNECTION) {
        // Trackers (and our router's external address) can list us: never dialled again.
        this.#pool.markSelf(key)
      } else if (outgoing && reason !== DUPLICATE_CONNECTION) {
        this.#pool.markFailed(key, this.#clock.now())
      }
      this.emit('peerClosed', pc, reason, ready)
    })
    this.emit('connection', pc)
    return pc
  }

  /** A ready connection with the same peer as `pc`: the same peer id, or (for one we dialled) the same listen address. */
  #duplicateOf(pc: PeerConnection): PeerConnection | undefined {
    const byAddress = this.#connections.get(pc.key) ?? (pc.outgoing ? this.#byListenKey.get(pc.key) : undefined)
    if (byAddress && byAddress !== pc) return byAddress
    for (const o of this.#connections.values()) if (o !== pc && o.remotePeerId && pc.remotePeerId && o.remotePeerId.equals(pc.remotePeerId)) return o
    return undefined
  }

  /**
   * `fresh` and `existing` are connections with one peer: closes the one
   * duplicate-connection.ts gives up (nothing held against the peer) and
   * returns whether `fresh` stays. The address the loser was dialled at stays
   * connected, bound to the keeper, so it is not dialled again meanwhile.
   * An existing connection replaced closes as any peer leaving does: its
   * requests go back to the picker.
   */
  #keepFresh(existing: PeerConnection, fresh: PeerConnection, remoteListenPort: number): boolean {
    const silentMs = existing.silentForMs()
    const c: DuplicateCase = {
      ourPeerId: this.#opts.peerId,
      ourListenPort: this.#opts.listenPort,
      remoteListenPort: remoteListenPort || (existing.outgoing ? existing.remotePort : 0),
      existing: { outgoing: existing.outgoing, remotePeerId: existing.remotePeerId ?? Buffer.alloc(20) },
      fresh: { outgoing: fresh.outgoing, remotePeerId: fresh.remotePeerId ?? Buffer.alloc(20) },
      staleness: {
        sameHost: existing.remoteAddress === fresh.remoteAddress,
        sameEndpoint: existing.key === fresh.key && existing.transport === fresh.transport,
        existingSilentMs: silentMs,
      },
    }
    const keep = keepOnDuplicate(c)
    const [keeper, loser] = keep === 'fresh' ? [fresh, existing] : [existing, fresh]
    // Bound to the keeper first, so the loser's close neither frees them nor lets them be dialled.
    for (const listenKey of [...(this.#listenKeysOf.get(loser) ?? []), ...(loser.outgoing ? [loser.key] : [])]) this.#bindListenKey(keeper, listenKey)
    loser.close(replacesStale(c) ? replacedReason(silentMs) : DUPLICATE_CONNECTION)
    return keeper === fresh
  }

  /** `listenKey` is where `pc`'s peer accepts connections: connected while `pc` lasts. */
  #bindListenKey(pc: PeerConnection, listenKey: string): void {
    this.#byListenKey.set(listenKey, pc)
    let keys = this.#listenKeysOf.get(pc)
    if (!keys) this.#listenKeysOf.set(pc, (keys = new Set()))
    keys.add(listenKey)
    this.#pool.markConnected(listenKey)
  }
}

/** The address of a peer key ("host:port" or "[v6]:port"). */
function hostOfKey(key: string): string {
  return key.startsWith('[') ? key.slice(1, key.indexOf(']')) : key.slice(0, key.lastIndexOf(':'))
}
