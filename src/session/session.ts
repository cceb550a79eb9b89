// The session: the only owner of torrents, and the library's bookkeeping.
// It keeps the library (state store), adds and removes torrents, fetches
// magnets' metadata, pauses, resumes and rechecks, starts each running
// torrent from resume data when its files still match (no re-hash), saves
// resume data as pieces are verified and when torrents stop, and shares one
// listening port (forwarded by the router when port mapping is on), one DHT
// node, one LSD socket and one connect queue among them. Which
// torrents run (queue limits, seed limits, the wait for disk space) the
// scheduler decides; starting a torrent and wiring its events in is
// torrent-wiring.ts; hand-given peers and bans are peer-actions.ts. Views and
// the control channel see it through list() and its events.
import { rm } from 'node:fs/promises'
import pLimit, { type LimitFunction } from 'p-limit'
import { Bitfield } from '../core/bitfield.ts'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { ConnectionSlots } from '../core/connection-slots.ts'
import { newPeerId } from '../core/peer-id.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { TokenBucket } from '../core/token-bucket.ts'
import { transferBudgets } from '../core/memory-budget.ts'
import { errorMessage, FriendError, type PeerAddress } from '../core/types.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import { LsdService } from '../discovery/lsd.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { dataRoot, parseTorrentFile } from '../metainfo/metainfo.ts'
import { resolveInside } from '../metainfo/safe-path.ts'
import { MAX_TORRENT_BYTES, overTorrentLimit, torrentFileBytes } from '../metainfo/torrent-file.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import type { Torrent, TorrentErrorKind } from '../torrent/torrent.ts'
import { magnetTask, newRecord, type SharedParts } from './library-torrent.ts'
import { Listener } from './listener.ts'
import { PORT_MAPPING_OFF, PortMapper } from './port-mapping/port-mapper.ts'
import { saveResume } from './resume.ts'
import { Scheduler } from './scheduler.ts'
import type { MagnetFetch, SessionEvents, SessionOptions, SessionStatus, TorrentDetails, TorrentRecord, TorrentSummary } from './session-types.ts'
import { StateStore, type LibraryEntry } from './state-store.ts'
import { fetchSummary, runningTotals, torrentDetails, torrentSummary } from './summary.ts'
import { countOf, fileRows, withPriority, type FileRows } from './file-choices.ts'
import { DEFAULT_WINDOW, filesInFolder, type FilesWindow } from './file-page.ts'
import { startLibraryTorrent } from './torrent-wiring.ts'
import { PeerActions } from './peer-actions.ts'

export type { SessionEvents, SessionOptions, SessionStatus, SessionTorrentState, TorrentDetails, TorrentSummary } from './session-types.ts'

export class Session extends TypedEmitter<SessionEvents> {
  readonly #opts: SessionOptions
  readonly #store: StateStore
  readonly #listener: Listener
  readonly #records = new Map<string, TorrentRecord>()
  readonly #peerId = newPeerId()
  readonly #dialLimit: LimitFunction
  readonly #slots: ConnectionSlots | undefined
  readonly #clock: Clock
  #port = 0
  #dht: DhtNode | undefined
  #portMapper: PortMapper | undefined
  #lsd: LsdService | undefined
  readonly #fetching = new Map<string, MagnetFetch>()
  readonly #peers: PeerActions
  readonly #upload: TokenBucket
  readonly #download: TokenBucket
  readonly #budgets = transferBudgets() // piece memory, uploads in flight, read caches: one budget for all torrents
  #saveTimer: TimerHandle | undefined
  readonly #scheduler: Scheduler
  #closing: Promise<void> | undefined
  readonly #background = new Set<Promise<unknown>>() // torrents' event work not awaited where it began (torrent-wiring)

  private constructor(opts: SessionOptions, store: StateStore) {
    super()
    this.#opts = opts
    this.#store = store
    this.#clock = opts.clock ?? systemClock
    this.#dialLimit = pLimit(opts.maxHalfOpenConnections)
    this.#listener = new Listener(this.#clock, { utp: opts.utp, tcp: opts.tcp, encryption: opts.encryption })
    opts.encryption?.on('refused', (peer, reason) => this.emit('warning', `peer ${peer}: ${reason}`))
    this.#slots = opts.maxConnections ? new ConnectionSlots(opts.maxConnections) : undefined
    this.#upload = new TokenBucket(opts.uploadLimitBytesPerSec ?? 0, undefined, this.#clock)
    this.#download = new TokenBucket(opts.downloadLimitBytesPerSec ?? 0, undefined, this.#clock)
    this.#peers = new PeerActions(store, this.#records, this.#fetching)
    this.#scheduler = new Scheduler({
      ...opts,
      clock: this.#clock,
      store,
      records: () => this.#records.values(),
      startTorrent: (r) => this.#startTorrent(r),
      stopTorrent: (r) => this.#stopTorrent(r),
      setStored: (r, patch) => this.#setStored(r, patch),
      handleSeedLimit: (r, reason) => this.#handleSeedLimit(r, reason),
    })
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
    if (opts.portForwarding) {
      const mapper = new PortMapper({ internalPort: session.#port, clock: session.#clock })
      mapper.on('log', (line) => session.emit('portForwarding', line))
      mapper.on('warning', (line) => session.emit('warning', line))
      session.#portMapper = mapper
    }
    for (const entry of store.list()) {
      try {
        const meta = await parseTorrentFile(await store.torrentFile(entry.infoHash))
        session.#records.set(entry.infoHash, newRecord(entry, meta, session.#clock))
      } catch (err) {
        await store.update(entry.infoHash, { state: 'error', error: `its .torrent in the state folder is unreadable: ${errorMessage(err)}` })
      }
    }
    return session
  }

  /** Resumes the library: starts what the queue limits allow (subscribe to events before). */
  async start(): Promise<void> {
    this.#saveTimer ??= this.#clock.setInterval(() => void this.#saveAllResume(), this.#opts.resumeSaveIntervalMs ?? 30_000)
    this.#scheduler.start()
    if (this.#opts.lsd && !this.#lsd) {
      try {
        this.#lsd = await LsdService.open({ port: this.#port, clock: this.#clock })
      } catch (err) {
        this.emit('warning', `${errorMessage(err)}; going on without local peer discovery`)
      }
    }
    // In the background: a router that answers slowly or never delays nothing.
    this.#portMapper?.start()
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
    const fetching = [...this.#fetching.values()].map((f) => fetchSummary(f))
    return fetching.concat([...this.#records.values()].sort((a, b) => a.entry.queuePosition - b.entry.queuePosition).map((r) => torrentSummary(r)))
  }

  /** Peers given by hand for a torrent (40 hex digits): handed to it, or its metadata fetch, now and whenever it starts. */
  addPeers(infoHashHex: string, peers: PeerAddress[]): void {
    this.#peers.addPeers(infoHashHex, peers)
  }

  /** Banned peer addresses (the library's ban list, kept across restarts). */
  bans(): string[] {
    return this.#peers.bans()
  }

  /** Bans an IP address in every torrent (kept in the library, connections closed now): its stored form and how many closed. */
  ban(address: string): Promise<{ address: string; closed: number }> {
    return this.#peers.ban(address)
  }

  /** Lifts a ban in the library and in every running torrent; false when it was not banned. */
  unban(address: string): Promise<boolean> {
    return this.#peers.unban(address)
  }

  /** Closes one peer connection of a running torrent (it may come back: ban it to keep it away). */
  disconnectPeer(infoHash: string, peerKey: string): void {
    this.#peers.disconnectPeer(this.#get(infoHash), peerKey)
  }

  /** A magnet link: metadata fetched from peers (its trackers, x.pe, the DHT) while "fetching metadata", then a library torrent. */
  async addMagnet(link: MagnetLink, savePath: string): Promise<{ summary: TorrentSummary; added: boolean; note?: string }> {
    if (this.#records.has(link.infoHashHex)) return this.add(await this.#store.torrentFile(link.infoHashHex), savePath)
    const pending = this.#fetching.get(link.infoHashHex)
    if (pending) return { summary: fetchSummary(pending), added: false, note: `${link.name ?? link.infoHashHex} is already fetching its metadata` }
    const task = magnetTask(link, this.#shared())
    const fetch: MagnetFetch = { link, savePath, task, addedAtMs: Date.now() }
    this.#fetching.set(link.infoHashHex, fetch)
    task.on('metadata', (meta, peers) => {
      if (this.#fetching.get(link.infoHashHex) !== fetch) return
      this.#fetching.delete(link.infoHashHex)
      void task.stop().then(async () => {
        if (meta.infoHashHex !== link.infoHashHex) this.emit('infoHashChanged', link.infoHashHex, meta.infoHashHex)
        await this.add(torrentFileBytes(meta), savePath)
        this.#records.get(meta.infoHashHex)?.torrent?.addPeers(peers)
      })
    })
    task.on('error', (message) => {
      this.#fetching.delete(link.infoHashHex)
      void task.stop()
      this.emit('error', { ...fetchSummary(fetch), state: 'error', error: message })
    })
    task.start()
    const manual = this.#peers.manual(link.infoHashHex)
    if (manual) task.addPeers(manual)
    const summary = fetchSummary(fetch)
    this.emit('added', summary)
    return { summary, added: true }
  }

  /** Adds a torrent (or resumes it, with a note, when it is already in the library). */
  async add(torrentFile: Buffer, savePath: string, opts: { filePriorities?: FilePriority[] } = {}): Promise<{ summary: TorrentSummary; added: boolean; note?: string }> {
    if (torrentFile.length > MAX_TORRENT_BYTES) throw new FriendError(overTorrentLimit('the .torrent', torrentFile.length))
    const meta = await parseTorrentFile(torrentFile)
    if (opts.filePriorities && opts.filePriorities.length !== meta.files.length) throw new FriendError(`${meta.name} has ${meta.files.length} files, got ${opts.filePriorities.length} priorities`)
    const existing = this.#records.get(meta.infoHashHex)
    if (existing) {
      existing.addedHere = true
      if (existing.entry.state === 'paused' || existing.entry.state === 'error') await this.resume(meta.infoHashHex)
      else await this.#schedule()
      return { summary: torrentSummary(existing), added: false, note: `${meta.name} is already in the library; resumed it` }
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
    const record = newRecord(entry, meta, this.#clock)
    record.addedHere = true
    this.#records.set(meta.infoHashHex, record)
    this.emit('added', torrentSummary(record))
    await this.#schedule()
    return { summary: torrentSummary(record), added: true }
  }

  /** The torrent's files with their priorities. */
  files(infoHash: string): FileRows {
    const r = this.#get(infoHash)
    return fileRows(r.meta, r.entry.filePriorities)
  }

  /** Sets some files' priority (skip, low, normal, high), or every file's; kept in the library, applied at once when running. */
  async setFilePriority(infoHash: string, files: number[] | 'all' | { folder: string }, priority: FilePriority): Promise<{ name: string; files: number }> {
    const r = this.#get(infoHash)
    const which = Array.isArray(files) || files === 'all' ? files : filesInFolder(r.meta, files.folder)
    const priorities = withPriority(r.meta, r.entry.name, r.entry.filePriorities, which, priority)
    await this.#setStored(r, { filePriorities: priorities })
    await r.torrent?.setFilePriorities(priorities)
    return { name: r.entry.name, files: countOf(r.meta, which) }
  }

  async pause(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    await this.#hold(r, async () => {
      await this.#stopTorrent(r)
      await this.#setStored(r, { state: 'paused', error: undefined, forceStart: undefined })
    })
    await this.#schedule()
    return torrentSummary(r)
  }

  async resume(infoHash: string): Promise<TorrentSummary> {
    const r = this.#get(infoHash)
    if (r.entry.state === 'paused' || r.entry.state === 'error') await this.#setStored(r, { state: 'queued', error: undefined })
    await this.#schedule()
    return torrentSummary(r)
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
    return torrentSummary(r)
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
    return torrentSummary(r)
  }

  /** A detail view's all of one torrent: files, peers, trackers, limits, pieces (and peers per piece with `availability`). */
  async details(infoHash: string, opts: { availability?: boolean; files?: FilesWindow } = {}): Promise<TorrentDetails> {
    const r = this.#get(infoHash)
    const snap = r.torrent?.snapshot()
    let have = r.torrent?.verifiedPieces()
    if (!have && r.entry.state === 'seeding') have = Bitfield.full(r.meta.pieceCount)
    if (!have) {
      const resume = await this.#store.loadResume(r.entry.infoHash).catch(() => undefined)
      have = resume ? new Bitfield(r.meta.pieceCount, resume.bitfield) : new Bitfield(r.meta.pieceCount)
    }
    return torrentDetails(r, torrentSummary(r), have, opts.files ?? DEFAULT_WINDOW, snap, this.#clock.now(), r.torrent?.pieceStates(opts.availability === true))
  }

  /** Totals for a status bar: rates, limits, peers, DHT nodes, listen port. */
  status(): SessionStatus {
    return {
      port: this.#port,
      dhtNodes: this.dhtNodes,
      ...runningTotals(this.#records.values()),
      downloadLimitBytesPerSec: this.#download.rateBytesPerSec,
      uploadLimitBytesPerSec: this.#upload.rateBytesPerSec,
      torrents: this.#records.size + this.#fetching.size,
      portForwarding: this.#portMapper?.status() ?? PORT_MAPPING_OFF,
    }
  }

  /** Stops every torrent cleanly (trackers told, resume data saved) and closes the session. */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#saveTimer?.cancel()
    this.#scheduler.close()
    await Promise.allSettled([...this.#fetching.values()].map((f) => f.task.stop()))
    this.#fetching.clear()
    await this.#scheduler.settled()
    await Promise.allSettled([...this.#records.values()].map((r) => this.#stopTorrent(r)))
    while (this.#background.size > 0) await Promise.allSettled([...this.#background])
    await this.#portMapper?.close()
    await this.#lsd?.close()
    await this.#listener.close()
    await this.#dht?.stop()
    await this.#store.flush()
  }

  /** Starts what may run and stops what may not, in queue order (the scheduler decides). */
  #schedule(): Promise<void> {
    return this.#scheduler.run()
  }

  /** A seeding torrent reached its seed ratio or seed time: paused, with the reason. */
  async #handleSeedLimit(r: TorrentRecord, reason: string): Promise<void> {
    await this.pause(r.entry.infoHash)
    this.emit('seedLimit', torrentSummary(r), reason)
  }

  #startTorrent(r: TorrentRecord): Promise<void> {
    return startLibraryTorrent(r, {
      events: this, opts: this.#opts, clock: this.#clock, store: this.#store, listener: this.#listener,
      shared: () => this.#shared(),
      manualPeers: (infoHash) => this.#peers.manual(infoHash),
      setStored: (rec, patch) => this.#setStored(rec, patch),
      saveResume: (rec) => this.#saveResume(rec),
      stopTorrent: (rec) => this.#stopTorrent(rec),
      schedule: () => this.#schedule(),
      fail: (rec, message, kind) => this.#fail(rec, message, kind),
      background: (job) => {
        this.#background.add(job)
        void job.catch((err: unknown) => this.emit('warning', errorMessage(err))).finally(() => this.#background.delete(job))
      },
    })
  }

  async #stopTorrent(r: TorrentRecord, opts: { saveResume?: boolean } = {}): Promise<void> {
    const torrent = r.torrent
    if (!torrent) return
    r.torrent = undefined
    r.unregister?.()
    const snap = torrent.snapshot()
    await torrent.stop()
    r.baseUploaded += snap.uploadedBytes
    r.baseDownloaded += snap.downloadedBytes
    await this.#setStored(r, { uploadedBytes: r.baseUploaded, downloadedBytes: r.baseDownloaded, verifiedBytes: snap.verifiedBytes })
    // Resume data still true (no piece verified since it was saved or trusted) is not written again.
    if ((opts.saveResume ?? true) && snap.state !== 'checking' && r.dirty) await this.#saveResume(r, torrent)
  }

  // --- persistence ---------------------------------------------------------

  async #saveAllResume(): Promise<void> {
    for (const r of this.#records.values()) if (r.torrent && r.dirty) await this.#saveResume(r)
  }

  /** Resume data of the running torrent, or of `stopped` (just stopped, so flushed). */
  async #saveResume(r: TorrentRecord, stopped?: Torrent): Promise<void> {
    const torrent = stopped ?? r.torrent
    if (!torrent) return
    try {
      if (await saveResume(this.#store, r.meta, r.entry, torrent, !stopped)) r.dirty = false
    } catch (err) {
      // Resume data is a shortcut: without it the torrent is rechecked at the next start.
      this.emit('warning', `could not save resume data for ${r.entry.name}: ${errorMessage(err)}`)
    }
  }

  async #setStored(r: TorrentRecord, patch: Partial<LibraryEntry>): Promise<void> {
    Object.assign(r.entry, patch)
    if (this.#records.has(r.entry.infoHash)) await this.#store.update(r.entry.infoHash, patch)
  }

  async #fail(r: TorrentRecord, message: string, kind?: TorrentErrorKind): Promise<void> {
    r.waitsForSpace = kind === 'disk full'
    if (r.waitsForSpace) message = `${message}: free space in ${r.entry.savePath} and it resumes`
    await this.#hold(r, async () => {
      // Marked first: a schedule run while it stops must not start it again.
      const stored = this.#setStored(r, { state: 'error', error: message, waitsForSpace: r.waitsForSpace || undefined })
      await this.#stopTorrent(r).catch(() => {})
      await stored
    })
    this.emit('error', torrentSummary(r))
    await this.#schedule()
  }

  /**
   * Runs a stop and the state change that follows it with the scheduler kept
   * off this torrent: a schedule run in between (another torrent completing
   * or resumed) would otherwise start it again half-way through.
   */
  async #hold<T>(r: TorrentRecord, fn: () => Promise<T>): Promise<T> {
    r.holds++
    try {
      return await fn()
    } finally {
      r.holds--
    }
  }

  /** What this session's torrents and magnet fetches share. */
  #shared(): SharedParts {
    return {
      opts: this.#opts, store: this.#store, peerId: this.#peerId, port: this.#port, clock: this.#clock,
      dialLimit: this.#dialLimit, slots: this.#slots, dht: this.#dht, lsd: this.#lsd, upload: this.#upload, download: this.#download, budgets: this.#budgets,
      transports: this.#listener.transports,
      announcePort: this.#portMapper && (() => this.#portMapper!.announcePort),
    }
  }

  #get(infoHash: string): TorrentRecord {
    const key = infoHash.toLowerCase()
    const r = this.#records.get(key) ?? [...this.#records.values()].find((x) => x.entry.infoHash.startsWith(key) || x.entry.name === infoHash)
    if (!r) throw new FriendError(`no torrent "${infoHash}" in the library (give its info hash, a unique prefix of it, or its name)`)
    return r
  }
}
