// The session: the only owner of torrents. It keeps the library (state store),
// decides which torrents run (queue limits for downloads and seeds), starts
// each running torrent from resume data when its files still match (no
// re-hash), saves resume data as pieces are verified and when torrents stop,
// and shares one listening port, one DHT node and one connect queue among
// them. A torrent stopped by a full disk is put back in the queue once its
// disk has room. Views and the control channel see it through list() and its events.
import { rm, statfs } from 'node:fs/promises'
import pLimit from 'p-limit'
import type { LimitFunction } from 'p-limit'
import { Bitfield } from '../core/bitfield.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import { systemClock } from '../core/clock.ts'
import { ConnectionSlots } from '../core/connection-slots.ts'
import { newPeerId } from '../core/peer-id.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { LimiterChain, TokenBucket } from '../core/token-bucket.ts'
import { errorMessage, FriendError } from '../core/types.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import { DhtSource } from '../discovery/dht-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { dataRoot, parseTorrentFile } from '../metainfo/metainfo.ts'
import { resolveInside } from '../metainfo/safe-path.ts'
import { FileStorage } from '../storage/file-storage.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { torrentFileBytes } from '../metainfo/torrent-file.ts'
import { MetadataTask } from '../torrent/metadata-task.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import { Torrent } from '../torrent/torrent.ts'
import type { PeerSnapshot } from '../torrent/torrent.ts'
import type { TrackerStatus } from '../discovery/tracker-source.ts'
import { verifiedBytesPerFile } from '../metainfo/layout.ts'
import type { TorrentErrorKind } from '../torrent/torrent.ts'
import { Listener } from './listener.ts'
import { StateStore } from './state-store.ts'
import type { LibraryEntry, StoredState } from './state-store.ts'

/** Free space a torrent stopped by a full disk waits for (or for what it lacks, if less) before it resumes. */
const DISK_FULL_HEADROOM_BYTES = 4 * 1024 * 1024

export type SessionTorrentState = 'fetching metadata' | 'queued' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'error'

/** A magnet link whose metadata is being fetched: kept in memory until it arrives, then added to the library. */
interface Fetch {
  link: MagnetLink
  savePath: string
  task: MetadataTask
  addedAtMs: number
}

/** The stable shape of `friendtorrent list --json` (documented in the README). */
export interface TorrentSummary {
  infoHash: string
  name: string
  state: SessionTorrentState
  error: string | null
  savePath: string
  sizeBytes: number
  progress: number
  downloadRateBytesPerSec: number
  uploadRateBytesPerSec: number
  downloadedBytes: number
  uploadedBytes: number
  connectedPeers: number
  /** Peers we know of (connected or not). */
  knownPeers: number
  seeds: number
  etaSeconds: number | null
  queuePosition: number
  addedAt: string
  completedAt: string | null
}

/** The stable shape of the control channel's `details` reply (what the dashboard's detail view shows). */
export interface TorrentDetails {
  summary: TorrentSummary
  pieceCount: number
  pieceLength: number
  /** Verified pieces, BEP 3 bit order, base64. */
  piecesBase64: string
  files: { index: number; path: string; sizeBytes: number; priority: FilePriority; verifiedBytes: number }[]
  peers: PeerSnapshot[]
  trackers: TrackerStatus[]
  /** The session clock's now, for countdowns to the trackers' next announce. */
  nowMs: number
}

export interface SessionStatus {
  port: number
  dhtNodes: number
  downloadRateBytesPerSec: number
  uploadRateBytesPerSec: number
  /** 0 = none. */
  downloadLimitBytesPerSec: number
  uploadLimitBytesPerSec: number
  connectedPeers: number
  torrents: number
}

export interface SessionOptions {
  /** The state folder: library, .torrent files, resume data, DHT table, control socket. */
  stateDir: string
  listenPort: number
  /** Headless `seed` without --download runs complete torrents only; incomplete ones wait queued. */
  download: boolean
  maxActiveDownloads: number
  maxActiveSeeds: number
  maxConnectionsPerTorrent: number
  maxHalfOpenConnections: number
  /** Peer connections in all, across torrents and magnet fetches, incoming and outgoing (default: only the per-torrent limit). */
  maxConnections?: number
  /** Connections to one IP address per torrent (default: no limit). */
  maxConnectionsPerIp?: number
  /** Block requests queued per peer (BEP 10 reqq); see TorrentOptions. */
  maxPendingRequestsPerPeer?: number
  /** Bytes waiting in a peer's socket before we stop sending it blocks until it drains. */
  maxBufferedBytesPerPeer?: number
  /** Per peer: give up a dial after this long; snub a peer silent this long; ban an address after this many bad pieces. */
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  maxStrikes?: number
  /** Makes the session's DHT node on its listen port once that port is known, on the UDP socket it shares with uTP; none without. */
  startDht?: (port: number, udpSocket: object | undefined) => Promise<DhtNode | undefined>
  /** Transports for peer connections (config `utp`, `tcp`; both default true): uTP is tried first, TCP is the fallback. */
  utp?: boolean
  tcp?: boolean
  /** Session-wide limits in bytes/s (0 = none). */
  uploadLimitBytesPerSec?: number
  downloadLimitBytesPerSec?: number
  /** Seeding stops (the torrent is paused, with a note) at this upload ratio or after this long; 0 = never. */
  seedRatioLimit?: number
  seedTimeLimitMs?: number
  /** How often resume data of running torrents is saved. */
  resumeSaveIntervalMs?: number
  /** How often a torrent stopped by a full disk looks for free space to resume on its own (default 30 s). */
  diskFullRetryMs?: number
  clock?: Clock
}

export interface SessionEvents {
  added: [summary: TorrentSummary]
  removed: [infoHash: string, name: string]
  state: [summary: TorrentSummary]
  completed: [summary: TorrentSummary]
  error: [summary: TorrentSummary]
  trackerError: [name: string, info: { url: string; message: string; retryAtMs: number }]
  /** Something went wrong that costs time, not data (e.g. resume data not saved). */
  warning: [message: string]
  /** A torrent started from resume data: `trusted` pieces taken as verified, `rechecked` hashed again. */
  resumed: [summary: TorrentSummary, trusted: number, rechecked: number]
  /** A torrent reached its seed ratio or seed time and was paused; `reason` says which. */
  seedLimit: [summary: TorrentSummary, reason: string]
}

interface Record_ {
  entry: LibraryEntry
  /** This torrent's own limits (0 = none), chained after the session's. */
  upload: TokenBucket
  download: TokenBucket
  meta: Metainfo
  torrent?: Torrent
  unregister?: () => void
  /** Verified pieces changed since resume data was last saved. */
  dirty: boolean
  /** When this run started seeding (for the seed-time limit). */
  seedingSinceMs?: number
  /** Checked in a session that does not download, and found incomplete: it waits. */
  waitsForDownload?: boolean
  /** Stopped by a full disk: it resumes on its own once its save folder has room again. */
  waitsForSpace?: boolean
  /** Pauses, removals, rechecks or failures stopping it now: the scheduler leaves it alone until they end. */
  holds: number
  /** Totals carried over from earlier runs (the running torrent counts from 0). */
  baseUploaded: number
  baseDownloaded: number
}

export class Session extends TypedEmitter<SessionEvents> {
  readonly #opts: SessionOptions
  readonly #store: StateStore
  readonly #listener: Listener
  readonly #records = new Map<string, Record_>()
  readonly #peerId = newPeerId()
  readonly #dialLimit: LimitFunction
  readonly #slots: ConnectionSlots | undefined
  readonly #clock: Clock
  #port = 0
  #dht: DhtNode | undefined
  readonly #fetching = new Map<string, Fetch>()
  readonly #upload: TokenBucket
  readonly #download: TokenBucket
  #saveTimer: TimerHandle | undefined
  #limitTimer: TimerHandle | undefined
  #spaceTimer: TimerHandle | undefined
  #closing: Promise<void> | undefined
  /** Serialises schedule runs: starting and stopping torrents is async. */
  #scheduling: Promise<void> = Promise.resolve()

  private constructor(opts: SessionOptions, store: StateStore) {
    super()
    this.#opts = opts
    this.#store = store
    this.#clock = opts.clock ?? systemClock
    this.#listener = new Listener(this.#clock, { utp: opts.utp, tcp: opts.tcp })
    this.#dialLimit = pLimit(opts.maxHalfOpenConnections)
    this.#slots = opts.maxConnections ? new ConnectionSlots(opts.maxConnections) : undefined
    this.#upload = new TokenBucket(opts.uploadLimitBytesPerSec ?? 0, undefined, this.#clock)
    this.#download = new TokenBucket(opts.downloadLimitBytesPerSec ?? 0, undefined, this.#clock)
  }

  /** Changes rate limits now: the session's, or one torrent's when `infoHash` is given. Bytes/s; 0 = none; undefined leaves it. */
  setLimits(limits: { uploadBytesPerSec?: number; downloadBytesPerSec?: number }, infoHash?: string): { uploadBytesPerSec: number; downloadBytesPerSec: number } {
    const r = infoHash === undefined ? undefined : this.#get(infoHash)
    const up = r ? r.upload : this.#upload
    const down = r ? r.download : this.#download
    if (limits.uploadBytesPerSec !== undefined) up.setRate(limits.uploadBytesPerSec)
    if (limits.downloadBytesPerSec !== undefined) down.setRate(limits.downloadBytesPerSec)
    return { uploadBytesPerSec: up.rateBytesPerSec, downloadBytesPerSec: down.rateBytesPerSec }
  }

  /** Opens the state folder, listens for peers and loads the library; `start()` then runs it. */
  static async open(opts: SessionOptions): Promise<Session> {
    const store = await StateStore.open(opts.stateDir)
    const session = new Session(opts, store)
    try {
      session.#port = await session.#listener.listen(opts.listenPort).catch(() => session.#listener.listen(0))
    } catch (err) {
      throw new FriendError(`cannot listen for peers: ${errorMessage(err)}`)
    }
    session.#dht = await opts.startDht?.(session.#port, session.#listener.dhtSocket())
    for (const entry of store.list()) {
      try {
        const meta = await parseTorrentFile(await store.torrentFile(entry.infoHash))
        session.#records.set(entry.infoHash, session.#record(entry, meta))
      } catch (err) {
        await store.update(entry.infoHash, { state: 'error', error: `its .torrent in the state folder is unreadable: ${errorMessage(err)}` })
      }
    }
    return session
  }

  /** Resumes the library: starts what the queue limits allow (subscribe to events before). */
  async start(): Promise<void> {
    this.#saveTimer ??= this.#clock.setInterval(() => void this.#saveAllResume(), this.#opts.resumeSaveIntervalMs ?? 30_000)
    this.#limitTimer ??= this.#clock.setInterval(() => void this.#checkSeedLimits(), 5_000)
    this.#spaceTimer ??= this.#clock.setInterval(() => void this.#retryDiskFull(), this.#opts.diskFullRetryMs ?? 30_000)
    await this.#schedule()
  }

  get port(): number {
    return this.#port
  }

  get dhtNodes(): number {
    return this.#dht?.nodeCount ?? 0
  }

  get stateDir(): string {
    return this.#opts.stateDir
  }

  list(): TorrentSummary[] {
    const fetching = [...this.#fetching.values()].map((f) => this.#fetchSummary(f))
    return fetching.concat([...this.#records.values()].sort((a, b) => a.entry.queuePosition - b.entry.queuePosition).map((r) => this.#summary(r)))
  }

  /**
   * Adds a magnet link: the metadata is fetched from peers (the link's
   * trackers and x.pe, the DHT) while the torrent shows as "fetching
   * metadata"; once verified it joins the library like any .torrent.
   */
  async addMagnet(link: MagnetLink, savePath: string): Promise<{ summary: TorrentSummary; added: boolean; note?: string }> {
    if (this.#records.has(link.infoHashHex)) return this.add(await this.#store.torrentFile(link.infoHashHex), savePath)
    const pending = this.#fetching.get(link.infoHashHex)
    if (pending) return { summary: this.#fetchSummary(pending), added: false, note: `${link.name ?? link.infoHashHex} is already fetching its metadata` }
    const dht = this.#dht
    const task = new MetadataTask({
      link,
      peerId: this.#peerId,
      listenPort: this.#port,
      dialLimit: this.#dialLimit,
      connectionSlots: this.#slots,
      clock: this.#clock,
      transports: this.#listener.transports,
      sources: dht ? [new DhtSource({ node: dht, infoHash: link.infoHash, port: this.#port, private: false, announce: false })] : [],
    })
    const fetch: Fetch = { link, savePath, task, addedAtMs: Date.now() }
    this.#fetching.set(link.infoHashHex, fetch)
    task.on('metadata', (meta, peers) => {
      if (this.#fetching.get(link.infoHashHex) !== fetch) return
      this.#fetching.delete(link.infoHashHex)
      void task.stop().then(async () => {
        await this.add(torrentFileBytes(meta), savePath)
        this.#records.get(meta.infoHashHex)?.torrent?.addPeers(peers)
      })
    })
    task.on('error', (message) => {
      this.#fetching.delete(link.infoHashHex)
      void task.stop()
      this.emit('warning', `${link.name ?? link.infoHashHex}: ${message}`)
    })
    task.start()
    const summary = this.#fetchSummary(fetch)
    this.emit('added', summary)
    return { summary, added: true }
  }

  #fetchSummary(f: Fetch): TorrentSummary {
    return {
      infoHash: f.link.infoHashHex,
      name: f.link.name ?? f.link.infoHashHex,
      state: 'fetching metadata',
      error: null,
      savePath: f.savePath,
      sizeBytes: 0,
      progress: 0,
      downloadRateBytesPerSec: 0,
      uploadRateBytesPerSec: 0,
      downloadedBytes: 0,
      uploadedBytes: 0,
      connectedPeers: f.task.connectedPeers,
      knownPeers: f.task.connectedPeers,
      seeds: 0,
      etaSeconds: null,
      queuePosition: -1,
      addedAt: new Date(f.addedAtMs).toISOString(),
      completedAt: null,
    }
  }

  /** Adds a torrent (or resumes it, with a note, when it is already in the library). */
  async add(torrentFile: Buffer, savePath: string, opts: { filePriorities?: FilePriority[] } = {}): Promise<{ summary: TorrentSummary; added: boolean; note?: string }> {
    const meta = await parseTorrentFile(torrentFile)
    if (opts.filePriorities && opts.filePriorities.length !== meta.files.length) throw new FriendError(`${meta.name} has ${meta.files.length} files, got ${opts.filePriorities.length} priorities`)
    const existing = this.#records.get(meta.infoHashHex)
    if (existing) {
      if (existing.entry.state === 'paused' || existing.entry.state === 'error') await this.resume(meta.infoHashHex)
      return { summary: this.#summary(existing), added: false, note: `${meta.name} is already in the library; resumed it` }
    }
    const entry: LibraryEntry = {
      infoHash: meta.infoHashHex,
      name: meta.name,
      savePath,
      state: 'queued',
      uploadedBytes: 0,
      downloadedBytes: 0,
      addedAtMs: Date.now(),
      queuePosition: this.#records.size === 0 ? 0 : Math.max(...[...this.#records.values()].map((r) => r.entry.queuePosition)) + 1,
      ...(opts.filePriorities && { filePriorities: [...opts.filePriorities] }),
    }
    await this.#store.add(entry, torrentFile)
    const record = this.#record(entry, meta)
    this.#records.set(meta.infoHashHex, record)
    this.emit('added', this.#summary(record))
    await this.#schedule()
    return { summary: this.#summary(record), added: true }
  }

  /** The torrent's files with their priorities. */
  files(infoHash: string): { index: number; path: string; sizeBytes: number; priority: FilePriority }[] {
    const r = this.#get(infoHash)
    return r.meta.files
      .map((f, index) => ({ index, padding: f.padding, path: f.path.join('/'), sizeBytes: f.length, priority: r.entry.filePriorities?.[index] ?? ('normal' as FilePriority) }))
      .filter((f) => !f.padding)
      .map(({ padding: _padding, ...f }) => f)
  }

  /** Sets some files' priority (skip, low, normal, high); kept in the library, applied at once when running. */
  async setFilePriority(infoHash: string, fileIndexes: number[], priority: FilePriority): Promise<void> {
    const r = this.#get(infoHash)
    const count = r.meta.files.length
    const bad = fileIndexes.find((i) => !Number.isInteger(i) || i < 0 || i >= count)
    if (bad !== undefined) throw new FriendError(`${r.entry.name} has files 0 to ${count - 1}, not ${bad}`)
    const priorities = r.entry.filePriorities ? [...r.entry.filePriorities] : Array<FilePriority>(count).fill('normal')
    for (const i of fileIndexes) priorities[i] = priority
    await this.#setStored(r, { filePriorities: priorities })
    await r.torrent?.setFilePriorities(priorities)
  }

  async pause(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    await this.#hold(r, async () => {
      await this.#stopTorrent(r)
      await this.#setStored(r, { state: 'paused', error: undefined, forceStart: undefined })
    })
    await this.#schedule()
    return this.#summary(r)
  }

  async resume(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    if (r.entry.state === 'paused' || r.entry.state === 'error') await this.#setStored(r, { state: 'queued', error: undefined })
    await this.#schedule()
    return this.#summary(r)
  }

  /** Full recheck: forgets the resume data and hashes every piece again. */
  async verify(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    const wasPaused = r.entry.state === 'paused'
    await this.#hold(r, async () => {
      await this.#stopTorrent(r, { saveResume: false })
      await this.#store.clearResume(r.entry.infoHash)
      if (!wasPaused) await this.#setStored(r, { state: 'queued', error: undefined })
    })
    await this.#schedule()
    return this.#summary(r)
  }

  async remove(infoHash: string, deleteData: boolean): Promise<void> {
    const fetch = [...this.#fetching.values()].find((f) => f.link.infoHashHex.startsWith(infoHash.toLowerCase()) || f.link.name === infoHash)
    if (fetch) {
      // Nothing is on disk yet: stopping the fetch is all there is to remove.
      this.#fetching.delete(fetch.link.infoHashHex)
      await fetch.task.stop()
      this.emit('removed', fetch.link.infoHashHex, fetch.link.name ?? fetch.link.infoHashHex)
      return
    }
    const r = this.#get(infoHash)
    await this.#hold(r, async () => {
      await this.#stopTorrent(r, { saveResume: false })
      this.#records.delete(r.entry.infoHash)
    })
    await this.#store.remove(r.entry.infoHash)
    if (deleteData) {
      // Only the torrent's own file or folder, always inside the save path.
      await rm(resolveInside(r.entry.savePath, dataRoot(r.meta)), { recursive: true, force: true })
    }
    this.emit('removed', r.entry.infoHash, r.entry.name)
    await this.#schedule()
  }

  /** Moves a torrent one place up (toward the front) or down the queue. */
  async move(infoHash: string, direction: 'up' | 'down'): Promise<TorrentSummary[]> {
    const ordered = [...this.#records.values()].sort((a, b) => a.entry.queuePosition - b.entry.queuePosition)
    const i = ordered.findIndex((r) => r.entry.infoHash === this.#get(infoHash).entry.infoHash)
    const j = direction === 'up' ? i - 1 : i + 1
    if (j >= 0 && j < ordered.length) {
      const a = ordered[i].entry.queuePosition
      await this.#setStored(ordered[i], { queuePosition: ordered[j].entry.queuePosition })
      await this.#setStored(ordered[j], { queuePosition: a })
      await this.#schedule()
    }
    return this.list()
  }

  /** Runs the torrent now, whatever the queue limits say (until it is paused). */
  async startNow(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    const patch: Partial<LibraryEntry> = { forceStart: true }
    if (r.entry.state === 'paused' || r.entry.state === 'error') Object.assign(patch, { state: 'queued', error: undefined })
    await this.#setStored(r, patch)
    await this.#schedule()
    return this.#summary(r)
  }

  /** Everything a detail view shows of one torrent: files with progress, peers, trackers and the verified-piece map. */
  async details(infoHash: string): Promise<TorrentDetails> {
    const r = this.#get(infoHash)
    const snap = r.torrent?.snapshot()
    let have = r.torrent?.verifiedPieces()
    if (!have && r.entry.state === 'seeding') have = Bitfield.full(r.meta.pieceCount)
    if (!have) {
      const resume = await this.#store.loadResume(r.entry.infoHash).catch(() => undefined)
      have = resume ? new Bitfield(r.meta.pieceCount, resume.bitfield) : new Bitfield(r.meta.pieceCount)
    }
    const pieces = have
    const verified = verifiedBytesPerFile(r.meta.files, r.meta.pieceLength, (i) => pieces.get(i))
    return {
      summary: this.#summary(r),
      pieceCount: r.meta.pieceCount,
      pieceLength: r.meta.pieceLength,
      piecesBase64: pieces.toBuffer().toString('base64'),
      files: this.files(infoHash).map((f) => ({ ...f, verifiedBytes: verified[f.index] })),
      peers: snap?.peers ?? [],
      trackers: snap?.trackers ?? r.meta.announce.flatMap((tier, i) => tier.map((url) => ({ url, tier: i, state: 'idle' as const, failures: 0, peersReceived: 0 }))),
      nowMs: this.#clock.now(),
    }
  }

  /** Totals for a status bar: rates, limits, peers, DHT nodes, listen port. */
  status(): SessionStatus {
    let down = 0
    let up = 0
    let peers = 0
    for (const r of this.#records.values()) {
      const snap = r.torrent?.snapshot()
      if (!snap) continue
      down += snap.downloadRate
      up += snap.uploadRate
      peers += snap.connectedPeers
    }
    return {
      port: this.#port,
      dhtNodes: this.dhtNodes,
      downloadRateBytesPerSec: down,
      uploadRateBytesPerSec: up,
      downloadLimitBytesPerSec: this.#download.rateBytesPerSec,
      uploadLimitBytesPerSec: this.#upload.rateBytesPerSec,
      connectedPeers: peers,
      torrents: this.#records.size + this.#fetching.size,
    }
  }

  /** Stops every torrent cleanly (trackers told, resume data saved) and closes the session. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#saveTimer?.cancel()
    this.#limitTimer?.cancel()
    this.#spaceTimer?.cancel()
    await Promise.allSettled([...this.#fetching.values()].map((f) => f.task.stop()))
    this.#fetching.clear()
    await this.#scheduling.catch(() => {})
    await Promise.allSettled([...this.#records.values()].map((r) => this.#stopTorrent(r)))
    await this.#listener.close()
    await this.#dht?.stop()
    await this.#store.flush()
  }

  // --- scheduling ----------------------------------------------------------

  /** Starts what may run and stops what may not, in queue order. */
  #schedule(): Promise<void> {
    const run = this.#scheduling.then(() => this.#scheduleNow())
    this.#scheduling = run.catch(() => {})
    return run
  }

  async #scheduleNow(): Promise<void> {
    if (this.#closing) return
    let downloads = 0
    let seeds = 0
    const ordered = [...this.#records.values()].sort((a, b) => a.entry.queuePosition - b.entry.queuePosition)
    for (const r of ordered) {
      if (r.holds > 0 || r.entry.state === 'paused' || r.entry.state === 'error') continue
      const complete = r.entry.state === 'seeding'
      if (r.entry.forceStart) {
        if (!r.torrent) await this.#startTorrent(r)
        continue
      }
      // Without --download an unknown torrent still runs once: the check tells whether it can seed.
      const mayDownload = this.#opts.download || !r.waitsForDownload
      const mayRun = complete ? seeds < this.#opts.maxActiveSeeds : mayDownload && downloads < this.#opts.maxActiveDownloads
      if (mayRun) {
        if (complete) seeds++
        else downloads++
        if (!r.torrent) await this.#startTorrent(r)
      } else if (r.torrent) {
        await this.#stopTorrent(r)
        await this.#setStored(r, { state: complete ? 'seeding' : 'queued' })
      }
    }
  }

  async #startTorrent(r: Record_): Promise<void> {
    const { meta, entry } = r
    let storage: FileStorage
    try {
      storage = await FileStorage.open(meta, entry.savePath, { skip: entry.filePriorities?.map((p) => p === 'skip') })
    } catch (err) {
      // Not awaited: this runs inside a schedule run, and #fail schedules again after it.
      void this.#fail(r, `cannot open its files in ${entry.savePath}: ${errorMessage(err)}`)
      return
    }
    const { have, recheck } = await this.#resumeState(r)
    const dht = this.#dht
    const torrent = new Torrent({
      meta,
      storage,
      peerId: this.#peerId,
      listenPort: this.#port,
      clock: this.#clock,
      dialLimit: this.#dialLimit,
      maxConnections: this.#opts.maxConnectionsPerTorrent,
      connectionSlots: this.#slots,
      maxConnectionsPerIp: this.#opts.maxConnectionsPerIp,
      maxPendingRequestsPerPeer: this.#opts.maxPendingRequestsPerPeer,
      maxBufferedBytesPerPeer: this.#opts.maxBufferedBytesPerPeer,
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      transports: this.#listener.transports,
      requestTimeoutMs: this.#opts.requestTimeoutMs,
      maxStrikes: this.#opts.maxStrikes,
      have,
      recheck,
      filePriorities: entry.filePriorities,
      uploadLimiter: new LimiterChain(this.#upload, r.upload),
      downloadLimiter: new LimiterChain(this.#download, r.download),
      sources: dht && !meta.private ? [new DhtSource({ node: dht, infoHash: meta.infoHash, port: this.#port, private: false, announce: true })] : [],
    })
    r.torrent = torrent
    r.unregister = this.#listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
    torrent.on('pieceVerified', () => (r.dirty = true))
    torrent.on('state', (state) => {
      this.emit('state', this.#summary(r))
      if (state === 'downloading' && !this.#opts.download) {
        r.waitsForDownload = true
        void this.#stopTorrent(r).then(() => this.#setStored(r, { state: 'queued' }))
      }
    })
    torrent.on('trackerError', (info) => this.emit('trackerError', entry.name, info))
    torrent.on('complete', () => {
      r.dirty = true
      const firstTime = entry.state !== 'seeding'
      void this.#setStored(r, { state: 'seeding', completedAtMs: entry.completedAtMs ?? Date.now() }).then(async () => {
        await this.#saveResume(r)
        if (firstTime) this.emit('completed', this.#summary(r))
        await this.#schedule()
      })
    })
    // A torrent already let go of (paused, removed, restarted) may still report its
    // closing (e.g. "storage is closed"): that is not this entry's error.
    torrent.on('error', (message, kind) => {
      if (r.torrent === torrent) void this.#fail(r, message, kind)
    })
    if (entry.state !== 'seeding') await this.#setStored(r, { state: 'downloading' })
    await torrent.start()
    if (have) this.emit('resumed', this.#summary(r), have.count() - (recheck ? countAnd(have, recheck) : 0), recheck?.count() ?? 0)
  }

  async #stopTorrent(r: Record_, opts: { saveResume?: boolean } = {}): Promise<void> {
    const torrent = r.torrent
    if (!torrent) return
    r.torrent = undefined
    r.unregister?.()
    const snap = torrent.snapshot()
    await torrent.stop()
    r.baseUploaded += snap.uploadedBytes
    r.baseDownloaded += snap.downloadedBytes
    await this.#setStored(r, { uploadedBytes: r.baseUploaded, downloadedBytes: r.baseDownloaded, verifiedBytes: snap.verifiedBytes })
    if ((opts.saveResume ?? true) && snap.state !== 'checking') await this.#saveResume(r, torrent)
  }

  /** Pauses seeding torrents that reached the seed ratio or seed time. */
  async #checkSeedLimits(): Promise<void> {
    const { seedRatioLimit = 0, seedTimeLimitMs = 0 } = this.#opts
    if (seedRatioLimit <= 0 && seedTimeLimitMs <= 0) return
    const now = this.#clock.now()
    for (const r of this.#records.values()) {
      if (!r.torrent || r.torrent.state !== 'seeding') {
        r.seedingSinceMs = undefined
        continue
      }
      r.seedingSinceMs ??= now
      const s = this.#summary(r)
      const ratio = s.sizeBytes > 0 ? s.uploadedBytes / s.sizeBytes : 0
      const reason =
        seedRatioLimit > 0 && ratio >= seedRatioLimit
          ? `reached the seed ratio ${seedRatioLimit} (uploaded ${ratio.toFixed(2)}× its size)`
          : seedTimeLimitMs > 0 && now - r.seedingSinceMs >= seedTimeLimitMs
            ? `seeded for ${Math.round(seedTimeLimitMs / 60_000)} min, the seed-time limit`
            : undefined
      if (!reason) continue
      await this.pause(r.entry.infoHash)
      this.emit('seedLimit', this.#summary(r), reason)
    }
  }

  /**
   * Torrents stopped by a full disk go back to the queue once their save
   * folder has room for what they still lack, or for a few pieces of it
   * (DISK_FULL_HEADROOM): room for just one would stop them again at once,
   * with many pieces on their way to disk. Their verified pieces come back
   * from the resume data saved when they stopped.
   */
  async #retryDiskFull(): Promise<void> {
    let resumed = false
    for (const r of this.#records.values()) {
      if (!r.waitsForSpace || r.entry.state !== 'error' || this.#closing) continue
      let freeBytes: number
      try {
        const st = await statfs(r.entry.savePath)
        freeBytes = st.bavail * st.bsize
      } catch {
        continue // the folder is unreachable for now: no space to be had there either
      }
      const resume = await this.#store.loadResume(r.entry.infoHash)
      const verified = resume ? new Bitfield(r.meta.pieceCount, resume.bitfield).count() : 0
      const leftBytes = Math.max(r.meta.pieceLength, r.meta.length - verified * r.meta.pieceLength)
      const needBytes = Math.min(leftBytes, Math.max(4 * r.meta.pieceLength, DISK_FULL_HEADROOM_BYTES))
      if (freeBytes < needBytes || !r.waitsForSpace || r.entry.state !== 'error') continue
      r.waitsForSpace = false
      await this.#setStored(r, { state: 'queued', error: undefined, waitsForSpace: undefined })
      resumed = true
    }
    if (resumed) await this.#schedule()
  }

  // --- persistence ---------------------------------------------------------

  /**
   * What resume data still vouches for: a file whose size and mtime are as
   * saved is unchanged, so its pieces' saved bits stand; pieces touching any
   * other file are hashed again. (We mark a piece verified only once its bytes
   * are on disk, so a crash never leaves a saved bit over unwritten data.)
   */
  async #resumeState(r: Record_): Promise<{ have?: Bitfield; recheck?: Bitfield }> {
    const { meta, entry } = r
    const resume = await this.#store.loadResume(entry.infoHash)
    const unchanged = resume && (await StateStore.unchangedFiles(resume, meta, entry.savePath))
    if (!resume || !unchanged) return {}
    const have = new Bitfield(meta.pieceCount, resume.bitfield)
    const recheck = new Bitfield(meta.pieceCount)
    meta.files.forEach((file, i) => {
      if (unchanged[i] || file.length === 0) return
      const first = Math.floor(file.offset / meta.pieceLength)
      const last = Math.floor((file.offset + file.length - 1) / meta.pieceLength)
      for (let p = first; p <= last; p++) recheck.set(p)
    })
    return { have, recheck: recheck.hasNone() ? undefined : recheck }
  }

  async #saveAllResume(): Promise<void> {
    for (const r of this.#records.values()) if (r.torrent && r.dirty) await this.#saveResume(r)
  }

  /** Verified pieces plus the files' sizes and mtimes right after a flush, so a match later means "nothing changed". */
  async #saveResume(r: Record_, stopped?: Torrent): Promise<void> {
    const torrent = stopped ?? r.torrent
    const bitfield = torrent?.verifiedPieces()
    if (!torrent || !bitfield) return
    try {
      if (!stopped) await torrent.flush()
      const files = await StateStore.diskFiles(r.meta, r.entry.savePath)
      await this.#store.saveResume({ infoHash: r.entry.infoHash, pieceCount: r.meta.pieceCount, bitfield: bitfield.toBuffer(), files })
      r.dirty = false
    } catch (err) {
      // Resume data is a shortcut: without it the torrent is rechecked at the next start.
      this.emit('warning', `could not save resume data for ${r.entry.name}: ${errorMessage(err)}`)
    }
  }

  async #setStored(r: Record_, patch: Partial<LibraryEntry>): Promise<void> {
    Object.assign(r.entry, patch)
    if (this.#records.has(r.entry.infoHash)) await this.#store.update(r.entry.infoHash, patch)
  }

  async #fail(r: Record_, message: string, kind?: TorrentErrorKind): Promise<void> {
    r.waitsForSpace = kind === 'disk full'
    if (r.waitsForSpace) message = `${message}: free space in ${r.entry.savePath} and it resumes`
    await this.#hold(r, async () => {
      // Marked first: a schedule run while it stops must not start it again.
      const stored = this.#setStored(r, { state: 'error', error: message, waitsForSpace: r.waitsForSpace || undefined })
      await this.#stopTorrent(r).catch(() => {})
      await stored
    })
    this.emit('error', this.#summary(r))
    await this.#schedule()
  }

  /**
   * Runs a stop and the state change that follows it with the scheduler kept
   * off this torrent: a schedule run in between (another torrent completing
   * or resumed) would otherwise start it again half-way through.
   */
  async #hold<T>(r: Record_, fn: () => Promise<T>): Promise<T> {
    r.holds++
    try {
      return await fn()
    } finally {
      r.holds--
    }
  }

  #record(entry: LibraryEntry, meta: Metainfo): Record_ {
    return {
      entry,
      meta,
      upload: new TokenBucket(0, undefined, this.#clock),
      download: new TokenBucket(0, undefined, this.#clock),
      dirty: false,
      holds: 0,
      waitsForSpace: entry.state === 'error' && entry.waitsForSpace === true,
      baseUploaded: entry.uploadedBytes,
      baseDownloaded: entry.downloadedBytes,
    }
  }

  #get(infoHash: string): Record_ {
    const key = infoHash.toLowerCase()
    const r = this.#records.get(key) ?? [...this.#records.values()].find((x) => x.entry.infoHash.startsWith(key) || x.entry.name === infoHash)
    if (!r) throw new FriendError(`no torrent "${infoHash}" in the library (give its info hash, a unique prefix of it, or its name)`)
    return r
  }

  #summary(r: Record_): TorrentSummary {
    const snap = r.torrent?.snapshot()
    const stored: StoredState = r.entry.state
    let state: SessionTorrentState = stored
    if (snap?.state === 'checking') state = 'checking'
    else if (snap?.state === 'downloading') state = 'downloading'
    else if (snap?.state === 'seeding') state = 'seeding'
    return {
      infoHash: r.entry.infoHash,
      name: r.entry.name,
      state,
      error: r.entry.error ?? null,
      savePath: r.entry.savePath,
      sizeBytes: r.meta.length,
      progress: snap ? snap.progress : stored === 'seeding' ? 1 : r.meta.length ? (r.entry.verifiedBytes ?? 0) / r.meta.length : 0,
      downloadRateBytesPerSec: snap?.downloadRate ?? 0,
      uploadRateBytesPerSec: snap?.uploadRate ?? 0,
      downloadedBytes: r.baseDownloaded + (snap?.downloadedBytes ?? 0),
      uploadedBytes: r.baseUploaded + (snap?.uploadedBytes ?? 0),
      connectedPeers: snap?.connectedPeers ?? 0,
      knownPeers: snap?.knownPeers ?? 0,
      seeds: snap?.seeds ?? 0,
      etaSeconds: snap?.etaSeconds ?? null,
      queuePosition: r.entry.queuePosition,
      addedAt: new Date(r.entry.addedAtMs).toISOString(),
      completedAt: r.entry.completedAtMs ? new Date(r.entry.completedAtMs).toISOString() : null,
    }
  }
}

/** Bits set in both. */
function countAnd(a: Bitfield, b: Bitfield): number {
  let n = 0
  for (let i = 0; i < a.length; i++) if (a.get(i) && b.get(i)) n++
  return n
}
