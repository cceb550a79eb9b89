// One torrent: the one owner of its state, wiring the parts that each do one
// job: the swarm (candidates, dialling, connection slots, bans), the
// downloader (requests, blocks, piece verification), the uploader (requests
// served) and the choker, plus trackers (torrent-trackers.ts), other peer
// sources and PEX; peer-wiring.ts routes each connection's events. It turns
// their reports into decisions (seed now, strike a peer, stop on a full disk).
// All its state changes happen in its handle* methods, one input at a time, on
// Node's event loop; the parts report back with events or return values.
// It never parses wire bytes (peer does) and never touches files (storage does).
import type { TransportPolicy } from '../peer/dial.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import pLimit from 'p-limit'
import type { Bitfield } from '../core/bitfield.ts'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { ConnectionSlots } from '../core/connection-slots.ts'
import { ownAddressCheck } from '../core/own-address.ts'
import { RateMeter } from '../core/rate-meter.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { errorMessage, FriendError, type PeerCandidate } from '../core/types.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import { Choker } from '../choker/choker.ts'
import { piecePriorities, skipChanges, type FilePriority } from '../storage/file-priorities.ts'
import type { Storage } from '../storage/storage.ts'
import type { Decoder, DecodedItem } from '../wire/decoder.ts'
import type { Handshake } from '../wire/handshake.ts'
import { Downloader } from './downloader.ts'
import { HashExchange } from './hash-exchange.ts'
import { PeerExtensions } from './peer-extensions.ts'
import { Swarm } from './swarm.ts'
import { applyRechoke } from './choking.ts'
import { piecesOnDisk } from './start-check.ts'
import { wirePeer } from './peer-wiring.ts'
import { TorrentTrackers } from './torrent-trackers.ts'
import { pieceStates, torrentSnapshot } from './torrent-snapshot.ts'
import { storageFailure } from './storage-failure.ts'
import { DEFAULT_MAX_BUFFERED_BYTES_PER_PEER, DEFAULT_MAX_PENDING_REQUESTS_PER_PEER } from './torrent-types.ts'
import type { PieceStates, TorrentErrorKind, TorrentEvents, TorrentOptions, TorrentSnapshot, TorrentState } from './torrent-types.ts'
import { Uploader } from './uploader.ts'
import { WebSeeds } from './web-seeds.ts'

export { OUR_EXTENSIONS } from './peer-extensions.ts'
export { DEFAULT_MAX_BUFFERED_BYTES_PER_PEER, DEFAULT_MAX_PENDING_REQUESTS_PER_PEER } from './torrent-types.ts'
export type { PeerSnapshot, PieceStates, TorrentErrorKind, TorrentEvents, TorrentOptions, TorrentSnapshot, TorrentState } from './torrent-types.ts'

const TICK_MS = 1_000
const RECHOKE_MS = 10_000
/** How often the data on disk is looked for (a folder deleted under us): ticks, i.e. seconds. */
const DATA_CHECK_TICKS = 5

export class Torrent extends TypedEmitter<TorrentEvents> {
  readonly meta: Metainfo
  readonly #storage: Storage
  readonly #peerId: Buffer
  readonly #clock: Clock
  readonly #transports: TransportPolicy | undefined
  readonly #opts: Required<Pick<TorrentOptions, 'maxPendingRequestsPerPeer' | 'maxBufferedBytesPerPeer' | 'useTrackers' | 'numWant' | 'webSeeds' | 'requestTimeoutMs' | 'maxStrikes'>>
  #filePriorities: FilePriority[] | undefined
  readonly #resumeHave: Bitfield | undefined
  readonly #sources: PeerSource[]
  readonly #listenPort: number
  readonly #announcePort: (() => number) | undefined
  readonly #swarm: Swarm
  readonly #downloader: Downloader
  readonly #uploader: Uploader
  readonly #choker = new Choker()
  readonly #extensions: PeerExtensions
  readonly #uploadMeter: RateMeter
  #rechokeTimer: TimerHandle | undefined
  #trackers: TorrentTrackers | undefined
  #webSeeds: WebSeeds | undefined
  /** BEP 52: piece layers and block hashes, asked of peers and served to them. */
  #hashes: HashExchange | undefined
  #tick: TimerHandle | undefined
  #state: TorrentState = 'idle'
  #error: string | undefined
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
    this.#announcePort = opts.announcePort
    this.#sources = opts.sources ?? []
    this.#filePriorities = opts.filePriorities
    this.#resumeHave = opts.have?.length === opts.meta.pieceCount ? opts.have.clone() : undefined
    this.#opts = {
      maxPendingRequestsPerPeer: opts.maxPendingRequestsPerPeer ?? DEFAULT_MAX_PENDING_REQUESTS_PER_PEER,
      maxBufferedBytesPerPeer: opts.maxBufferedBytesPerPeer ?? DEFAULT_MAX_BUFFERED_BYTES_PER_PEER,
      useTrackers: opts.useTrackers ?? true,
      numWant: opts.numWant ?? 50,
      webSeeds: opts.webSeeds ?? true,
      requestTimeoutMs: opts.requestTimeoutMs ?? 20_000,
      maxStrikes: opts.maxStrikes ?? 3,
    }
    const { maxPendingRequestsPerPeer, maxBufferedBytesPerPeer } = this.#opts
    this.#extensions = new PeerExtensions({ meta: this.meta, clock: this.#clock, listenPort: this.#listenPort, maxPendingRequestsPerPeer, maxBufferedBytesPerPeer })
    const maxConnections = opts.maxConnections ?? 50
    this.#swarm = new Swarm({
      infoHash: this.meta.infoHash,
      // BEP 52: the v2 bit; a hybrid also takes peers that come under its v2 hash.
      v2: this.meta.v2 !== undefined,
      otherInfoHash: this.meta.v2 && this.meta.hasV1 ? this.meta.v2.infoHash.subarray(0, 20) : undefined,
      peerId: this.#peerId,
      listenPort: this.#listenPort,
      isOwnAddress: ownAddressCheck(this.#listenPort, opts.listenHost),
      pieceCount: this.meta.pieceCount,
      extendedHandshake: this.#extensions.handshake,
      clock: this.#clock,
      maxConnections,
      maxConnectionsPerIp: opts.maxConnectionsPerIp ?? Infinity,
      slots: opts.connectionSlots ?? new ConnectionSlots(maxConnections),
      dialLimit: opts.dialLimit ?? pLimit(16),
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      maxStrikes: this.#opts.maxStrikes,
      encryption: opts.encryption,
      transports: opts.transports,
      bannedHosts: opts.bannedHosts,
    })
    this.#transports = opts.transports
    this.#swarm.on('connection', (pc) => this.#handleConnection(pc))
    this.#swarm.on('peerReady', (pc) => this.#handlePeerReady(pc))
    this.#swarm.on('peerClosed', (pc, reason, wasReady) => this.#handlePeerClosed(pc, reason, wasReady))
    this.#swarm.on('peerFailed', (key, reason, dialled) => this.#handlePeerFailed(key, reason, dialled))
    if (this.meta.v2) {
      const v2Opts = { now: () => this.#clock.now(), withPiece: <T,>(i: number, use: (data: Buffer) => T) => this.#uploader.withPiece(i, use), have: () => (this.#downloader.started ? this.#downloader.have : undefined) }
      this.#hashes = new HashExchange(this.meta, this.#swarm.connections, v2Opts)
      this.#hashes.on('layersComplete', () => {
        for (const pc of this.#swarm.connections.values()) if (pc.ready && this.#downloader.started) this.#downloader.updateInterest(pc)
        this.emit('pieceLayersComplete')
      })
    }
    this.#downloader = new Downloader({
      meta: this.meta,
      storage: this.#storage,
      clock: this.#clock,
      connections: this.#swarm.connections,
      // BEP 52: a v2-only torrent fetches pieces once they can be checked (every piece layer known).
      isDownloading: () => this.#state === 'downloading' && (this.meta.hasV1 || !this.#hashes?.missing),
      maxPieceMemoryBytes: opts.maxPieceMemoryBytes ?? Math.max(8 * 1024 * 1024, 4 * opts.meta.pieceLength),
      pieceMemory: opts.budgets?.pieces.share(),
      bufferPools: opts.budgets?.piecePools,
      requestTimeoutMs: this.#opts.requestTimeoutMs,
      downloadLimiter: opts.downloadLimiter,
      blocks: this.#hashes?.blocks,
    })
    this.#downloader.on('pieceVerified', (index) => this.#handlePieceVerified(index))
    this.#downloader.on('pieceFailed', (index, peers) => this.#handlePieceFailed(index, peers))
    this.#downloader.on('blockFailed', ({ index, begin }, key) => {
      // Proven bad by its BEP 52 block hash, sent by `key` alone: banned at once (a web seed is dropped).
      const reason = `sent a block that failed its hash check (piece ${index}, offset ${begin})`
      if (this.#webSeeds?.handlePieceFailed(index, [key]).length !== 0) this.emit('peerBanned', this.#swarm.banPeer(key, `banned: ${reason}`), reason)
    })
    this.#downloader.on('writeFailed', (message, err) => this.#failStorage(message, err))
    this.#downloader.on('refill', () => this.#webSeeds?.fill())
    const uploadLimiter = opts.uploadLimiter
    this.#uploader = new Uploader(this.meta, this.#storage, () => this.#downloader.have, {
      maxQueuePerPeer: this.#opts.maxPendingRequestsPerPeer,
      maxBacklogBytes: this.#opts.maxBufferedBytesPerPeer,
      inFlight: opts.budgets?.inFlight.share(),
      readCache: opts.budgets?.readCache.share(),
      bufferPools: opts.budgets?.piecePools,
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
    const { skip, unskip } = skipChanges(this.#filePriorities, priorities)
    this.#filePriorities = [...priorities]
    if (skip.length > 0) await this.#storage.setSkipped?.(skip, true)
    if (unskip.length > 0) await this.#storage.setSkipped?.(unskip, false)
    if (!this.#downloader.started) return
    this.#downloader.setPiecePriorities(piecePriorities(this.meta, this.#filePriorities))
    if (this.#state === 'seeding' && !this.#downloader.isComplete()) {
      // Seeds we left because we wanted nothing more have something for us again.
      this.#swarm.forgetSeeds()
      this.#setState('downloading')
    } else if (this.#state === 'downloading' && this.#downloader.isComplete()) await this.#handleComplete()
    for (const pc of this.#swarm.connections.values()) if (pc.ready) this.#downloader.updateInterest(pc)
    this.#maintainConnections()
  }

  /** Verified pieces so far (a copy, for resume data); undefined before the check ends. */
  verifiedPieces(): Bitfield | undefined {
    return this.#downloader.started ? this.#downloader.have.clone() : undefined
  }

  /** Writes what is on its way to disk and fdatasyncs it, so resume data saved next is true. */
  async flush(): Promise<void> {
    await this.#downloader.settle()
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
    const onProgress = (checked: number, total: number) => this.emit('checkProgress', checked, total)
    try {
      have = await piecesOnDisk(this.#storage, this.meta, { resumeHave: this.#resumeHave, onProgress })
    } catch (err) {
      this.#fail(`checking existing data failed: ${errorMessage(err)}`)
      return
    }
    if (this.#stopping) return
    this.#downloader.start(have)
    if (this.#filePriorities) this.#downloader.setPiecePriorities(piecePriorities(this.meta, this.#filePriorities))
    this.#tick = this.#clock.setInterval(() => this.#handleTick(), TICK_MS)
    this.#rechokeTimer = this.#clock.setInterval(() => this.#rechoke(), RECHOKE_MS)
    if (this.#opts.useTrackers && this.meta.announce.length > 0) this.#startTrackers()
    if (this.#opts.webSeeds && this.meta.urlList.length > 0) this.#startWebSeeds()
    for (const source of this.#sources) {
      source.on('peers', (peers) => this.addPeers(peers))
      source.start()
    }
    if (this.#downloader.isComplete()) {
      this.#setState('seeding')
      this.emit('complete')
    } else {
      this.#setState('downloading')
    }
    this.#maintainConnections()
    this.#webSeeds?.fill()
  }

  /** Pieces in flight and (when asked) each piece's availability, for a piece map; O(pieces) only with availability. */
  pieceStates(withAvailability: boolean): PieceStates {
    return pieceStates(this.meta.pieceCount, this.#downloader, withAvailability)
  }

  /** Closes the connection with peer `key` (a person's disconnect); false when not connected. */
  disconnectPeer(key: string): boolean {
    return this.#swarm.disconnect(key, 'disconnected by the user')
  }

  /** Bans an address (canonical IP text) in this torrent's swarm, closing its connections; returns how many closed. */
  banHost(host: string): number {
    const closed = this.#swarm.ban(host, 'banned by the user')
    if (closed > 0) this.emit('peerBanned', host, 'banned by the user')
    return closed
  }

  unbanHost(host: string): void {
    this.#swarm.unban(host)
    this.#maintainConnections()
  }

  /** Adds candidate peers (from the command line, DHT, PEX, ...). */
  addPeers(candidates: PeerCandidate[]): void {
    this.#swarm.addCandidates(candidates)
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
    this.#downloader.stop()
    this.#webSeeds?.stop()
    this.#swarm.close()
    const sourcesStopped = [this.#trackers?.stop(), ...this.#sources.map((s) => s.stop())]
    await this.#downloader.settle()
    await Promise.allSettled([...sourcesStopped, this.#storage.flush()])
    await this.#storage.close().catch(() => {})
    if (this.#state !== 'error') this.#setState('stopped')
  }

  /** A routed incoming connection (the listener read its handshake). */
  handleIncoming(socket: PeerSocket, decoder: Decoder, handshake: Handshake, rest: DecodedItem[]): void {
    if (this.#stopping || !this.#downloader.started) {
      socket.destroy()
      return
    }
    this.#swarm.handleIncoming(socket, decoder, handshake, rest)
  }

  snapshot(): TorrentSnapshot {
    return torrentSnapshot({
      meta: this.meta,
      state: this.#state,
      error: this.#error,
      downloader: this.#downloader,
      swarm: this.#swarm,
      webSeeds: this.#webSeeds,
      uploadMeter: this.#uploadMeter,
      trackers: this.#trackers?.status() ?? [],
    })
  }

  // --- discovery -----------------------------------------------------------

  #startTrackers(): void {
    this.#trackers = new TorrentTrackers({
      meta: this.meta,
      peerId: this.#peerId,
      listenPort: this.#listenPort,
      announcePort: this.#announcePort,
      numWant: this.#opts.numWant,
      clock: this.#clock,
      getStats: () => ({ uploaded: this.#uploadMeter.total, downloaded: this.#downloader.downloadedBytes, left: this.meta.length - this.#downloader.verifiedBytes() }),
      onPeers: (url, peers) => {
        this.#swarm.handleTrackerPeers(url, peers)
        this.#maintainConnections()
      },
      onError: (info) => this.emit('trackerError', info),
      onAnnounced: (info) => this.emit('trackerAnnounced', info),
    })
  }

  /** Web seeds are fed like peers by the downloader; they hold no connection slot. */
  #startWebSeeds(): void {
    const webSeeds = new WebSeeds({ meta: this.meta, sink: this.#downloader, clock: this.#clock, timeoutMs: this.#opts.requestTimeoutMs, maxStrikes: this.#opts.maxStrikes })
    webSeeds.on('dropped', (url, reason) => this.emit('webSeedDropped', url, reason))
    this.#webSeeds = webSeeds
  }

  /** Dials while downloading or seeding (a seeder dials the leechers it hears of: some never dial out). */
  #maintainConnections(): void {
    if ((this.#state !== 'downloading' && this.#state !== 'seeding') || this.#stopping) return
    const outOfPeers = this.#swarm.maintain(this.#state)
    // Out of peers to try: ask the trackers again rather than give up (they rate-limit themselves).
    if (outOfPeers && this.#state === 'downloading') {
      this.#trackers?.requestMore()
      for (const source of this.#sources) source.requestMore()
    }
  }

  // --- peers ---------------------------------------------------------------

  /** A new connection: what it says goes to the downloader, the uploader and the choker. */
  #handleConnection(pc: PeerConnection): void {
    wirePeer(pc, {
      swarm: this.#swarm,
      downloader: this.#downloader,
      uploader: this.#uploader,
      extensions: this.#extensions,
      transports: this.#transports,
      maxPendingRequestsPerPeer: this.#opts.maxPendingRequestsPerPeer,
      addPeers: (candidates) => this.addPeers(candidates),
      closeIfBothSeeds: (p) => this.#closeIfBothSeeds(p),
      rechoke: () => this.#rechoke(),
    })
  }

  #handlePeerReady(pc: PeerConnection): void {
    this.#downloader.addPeer(pc.key)
    pc.sendBitfield(this.#downloader.have)
    this.#extensions.handleReady(pc)
    this.#hashes?.handlePeer(pc)
    this.emit('peerConnected', pc.key)
  }

  #handlePeerClosed(pc: PeerConnection, reason: string, wasReady: boolean): void {
    this.#uploader.removePeer(pc)
    this.#extensions.handleClosed(pc)
    if (wasReady) this.#hashes?.handlePeerClosed(pc.key)
    if (wasReady) {
      this.#downloader.removePeer(pc.key)
      this.emit('peerDisconnected', pc.key, reason)
      this.#downloader.fillAll()
    } else {
      this.emit('peerFailed', pc.key, reason)
    }
    this.#maintainConnections()
  }

  #handlePeerFailed(key: string, reason: string, dialled: boolean): void {
    this.emit('peerFailed', key, reason)
    if (dialled) this.#maintainConnections()
  }

  /** Both sides have everything: the connection can carry nothing (BEP 3 clients drop these too). */
  #closeIfBothSeeds(pc: PeerConnection): boolean {
    if (this.#state !== 'seeding' || !pc.have.hasAll()) return false
    this.#swarm.markSeed(pc)
    pc.close('both sides are seeds')
    return true
  }

  /** Tit-for-tat: the choker picks who may download from us; the rest are choked. */
  #rechoke(): void {
    if (!this.#downloader.started || this.#stopping) return
    applyRechoke(this.#choker, this.#swarm.connections.values(), this.#uploader, this.#clock.now(), this.#state === 'seeding')
  }

  // --- pieces --------------------------------------------------------------

  #handlePieceVerified(index: number): void {
    this.emit('pieceVerified', index)
    if (this.#downloader.isComplete()) void this.#handleComplete()
  }

  #handlePieceFailed(index: number, contributors: string[]): void {
    this.emit('pieceFailed', index, contributors)
    const peers = this.#webSeeds?.handlePieceFailed(index, contributors) ?? contributors
    for (const key of peers) {
      const banned = this.#swarm.strike(key, index)
      if (banned) this.emit('peerBanned', banned.host, `${banned.strikes} pieces failed the hash check`)
    }
  }

  async #handleComplete(): Promise<void> {
    this.#setState('seeding')
    for (const pc of [...this.#swarm.connections.values()]) {
      pc.setInterested(false)
      this.#closeIfBothSeeds(pc)
    }
    try {
      await this.#storage.flush()
    } catch (err) {
      this.#failStorage(`cannot flush ${this.meta.name} to disk: ${errorMessage(err)}`, err)
      return
    }
    this.#trackers?.complete()
    // Nothing is left to fetch: web seeds close their idle connections.
    this.#webSeeds?.fill()
    this.emit('complete')
  }

  #handleTick(): void {
    this.#downloader.handleTick(this.#clock.now())
    this.#webSeeds?.handleTick(this.#clock.now())
    this.#hashes?.handleTick(this.#clock.now())
    this.#maintainConnections()
    this.#extensions.sendPex(this.#swarm.connections.values())
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

  #setState(state: TorrentState): void {
    if (this.#state === state) return
    this.#state = state
    if (state === 'seeding') this.#downloader.releaseBuffers()
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
    const failure = storageFailure(message, err, this.meta.name)
    this.#fail(failure.message, failure.kind)
  }
}
