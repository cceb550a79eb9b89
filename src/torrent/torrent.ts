// One torrent's download task: owns its peer connections, picker, storage and
// tracker source, and turns their reports into decisions (whom to dial, what
// to request, which piece is verified, whom to strike). All state changes
// happen in its handle* methods, one input at a time, on Node's event loop.
// It never parses wire bytes (peer does) and never touches files (storage does).
import type { PeerSocket, TransportKind } from '../transport/peer-socket.ts'
import pLimit from 'p-limit'
import type { LimitFunction } from 'p-limit'
import { createHash } from 'node:crypto'
import { Bitfield } from '../core/bitfield.ts'
import { BufferPool } from '../core/buffer-pool.ts'
import { canonicalHost } from '../core/address.ts'
import { ConnectionSlots } from '../core/connection-slots.ts'
import type { LimiterChain } from '../core/token-bucket.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { RateMeter } from '../core/rate-meter.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { addressKey, BLOCK_SIZE, errorMessage, FriendError } from '../core/types.ts'
import type { BlockRef, PeerCandidate, PeerSourceKind } from '../core/types.ts'
import { CandidatePool } from '../discovery/candidate-pool.ts'
import { TrackerSource } from '../discovery/tracker-source.ts'
import type { TrackerStatus } from '../discovery/tracker-source.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { pieceHash, pieceSize } from '../metainfo/metainfo.ts'
import { dialPeer } from '../peer/dial.ts'
import { TransportPolicy } from '../peer/dial.ts'
import { PeerConnection, SELF_CONNECTION } from '../peer/peer-connection.ts'
import { PiecePicker } from '../picker/piece-picker.ts'
import { checkPieces } from '../storage/check.ts'
import type { Storage } from '../storage/storage.ts'
import { Choker } from '../choker/choker.ts'
import { PexState } from '../discovery/pex.ts'
import { metadataResponse } from '../metadata/metadata-server.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../wire/ut-metadata.ts'
import { decodePex, encodePex } from '../wire/ut-pex.ts'
import type { PeerAddress } from '../core/types.ts'
import { Uploader } from './uploader.ts'
import { piecePriorities, type FilePriority } from '../storage/file-priorities.ts'
import type { Decoder, DecodedItem } from '../wire/decoder.ts'
import type { Handshake } from '../wire/handshake.ts'

export type TorrentState = 'idle' | 'checking' | 'downloading' | 'seeding' | 'stopped' | 'error'

/**
 * Why a torrent stopped with an error, where its owner may act on it:
 * 'disk full' (ENOSPC, EDQUOT: retry once there is space) and 'data missing'
 * (its files were deleted under it: the user verifies or removes).
 */
export type TorrentErrorKind = 'disk full' | 'data missing'

export interface TorrentOptions {
  meta: Metainfo
  storage: Storage
  peerId: Buffer
  /** The port our listener accepts peers on (announced to trackers). */
  listenPort: number
  clock?: Clock
  /** Connections for this torrent at once. */
  maxConnections?: number
  /** Connections to one IP address for this torrent, dialled or accepted (default: no limit but maxConnections). */
  maxConnectionsPerIp?: number
  /** Connection slots shared with other torrents (a session-wide total); taken before dialling or accepting. Default: this torrent's own maxConnections. */
  connectionSlots?: ConnectionSlots
  /** Block requests a peer may have queued with us, advertised as BEP 10 `reqq`; more are dropped, and a peer sending over twice that many in a row is disconnected. */
  maxPendingRequestsPerPeer?: number
  /** Bytes waiting in a peer's socket past which we send it no more blocks (and refuse metadata requests) until it drains. */
  maxBufferedBytesPerPeer?: number
  /** Shared limit on connection attempts in flight (p-limit); one per torrent when not given. */
  dialLimit?: LimitFunction
  connectTimeoutMs?: number
  /** uTP and TCP as the session's listener allows (TCP alone when omitted). */
  transports?: TransportPolicy
  /** A peer with requests outstanding and no block for this long is snubbed and its requests go elsewhere. */
  requestTimeoutMs?: number
  /**
   * Memory for pieces being assembled or written. Past it only started pieces
   * are continued, so a slow disk or many open pieces cannot grow memory.
   */
  maxPieceMemoryBytes?: number
  /** Hash failures (pieces it sent blocks of) before a peer's address is banned. */
  maxStrikes?: number
  /** Announce to the torrent's trackers (off for tests that give peers by hand). */
  useTrackers?: boolean
  /** Other peer sources for this torrent (the DHT); started after the check, stopped with the torrent. */
  sources?: PeerSource[]
  /** Verified pieces from resume data, trusted where their files matched it (size and mtime). */
  have?: Bitfield
  /** With `have`: pieces touching files that changed since the resume data was saved; only these are re-hashed. */
  recheck?: Bitfield
  /** One per file; skipped files are not fetched (the storage keeps them off the disk). Default all normal. */
  filePriorities?: FilePriority[]
  /** Rate limits (global and per torrent, chained); none means unlimited. */
  uploadLimiter?: LimiterChain
  downloadLimiter?: LimiterChain
  numWant?: number
}

export interface TorrentEvents {
  state: [state: TorrentState]
  checkProgress: [checked: number, total: number]
  pieceVerified: [index: number]
  pieceFailed: [index: number, peers: string[]]
  complete: []
  peerConnected: [key: string]
  peerDisconnected: [key: string, reason: string]
  /** A connection attempt that never became a peer (refused, timed out, bad handshake). */
  peerFailed: [key: string, reason: string]
  peerBanned: [host: string, reason: string]
  trackerError: [info: { url: string; message: string; retryAtMs: number }]
  trackerAnnounced: [info: { url: string; peers: number; intervalMs: number }]
  error: [message: string, kind: TorrentErrorKind | undefined]
}

export interface PeerSnapshot {
  key: string
  /** Where we learnt of it (tracker, dht, pex, incoming, manual). */
  source: PeerSourceKind | undefined
  client: string
  incoming: boolean
  /** How the connection runs: TCP or uTP. */
  transport: TransportKind
  amChoking: boolean
  amInterested: boolean
  peerChoking: boolean
  peerInterested: boolean
  snubbed: boolean
  downloadRate: number
  uploadRate: number
  progress: number
  outstanding: number
}

export interface TorrentSnapshot {
  infoHash: string
  name: string
  state: TorrentState
  error?: string
  sizeBytes: number
  verifiedBytes: number
  progress: number
  pieceCount: number
  piecesVerified: number
  downloadedBytes: number
  uploadedBytes: number
  wastedBytes: number
  downloadRate: number
  uploadRate: number
  connectedPeers: number
  knownPeers: number
  seeds: number
  etaSeconds: number | undefined
  peers: PeerSnapshot[]
  trackers: TrackerStatus[]
}

const TICK_MS = 1_000
const RECHOKE_MS = 10_000
/** Regular slots plus the optimistic one (the choker's defaults). */
const UNCHOKE_SLOTS = 5
/** Our BEP 10 extension ids (what peers must use when sending to us). */
export const OUR_EXTENSIONS = { ut_metadata: 1, ut_pex: 2 } as const
/** Requests we queue per peer by default, advertised as BEP 10 `reqq`. */
export const DEFAULT_MAX_PENDING_REQUESTS_PER_PEER = 256
/** Socket backlog per peer by default: 32 blocks, well past what keeps any link busy between drains. */
export const DEFAULT_MAX_BUFFERED_BYTES_PER_PEER = 512 * 1024
/** 256 × 16 KiB = 4 MiB in flight per peer: 10 ms at 400 MB/s, seconds on any WAN link. */
const MAX_QUEUE_DEPTH = 256
/** How often the data on disk is looked for (a folder deleted under us): ticks, i.e. seconds. */
const DATA_CHECK_TICKS = 5

export class Torrent extends TypedEmitter<TorrentEvents> {
  readonly meta: Metainfo
  readonly #storage: Storage
  readonly #peerId: Buffer
  readonly #clock: Clock
  readonly #opts: Required<Omit<TorrentOptions, 'meta' | 'storage' | 'peerId' | 'clock' | 'dialLimit' | 'listenPort' | 'sources' | 'have' | 'recheck' | 'uploadLimiter' | 'downloadLimiter' | 'filePriorities' | 'connectionSlots'>>
  readonly #slots: ConnectionSlots
  /** Slots held per remote host (dialling, handshaking or connected), for maxConnectionsPerIp. */
  readonly #slotsPerHost = new Map<string, number>()
  #filePriorities: FilePriority[] | undefined
  readonly #recheck: Bitfield | undefined
  readonly #downloadLimiter: LimiterChain | undefined
  #refillTimer: TimerHandle | undefined
  readonly #resumeHave: Bitfield | undefined
  readonly #sources: PeerSource[]
  readonly #listenPort: number
  readonly #dialLimit: LimitFunction
  readonly #pool = new CandidatePool()
  readonly #connections = new Map<string, PeerConnection>()
  /** Connections still in their handshake: not peers yet, but stop() must close them too. */
  readonly #handshaking = new Set<PeerConnection>()
  readonly #dialing = new Set<string>()
  readonly #sockets = new Set<PeerSocket>()
  /** Pieces being assembled in memory: verified whole, then written in one go. */
  readonly #assembling = new Map<number, Buffer>()
  readonly #bufferPool: BufferPool
  readonly #readBuffer = Buffer.allocUnsafeSlow(256 * 1024)
  readonly #uploader: Uploader
  readonly #choker = new Choker()
  #rechokeTimer: TimerHandle | undefined
  /** Peers that turned out to be seeds while we seed too: not worth dialling again. */
  readonly #seedKeys = new Set<string>()
  readonly #pex: PexState
  readonly #writes = new Set<Promise<void>>()
  readonly #strikesByHost = new Map<string, number>()
  readonly #trackerPeers = new Map<string, PeerCandidate[]>()
  /** Addresses that turned out to be this very client (trackers list us too). */
  readonly #selfKeys = new Set<string>()
  readonly #downloadMeter: RateMeter
  readonly #uploadMeter: RateMeter
  #picker: PiecePicker | undefined
  #tracker: TrackerSource | undefined
  #tick: TimerHandle | undefined
  #state: TorrentState = 'idle'
  #error: string | undefined
  #downloadedBytes = 0
  /** New pieces were held back for memory: refill every peer once a write frees some. */
  #memoryThrottled = false
  #wastedBytes = 0
  #stopping: Promise<void> | undefined
  #ticks = 0
  #checkingData = false

  constructor(opts: TorrentOptions) {
    super()
    this.meta = opts.meta
    this.#storage = opts.storage
    this.#peerId = opts.peerId
    this.#clock = opts.clock ?? systemClock
    this.#listenPort = opts.listenPort
    this.#sources = opts.sources ?? []
    this.#downloadLimiter = opts.downloadLimiter
    this.#filePriorities = opts.filePriorities
    const uploadLimiter = opts.uploadLimiter
    this.#resumeHave = opts.have?.length === opts.meta.pieceCount ? opts.have.clone() : undefined
    this.#recheck = this.#resumeHave && opts.recheck?.length === opts.meta.pieceCount ? opts.recheck : undefined
    this.#dialLimit = opts.dialLimit ?? pLimit(16)
    this.#opts = {
      transports: opts.transports ?? new TransportPolicy({ tcp: true }),
      maxConnections: opts.maxConnections ?? 50,
      maxConnectionsPerIp: opts.maxConnectionsPerIp ?? Infinity,
      maxPendingRequestsPerPeer: opts.maxPendingRequestsPerPeer ?? DEFAULT_MAX_PENDING_REQUESTS_PER_PEER,
      maxBufferedBytesPerPeer: opts.maxBufferedBytesPerPeer ?? DEFAULT_MAX_BUFFERED_BYTES_PER_PEER,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 20_000,
      maxPieceMemoryBytes: opts.maxPieceMemoryBytes ?? Math.max(8 * 1024 * 1024, 4 * opts.meta.pieceLength),
      maxStrikes: opts.maxStrikes ?? 3,
      useTrackers: opts.useTrackers ?? true,
      numWant: opts.numWant ?? 50,
    }
    this.#slots = opts.connectionSlots ?? new ConnectionSlots(this.#opts.maxConnections)
    // The pool may keep as many buffers as the memory cap allows, so a steady download allocates none.
    this.#bufferPool = new BufferPool(this.meta.pieceLength, Math.ceil(this.#opts.maxPieceMemoryBytes / this.meta.pieceLength))
    this.#pex = new PexState({ private: this.meta.private })
    this.#downloadMeter = new RateMeter(5, this.#clock)
    this.#uploader = new Uploader(this.meta, this.#storage, () => this.#picker!.have, {
      maxQueuePerPeer: this.#opts.maxPendingRequestsPerPeer,
      maxBacklogBytes: this.#opts.maxBufferedBytesPerPeer,
      allowUpload: uploadLimiter
        ? (bytes) => (uploadLimiter.tryTake(bytes) ? { ok: true } : { ok: false, retryInMs: Math.max(1, uploadLimiter.waitMs(bytes)) })
        : undefined,
      onUploaded: (bytes) => this.#uploadMeter.add(bytes),
      onReadError: (message, err) => this.#failStorage(message, err),
    })
    this.#uploadMeter = new RateMeter(5, this.#clock)
  }

  get state(): TorrentState {
    return this.#state
  }

  /**
   * New file priorities while running: skipped files leave the disk plan, the
   * picker re-weighs pieces, and a torrent that had finished its old selection
   * downloads again if the new one wants more.
   */
  async setFilePriorities(priorities: FilePriority[]): Promise<void> {
    if (priorities.length !== this.meta.files.length) throw new FriendError(`${this.meta.name} has ${this.meta.files.length} files, got ${priorities.length} priorities`)
    const before = this.#filePriorities
    this.#filePriorities = [...priorities]
    for (let i = 0; i < priorities.length; i++) {
      const wasSkipped = (before?.[i] ?? 'normal') === 'skip'
      if (wasSkipped !== (priorities[i] === 'skip')) await this.#storage.setSkipped?.(i, priorities[i] === 'skip')
    }
    if (!this.#picker) return
    this.#applyPiecePriorities()
    if (this.#state === 'seeding' && !this.#picker.isComplete()) {
      // Seeds we left because we wanted nothing more have something for us again.
      this.#seedKeys.clear()
      this.#pool.wakeIdle(this.#clock.now())
      this.#setState('downloading')
    }
    else if (this.#state === 'downloading' && this.#picker.isComplete()) await this.#handleComplete()
    for (const pc of this.#connections.values()) if (pc.ready) this.#updateInterest(pc)
    this.#maintainConnections()
  }

  #applyPiecePriorities(): void {
    const pieces = piecePriorities(this.meta, this.#filePriorities!)
    for (let i = 0; i < pieces.length; i++) this.#picker!.setPriority(i, pieces[i])
  }

  /** Verified pieces so far (a copy, for resume data); undefined before the check ends. */
  verifiedPieces(): Bitfield | undefined {
    return this.#picker?.have.clone()
  }

  /** Writes what is on its way to disk and fdatasyncs it, so resume data saved next is true. */
  async flush(): Promise<void> {
    await this.#settleWrites()
    await this.#storage.flush()
  }

  get infoHashHex(): string {
    return this.meta.infoHashHex
  }

  /** Checks the data already on disk, then downloads what is missing (or seeds when nothing is). */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`torrent already ${this.#state}`)
    this.#setState('checking')
    let have: Bitfield
    if (this.#resumeHave && this.#recheck) {
      // Trusted pieces stand; pieces touching changed files are hashed again
      // (those verified after the resume data was saved are found this way).
      try {
        have = await checkPieces(this.#storage, this.meta, { only: this.#recheck, onProgress: (checked, total) => this.emit('checkProgress', checked, total) })
      } catch (err) {
        this.#fail(`checking existing data failed: ${errorMessage(err)}`)
        return
      }
      for (let i = 0; i < this.meta.pieceCount; i++) if (!this.#recheck.get(i) && this.#resumeHave.get(i)) have.set(i)
    } else if (this.#resumeHave) {
      // Resume data matched the files on disk (sizes and mtimes): no re-hash.
      have = this.#resumeHave
    } else {
      try {
        have = await checkPieces(this.#storage, this.meta, {
          onProgress: (checked, total) => this.emit('checkProgress', checked, total),
        })
      } catch (err) {
        this.#fail(`checking existing data failed: ${errorMessage(err)}`)
        return
      }
    }
    if (this.#stopping) return
    this.#picker = new PiecePicker({
      pieceCount: this.meta.pieceCount,
      pieceLength: this.meta.pieceLength,
      totalLength: this.meta.length,
      have,
    })
    if (this.#filePriorities) this.#applyPiecePriorities()
    this.#tick = this.#clock.setInterval(() => this.#handleTick(), TICK_MS)
    this.#rechokeTimer = this.#clock.setInterval(() => this.#rechoke(), RECHOKE_MS)
    if (this.#opts.useTrackers && this.meta.announce.length > 0) this.#startTrackers()
    for (const source of this.#sources) {
      source.on('peers', (peers) => this.addPeers(peers))
      source.start()
    }
    if (this.#picker.isComplete()) {
      this.#setState('seeding')
      this.emit('complete')
    } else {
      this.#setState('downloading')
    }
    this.#maintainConnections()
  }

  /** Adds candidate peers (from the command line, DHT, PEX, ...). */
  addPeers(candidates: PeerCandidate[]): void {
    this.#pool.add(candidates, this.#clock.now())
    this.#maintainConnections()
  }

  /** Stops cleanly: tells trackers, closes peers, lets pending writes land, closes files. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    this.#tick?.cancel()
    this.#rechokeTimer?.cancel()
    this.#refillTimer?.cancel()
    for (const pc of this.#connections.values()) pc.close('torrent stopped')
    for (const pc of [...this.#handshaking]) pc.close('torrent stopped')
    for (const s of this.#sockets) s.destroy()
    const sourcesStopped = [this.#tracker?.stop(), ...this.#sources.map((s) => s.stop())]
    await this.#settleWrites()
    await Promise.allSettled([...sourcesStopped, this.#storage.flush()])
    await this.#storage.close().catch(() => {})
    if (this.#state !== 'error') this.#setState('stopped')
  }

  /** A routed incoming connection (the listener read its handshake). */
  handleIncoming(socket: PeerSocket, decoder: Decoder, handshake: Handshake, rest: DecodedItem[]): void {
    if (this.#stopping || !this.#picker || this.#connections.size >= this.#opts.maxConnections) {
      socket.destroy()
      return
    }
    if (this.#pool.isBanned(socket.remoteAddress ?? '')) {
      socket.destroy()
      return
    }
    const host = canonicalHost(socket.remoteAddress ?? '?')
    const release = this.#takeSlot(host)
    if (!release) {
      const key = addressKey({ host, port: socket.remotePort ?? 0 })
      socket.destroy()
      this.emit('peerFailed', key, this.#slots.free === 0 ? `refused: all ${this.#slots.maxTotal} connection slots are in use` : `refused: already ${this.#opts.maxConnectionsPerIp} connections with ${host}`)
      return
    }
    const pc = this.#newConnection(socket, false, release, { decoder, handshake, rest })
    pc.startIncoming(handshake, rest)
  }

  snapshot(): TorrentSnapshot {
    const picker = this.#picker
    const piecesVerified = picker ? picker.have.count() : 0
    const verifiedBytes = picker ? this.#verifiedBytes(picker.have) : 0
    const downloadRate = this.#downloadMeter.rateBytesPerSec()
    const left = this.meta.length - verifiedBytes
    let seeds = 0
    const peers: PeerSnapshot[] = []
    for (const pc of this.#connections.values()) {
      if (!pc.ready) continue
      if (pc.have.hasAll()) seeds++
      peers.push({
        key: pc.key,
        source: pc.outgoing ? [...(this.#pool.get(pc.key)?.sources ?? [])][0] : 'incoming',
        transport: pc.transport,
        client: pc.remotePeerId ? describeClient(pc.remotePeerId) : '',
        incoming: !pc.outgoing,
        amChoking: pc.amChoking,
        amInterested: pc.amInterested,
        peerChoking: pc.peerChoking,
        peerInterested: pc.peerInterested,
        snubbed: pc.snubbed,
        downloadRate: pc.downloadMeter.rateBytesPerSec(),
        uploadRate: pc.uploadMeter.rateBytesPerSec(),
        progress: this.meta.pieceCount ? pc.have.count() / this.meta.pieceCount : 0,
        outstanding: pc.outstandingCount,
      })
    }
    return {
      infoHash: this.meta.infoHashHex,
      name: this.meta.name,
      state: this.#state,
      error: this.#error,
      sizeBytes: this.meta.length,
      verifiedBytes,
      progress: this.meta.length ? verifiedBytes / this.meta.length : 1,
      pieceCount: this.meta.pieceCount,
      piecesVerified,
      downloadedBytes: this.#downloadedBytes,
      uploadedBytes: this.#uploadMeter.total,
      wastedBytes: this.#wastedBytes,
      downloadRate,
      uploadRate: this.#uploadMeter.rateBytesPerSec(),
      connectedPeers: peers.length,
      knownPeers: this.#pool.size(),
      seeds,
      etaSeconds: left > 0 && downloadRate > 0 ? Math.ceil(left / downloadRate) : left === 0 ? 0 : undefined,
      peers,
      trackers: this.#tracker?.status() ?? [],
    }
  }

  // --- discovery and connections -------------------------------------------

  #startTrackers(): void {
    const tracker = new TrackerSource({
      infoHash: this.meta.infoHash,
      peerId: this.#peerId,
      port: this.#listenPort,
      tiers: this.meta.announce,
      numWant: this.#opts.numWant,
      clock: this.#clock,
      getStats: () => ({
        uploaded: this.#uploadMeter.total,
        downloaded: this.#downloadedBytes,
        left: this.#picker ? this.meta.length - this.#verifiedBytes(this.#picker.have) : this.meta.length,
      }),
    })
    tracker.on('peers', (peers, url) => this.#handleTrackerPeers(url, peers))
    tracker.on('trackerError', (info) => this.emit('trackerError', info))
    tracker.on('trackerAnnounced', (info) => this.emit('trackerAnnounced', info))
    this.#tracker = tracker
    tracker.start()
  }

  /**
   * A tracker's latest list replaces its previous one: candidates that no
   * tracker lists any longer (and no other source knows) leave the pool.
   */
  #handleTrackerPeers(url: string, peers: PeerCandidate[]): void {
    this.#trackerPeers.set(url, peers)
    const union = [...this.#trackerPeers.values()].flat()
    this.#pool.replaceFromSource('tracker', union, this.#clock.now())
    this.#maintainConnections()
  }

  /** Downloading, or seeding (a seeder dials the leechers it hears of: some never dial out). */
  #wantsPeers(): boolean {
    return (this.#state === 'downloading' || this.#state === 'seeding') && !this.#stopping
  }

  #maintainConnections(): void {
    if (!this.#wantsPeers()) return
    const now = this.#clock.now()
    const hostFull: string[] = []
    while (this.#connections.size + this.#dialing.size < this.#opts.maxConnections && this.#slots.free > 0) {
      const candidate = this.#pool.next(now)
      if (!candidate) break
      const key = addressKey(candidate)
      if (this.#connections.has(key) || this.#dialing.has(key) || this.#selfKeys.has(key) || (this.#state === 'seeding' && this.#seedKeys.has(key))) {
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
    // Out of peers to try: ask the trackers again rather than give up (they rate-limit themselves).
    if (this.#state === 'downloading' && this.#connections.size === 0 && this.#dialing.size === 0 && this.#pool.readyCount(now) === 0) {
      this.#tracker?.requestMore()
      for (const source of this.#sources) source.requestMore()
    }
  }

  /**
   * A slot for one more connection with `host`: one of the shared total and
   * one of the host's share. Returns the function that gives both back (once),
   * or undefined when either is used up.
   */
  #takeSlot(host: string): (() => void) | undefined {
    const held = this.#slotsPerHost.get(host) ?? 0
    if (held >= this.#opts.maxConnectionsPerIp || !this.#slots.tryAcquire()) return undefined
    this.#slotsPerHost.set(host, held + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#slots.release()
      const left = (this.#slotsPerHost.get(host) ?? 1) - 1
      if (left > 0) this.#slotsPerHost.set(host, left)
      else this.#slotsPerHost.delete(host)
    }
  }

  #dial(key: string, host: string, port: number, release: () => void): void {
    this.#dialing.add(key)
    void this.#dialLimit(() => {
      if (this.#stopping) throw new Error('stopping')
      return dialPeer({ host, port, timeoutMs: this.#opts.connectTimeoutMs, readBuffer: this.#readBuffer, clock: this.#clock, pending: this.#sockets, transports: this.#opts.transports })
    }).then(
      ({ socket, route }) => {
        this.#dialing.delete(key)
        if (this.#stopping || this.#connections.size >= this.#opts.maxConnections) {
          release()
          socket.destroy()
          this.#pool.markDisconnected(key, this.#clock.now())
          return
        }
        const pc = this.#newConnection(socket, true, release)
        route((chunk) => pc.handleData(chunk))
        pc.start()
      },
      (err: unknown) => {
        this.#dialing.delete(key)
        release()
        this.emit('peerFailed', key, errorMessage(err))
        this.#pool.markFailed(key, this.#clock.now())
        this.#maintainConnections()
      },
    )
  }

  /** `release` gives back the connection's slot; it is called when the connection closes. */
  #newConnection(socket: PeerSocket, outgoing: boolean, release: () => void, incoming?: { decoder: Decoder; handshake: Handshake; rest: DecodedItem[] }): PeerConnection {
    const pc = new PeerConnection({
      socket,
      infoHash: this.meta.infoHash,
      ourPeerId: this.#peerId,
      pieceCount: this.meta.pieceCount,
      outgoing,
      incoming,
      clock: this.#clock,
      extendedHandshake: {
        // BEP 27: no peer exchange for private torrents.
        m: this.meta.private ? { ut_metadata: OUR_EXTENSIONS.ut_metadata } : { ...OUR_EXTENSIONS },
        v: CLIENT_VERSION,
        p: this.#listenPort || undefined,
        reqq: this.#opts.maxPendingRequestsPerPeer,
        metadataSize: this.meta.infoBuffer.length,
      },
    })
    const key = pc.key
    let registered = false
    this.#handshaking.add(pc)
    pc.on('ready', () => {
      this.#handshaking.delete(pc)
      const duplicate = this.#connections.has(key) || [...this.#connections.values()].some((o) => o.remotePeerId && pc.remotePeerId && o.remotePeerId.equals(pc.remotePeerId))
      if (duplicate) {
        pc.close('already connected to this peer')
        return
      }
      registered = true
      this.#connections.set(key, pc)
      if (outgoing) this.#pool.markConnected(key)
      else this.#pool.add([{ host: pc.remoteAddress, port: pc.remotePort, source: 'incoming' }], this.#clock.now())
      this.#picker!.addPeer(key)
      pc.sendBitfield(this.#picker!.have)
      // Outgoing: we reached it at this address. Incoming: only once it tells its listen port (BEP 10 `p`).
      if (outgoing) advertised = { host: pc.remoteAddress, port: pc.remotePort }
      if (advertised) this.#pex.handleConnected(advertised, { utp: pc.transport === 'utp' })
      this.emit('peerConnected', key)
    })
    let advertised: PeerAddress | undefined
    pc.on('extendedHandshake', (h) => {
      if (!outgoing && h.p && !advertised && registered) {
        advertised = { host: pc.remoteAddress, port: h.p }
        this.#pex.handleConnected(advertised, { utp: pc.transport === 'utp' })
      }
      if (registered) this.#sendPex(pc)
    })
    pc.on('extended', (name, payload) => this.#handleExtended(pc, name, payload))
    pc.on('bitfield', (bf) => {
      this.#picker!.setPeerBitfield(key, bf)
      if (this.#closeIfBothSeeds(pc)) return
      this.#updateInterest(pc)
    })
    pc.on('haveAll', () => {
      this.#picker!.handleHaveAll(key)
      if (this.#closeIfBothSeeds(pc)) return
      this.#updateInterest(pc)
    })
    pc.on('request', (block) => {
      if (this.#uploader.handleRequest(pc, block) === 'flooding') {
        pc.close(`request flood: over ${2 * this.#opts.maxPendingRequestsPerPeer} requests refused in a row (we queue ${this.#opts.maxPendingRequestsPerPeer})`)
      }
    })
    pc.on('cancel', (block) => this.#uploader.handleCancel(pc, block))
    pc.on('interested', () => {
      // A free upload slot goes to a newly interested peer now, not at the next rechoke.
      const unchoked = [...this.#connections.values()].filter((p) => !p.amChoking).length
      if (unchoked < UNCHOKE_SLOTS) this.#rechoke()
    })
    pc.on('notInterested', () => {
      if (!pc.amChoking) this.#rechoke()
    })
    pc.on('have', (index) => {
      this.#picker!.handleHave(key, index)
      if (!pc.amInterested) this.#updateInterest(pc)
    })
    pc.on('unchoke', () => this.#fillRequests(pc))
    pc.on('choke', () => {
      // BEP 3: a choke discards every request we had queued at that peer.
      pc.clearOutstanding()
      this.#picker!.releasePeerRequests(key)
      this.#fillAll()
    })
    pc.on('reject', (block) => {
      this.#picker!.releaseRequest(key, block)
      this.#fillRequests(pc)
    })
    pc.on('block', (block, data) => this.#handleBlock(pc, block, data))
    pc.on('unexpectedBlock', (block) => {
      this.#wastedBytes += block.length
    })
    pc.on('close', (reason) => {
      release()
      this.#handshaking.delete(pc)
      this.#uploader.removePeer(pc)
      if (advertised) this.#pex.handleDisconnected(advertised)
      this.#pex.forgetPeer(key)
      if (registered) {
        this.#connections.delete(key)
        this.#picker?.removePeer(key)
        this.emit('peerDisconnected', key, reason)
        if (outgoing) this.#pool.markDisconnected(key, this.#clock.now())
        this.#fillAll()
      } else {
        if (reason === SELF_CONNECTION) this.#selfKeys.add(key)
        this.emit('peerFailed', key, reason)
        if (outgoing) this.#pool.markFailed(key, this.#clock.now())
      }
      this.#maintainConnections()
    })
    return pc
  }

  // --- requesting ----------------------------------------------------------

  #updateInterest(pc: PeerConnection): void {
    const interested = this.#state === 'downloading' && this.#picker!.isInteresting(pc.key)
    pc.setInterested(interested)
    if (interested) this.#fillRequests(pc)
  }

  /**
   * How many requests to keep outstanding at a peer: about one second of its
   * current rate (far more than any round trip), at least 32, at most what it
   * will queue (reqq) and never over MAX_QUEUE_DEPTH: deeper queues only hold
   * more pieces open in memory.
   */
  #queueDepth(pc: PeerConnection): number {
    if (pc.snubbed) return 1
    const byRate = Math.ceil(pc.downloadMeter.rateBytesPerSec() / BLOCK_SIZE)
    return Math.min(pc.maxRequests, MAX_QUEUE_DEPTH, Math.max(32, byRate))
  }

  #fillRequests(pc: PeerConnection): void {
    if (!pc.ready || pc.peerChoking || !pc.amInterested || this.#state !== 'downloading') return
    const want = this.#queueDepth(pc) - pc.outstandingCount
    if (want <= 0) return
    const picker = this.#picker!
    // Open pieces (requested, assembling, or verified and being written) each hold a buffer.
    const piecesInMemory = picker.openPieceCount()
    const allowNewPieces = piecesInMemory === 0 || piecesInMemory * this.meta.pieceLength < this.#opts.maxPieceMemoryBytes
    if (!allowNewPieces) this.#memoryThrottled = true
    const blocks = picker.pickBlocks(pc.key, this.#allowedByLimit(want), allowNewPieces)
    if (blocks.length > 0) pc.request(blocks)
  }

  /**
   * The download limit is kept by requesting no faster than it allows: each
   * request takes a block's worth of tokens. Out of tokens, a timer refills
   * every peer once the bucket has room again.
   */
  #allowedByLimit(want: number): number {
    const limiter = this.#downloadLimiter
    if (!limiter) return want
    let allowed = 0
    while (allowed < want && limiter.tryTake(BLOCK_SIZE)) allowed++
    if (allowed < want && !this.#refillTimer) {
      this.#refillTimer = this.#clock.setTimeout(() => {
        this.#refillTimer = undefined
        this.#fillAll()
      }, Math.max(1, limiter.waitMs(BLOCK_SIZE)))
    }
    return allowed
  }

  #fillAll(): void {
    for (const pc of this.#connections.values()) this.#fillRequests(pc)
  }

  #handleBlock(pc: PeerConnection, block: BlockRef, view: Buffer): void {
    const picker = this.#picker!
    const result = picker.handleBlock(pc.key, block)
    if (!result.accepted) {
      this.#wastedBytes += view.length
      this.#fillRequests(pc)
      return
    }
    for (const other of result.alsoRequestedBy) this.#connections.get(other)?.cancel(block)
    this.#downloadedBytes += view.length
    this.#downloadMeter.add(view.length)
    // Copied into the piece's buffer at once: the decoder's view pins a whole
    // socket chunk, and a piece is hashed and written whole.
    let buffer = this.#assembling.get(block.index)
    if (!buffer) {
      buffer = this.#bufferPool.acquire()
      this.#assembling.set(block.index, buffer)
    }
    view.copy(buffer, block.begin)
    if (result.pieceComplete) void this.#finishPiece(block.index)
    this.#fillRequests(pc)
  }

  async #finishPiece(index: number): Promise<void> {
    const buffer = this.#assembling.get(index)!
    this.#assembling.delete(index)
    const data = buffer.subarray(0, pieceSize(this.meta, index))
    const ok = createHash('sha1').update(data).digest().equals(pieceHash(this.meta, index))
    const picker = this.#picker!
    if (!ok) {
      this.#bufferPool.release(buffer)
      const peers = picker.markFailed(index)
      this.emit('pieceFailed', index, peers)
      for (const key of peers) this.#strike(key, index)
      this.#fillAll()
      return
    }
    // Only verified bytes reach the disk, in one write; the piece is ours once they have.
    const write = this.#storage.write(index, 0, data)
    this.#writes.add(write)
    try {
      await write
    } catch (err) {
      this.#failStorage(`cannot write ${this.meta.name}: ${errorMessage(err)}`, err)
      return
    } finally {
      this.#writes.delete(write)
      this.#bufferPool.release(buffer)
    }
    if (this.#state !== 'downloading') return
    picker.markVerified(index)
    this.emit('pieceVerified', index)
    if (this.#memoryThrottled) {
      this.#memoryThrottled = false
      this.#fillAll()
    }
    for (const pc of this.#connections.values()) {
      if (!pc.ready) continue
      if (!pc.have.get(index)) pc.sendHave(index)
      if (pc.amInterested && !picker.isInteresting(pc.key)) pc.setInterested(false)
    }
    if (picker.isComplete()) await this.#handleComplete()
  }

  #strike(key: string, index: number): void {
    const host = key.startsWith('[') ? key.slice(1, key.indexOf(']')) : key.slice(0, key.lastIndexOf(':'))
    const strikes = (this.#strikesByHost.get(host) ?? 0) + 1
    this.#strikesByHost.set(host, strikes)
    if (strikes < this.#opts.maxStrikes || this.#pool.isBanned(host)) return
    this.#pool.ban(key)
    for (const pc of this.#connections.values()) {
      if (pc.remoteAddress === host) pc.close(`banned: sent ${strikes} pieces that failed the hash check (last: ${index})`)
    }
    this.emit('peerBanned', host, `${strikes} pieces failed the hash check`)
  }

  async #handleComplete(): Promise<void> {
    this.#setState('seeding')
    for (const pc of [...this.#connections.values()]) {
      pc.setInterested(false)
      this.#closeIfBothSeeds(pc)
    }
    try {
      await this.#storage.flush()
    } catch (err) {
      this.#failStorage(`cannot flush ${this.meta.name} to disk: ${errorMessage(err)}`, err)
      return
    }
    this.#tracker?.complete()
    this.emit('complete')
  }

  /** BEP 9 requests for our metadata, and BEP 11 peer lists. A malformed message drops that peer. */
  #handleExtended(pc: PeerConnection, name: string, payload: Buffer): void {
    try {
      if (name === 'ut_metadata') {
        const m = decodeMetadataMessage(payload)
        if (m.msgType === 'request') {
          // A peer that asks and never reads would grow our send buffer: past the bound it gets a reject (BEP 9).
          const full = pc.writeBacklogBytes > this.#opts.maxBufferedBytesPerPeer
          pc.sendExtended('ut_metadata', encodeMetadataMessage(full ? { msgType: 'reject', piece: m.piece } : metadataResponse(this.meta.infoBuffer, m.piece)))
        }
      } else if (name === 'ut_pex') {
        const candidates = this.#pex.handleMessage(pc.key, decodePex(payload), this.#clock.now())
        // BEP 11 flag 0x04: a peer said to speak uTP is dialed over uTP first, one said not to over TCP first.
        for (const c of candidates) if (c.utp !== undefined) this.#opts.transports.hint(c.host, c.port, c.utp ? 'utp' : 'tcp')
        if (candidates.length > 0) this.addPeers(candidates)
      }
    } catch (err) {
      pc.close(`bad ${name} message: ${errorMessage(err)}`)
    }
  }

  /** Who we are connected to, at most once a minute per peer (PexState keeps time); the first right after its handshake. */
  #sendPex(only?: PeerConnection): void {
    if (this.meta.private) return
    const now = this.#clock.now()
    for (const pc of only ? [only] : this.#connections.values()) {
      if (!pc.ready || pc.remoteExtensionId('ut_pex') === undefined) continue
      const message = this.#pex.messageFor(pc.key, { host: pc.remoteAddress, port: pc.remotePort }, now)
      if (message) pc.sendExtended('ut_pex', encodePex(message))
    }
  }

  /** Both sides have everything: the connection can carry nothing (BEP 3 clients drop these too). */
  #closeIfBothSeeds(pc: PeerConnection): boolean {
    if (this.#state !== 'seeding' || !pc.have.hasAll()) return false
    this.#seedKeys.add(pc.key)
    pc.close('both sides are seeds')
    return true
  }

  /** Tit-for-tat: the choker picks who may download from us; the rest are choked. */
  #rechoke(): void {
    if (!this.#picker || this.#stopping) return
    const now = this.#clock.now()
    const peers = [...this.#connections.values()].filter((pc) => pc.ready)
    const decision = this.#choker.rechoke(
      peers.map((pc) => ({
        id: pc.key,
        interested: pc.peerInterested,
        downloadRate: pc.downloadMeter.rateBytesPerSec(),
        uploadRate: pc.uploadMeter.rateBytesPerSec(),
        connectedAtMs: pc.connectedAtMs,
        snubbed: pc.snubbed,
      })),
      now,
      this.#state === 'seeding',
    )
    for (const pc of peers) {
      const unchoke = decision.unchoked.has(pc.key) || decision.optimistic === pc.key
      if (!unchoke && !pc.amChoking) this.#uploader.handleChoked(pc)
      pc.setChoking(!unchoke)
    }
  }

  #handleTick(): void {
    const now = this.#clock.now()
    for (const pc of this.#connections.values()) {
      if (pc.outstandingCount === 0 || pc.snubbed) continue
      const silentMs = now - Math.max(pc.lastBlockAtMs, pc.connectedAtMs)
      if (silentMs > this.#opts.requestTimeoutMs && pc.oldestRequestAgeMs() > this.#opts.requestTimeoutMs) {
        // Snubbed: its blocks go to others; it keeps one request so it can prove itself again.
        pc.snubbed = true
        for (const block of pc.cancelAll()) this.#picker!.releaseRequest(pc.key, block)
      }
    }
    this.#fillAll()
    this.#maintainConnections()
    this.#sendPex()
    if (++this.#ticks % DATA_CHECK_TICKS === 0) void this.#checkDataPresent()
  }

  /**
   * A save folder deleted under us must stop the torrent: reads through
   * handles still open would serve a file no longer on disk, writes would
   * vanish with it, and new opens must never recreate the files empty.
   */
  async #checkDataPresent(): Promise<void> {
    if (this.#checkingData || !this.#storage.findMissing || (this.#state !== 'downloading' && this.#state !== 'seeding')) return
    this.#checkingData = true
    try {
      const missing = await this.#storage.findMissing()
      if (missing !== undefined && !this.#stopping) this.#fail(`data missing: ${missing}; verify or remove`, 'data missing')
    } catch {
      // Not knowing is not "missing": a read or write that fails says why.
    } finally {
      this.#checkingData = false
    }
  }

  // --- state ---------------------------------------------------------------

  #verifiedBytes(have: Bitfield): number {
    const count = have.count()
    if (count === 0) return 0
    const last = this.meta.pieceCount - 1
    return have.get(last) ? (count - 1) * this.meta.pieceLength + this.meta.lastPieceLength : count * this.meta.pieceLength
  }

  async #settleWrites(): Promise<void> {
    await Promise.allSettled([...this.#writes])
  }

  #setState(state: TorrentState): void {
    if (this.#state === state) return
    this.#state = state
    // A seed assembles no pieces: its pooled piece buffers (up to maxPieceMemoryBytes) go back to the GC.
    if (state === 'seeding') this.#bufferPool.drain()
    this.emit('state', state)
  }

  #fail(message: string, kind?: TorrentErrorKind): void {
    if (this.#state === 'error') return
    this.#error = message
    this.#setState('error')
    this.emit('error', message, kind)
    void this.stop()
  }

  /** A storage failure, said plainly when it is one the user (or the session) can act on. */
  #failStorage(message: string, err: unknown): void {
    const code = (err as { code?: unknown } | undefined)?.code
    const file = (err as { path?: unknown } | undefined)?.path
    const where = typeof file === 'string' ? file : this.meta.name
    if (code === 'ENOSPC' || code === 'EDQUOT') this.#fail(`disk full writing ${where} (${code === 'ENOSPC' ? 'no space left' : 'over the disk quota'})`, 'disk full')
    else if (code === 'ENOENT') this.#fail(`data missing: ${where}; verify or remove`, 'data missing')
    else this.#fail(message)
  }
}

/** A short client name from an Azureus-style peer id (BEP 20), e.g. "-qB4500-" → "qB 4.5.0.0". */
export function describeClient(peerId: Buffer): string {
  const text = peerId.subarray(0, 8).toString('latin1')
  const m = /^-([A-Za-z~]{2})([0-9A-Za-z]{4})-$/.exec(text)
  if (!m) return ''
  const names: Record<string, string> = {
    qB: 'qBittorrent', TR: 'Transmission', AR: 'aria2', lt: 'rTorrent', LT: 'libtorrent', UT: 'µTorrent', DE: 'Deluge', WW: 'WebTorrent', FT: 'friendtorrent', AZ: 'Vuze', BT: 'BitTorrent', KT: 'KTorrent',
  }
  return `${names[m[1]] ?? m[1]} ${m[2].split('').join('.')}`
}
