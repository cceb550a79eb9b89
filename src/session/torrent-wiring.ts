// Starting one library torrent and wiring it into the session: its files
// opened, the Torrent built from its resume data, its info hashes registered
// with the shared listener, its events forwarded as the session's events and
// turned into library state (seeding since, completed, waiting to download,
// failed), its hand-given peers handed over, and the start run in the
// background. The session's bookkeeping stays with the session: this module
// reaches it only through the WiringHost it is given.
import type { Clock } from '../core/clock.ts'
import type { TypedEmitter } from '../core/typed-emitter.ts'
import { errorMessage } from '../core/types.ts'
import type { PeerCandidate } from '../core/types.ts'
import { FileStorage } from '../storage/file-storage.ts'
import type { TorrentErrorKind } from '../torrent/torrent.ts'
import { libraryTorrent, storePieceLayers } from './library-torrent.ts'
import type { SharedParts } from './library-torrent.ts'
import type { IncomingHandler, Listener } from './listener.ts'
import type { SessionEvents, SessionOptions, TorrentRecord } from './session-types.ts'
import type { LibraryEntry, StateStore } from './state-store.ts'
import { torrentSummary } from './summary.ts'

/** What a started torrent needs of its session. */
export interface WiringHost {
  events: TypedEmitter<SessionEvents>
  opts: SessionOptions
  clock: Clock
  store: StateStore
  listener: Listener
  shared(): SharedParts
  manualPeers(infoHash: string): PeerCandidate[] | undefined
  setStored(r: TorrentRecord, patch: Partial<LibraryEntry>): Promise<void>
  saveResume(r: TorrentRecord): Promise<void>
  stopTorrent(r: TorrentRecord): Promise<void>
  schedule(): Promise<void>
  fail(r: TorrentRecord, message: string, kind?: TorrentErrorKind): Promise<void>
  /** Work started by a torrent's event and not awaited there: the session's close waits for it before its last write. */
  background(job: Promise<unknown>): void
}

/** Opens the record's files, builds its Torrent, wires it into the session and starts it (the start itself not awaited). */
export async function startLibraryTorrent(r: TorrentRecord, host: WiringHost): Promise<void> {
  const { meta, entry } = r
  const { events, clock } = host
  let storage: FileStorage
  try {
    storage = await FileStorage.open(meta, entry.savePath, { skip: entry.filePriorities?.map((p) => p === 'skip') })
  } catch (err) {
    // Not awaited: this runs inside a schedule run, and fail schedules again after it.
    void host.fail(r, `cannot open its files in ${entry.savePath}: ${errorMessage(err)}`)
    return
  }
  for (const warning of storage.warnings) events.emit('warning', `${meta.name}: ${warning}`) // e.g. a BEP 47 symlink not made
  const { torrent, have } = await libraryTorrent(r, storage, host.shared())
  r.torrent = torrent
  // Pieces found by a check are not in any resume data yet; trusted resume data needs no save until a piece changes.
  r.dirty = have === undefined
  const incoming: IncomingHandler = (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest)
  const unregister = [host.listener.register(meta.infoHash, incoming)]
  // BEP 52 hybrid: v2 peers come under the SHA-256's first 20 bytes.
  if (meta.v2 && meta.hasV1) unregister.push(host.listener.register(meta.v2.infoHash.subarray(0, 20), incoming))
  r.unregister = () => unregister.forEach((u) => u())
  torrent.on('pieceVerified', () => (r.dirty = true))
  // Only a torrent that downloaded in this run "completes"; one found whole by a check or resume data is just complete.
  let downloaded = false
  torrent.on('state', (state) => {
    if (state === 'downloading') downloaded = true
    if (state === 'seeding') r.seedingSinceMs ??= clock.now()
    else r.seedingSinceMs = undefined
    events.emit('state', torrentSummary(r))
    if (state === 'downloading' && !host.opts.download) {
      r.waitsForDownload = true
      host.background(host.stopTorrent(r).then(() => host.setStored(r, { state: 'queued' })))
    }
  })
  torrent.on('trackerError', (info) => events.emit('trackerError', entry.name, info))
  torrent.on('trackerAnnounced', (info) => events.emit('trackerAnnounced', entry.infoHash, info))
  torrent.on('peerConnected', (key) => events.emit('peer', entry.infoHash, 'connected', key))
  torrent.on('peerDisconnected', (key, reason) => events.emit('peer', entry.infoHash, 'disconnected', key, reason))
  torrent.on('peerFailed', (key, reason) => events.emit('peer', entry.infoHash, 'failed', key, reason))
  torrent.on('peerBanned', (host, reason) => events.emit('peer', entry.infoHash, 'banned', host, reason))
  torrent.on('webSeedDropped', (url, reason) => events.emit('warning', `${meta.name}: web seed ${url} dropped: ${reason}`))
  torrent.on('pieceLayersComplete', () => void storePieceLayers(host.store, meta).catch((err: unknown) => events.emit('warning', `${meta.name}: cannot store its piece layers: ${errorMessage(err)}`)))
  torrent.on('complete', () => {
    r.dirty = true
    const firstTime = entry.state !== 'seeding'
    host.background(host.setStored(r, { state: 'seeding', completedAtMs: entry.completedAtMs ?? Date.now() }).then(async () => {
      await host.saveResume(r)
      if (firstTime && downloaded) events.emit('completed', torrentSummary(r))
      if (r.torrent === torrent) events.emit('complete', torrentSummary(r))
      await host.schedule()
    }))
  })
  // A torrent already let go of (paused, removed, restarted) may still report its
  // closing (e.g. "storage is closed"): that is not this entry's error.
  torrent.on('error', (message, kind) => {
    if (r.torrent === torrent) void host.fail(r, message, kind)
  })
  if (entry.state !== 'seeding') await host.setStored(r, { state: 'downloading' })
  const manual = host.manualPeers(entry.infoHash)
  if (manual) torrent.addPeers(manual)
  // Not awaited: a check of a big torrent takes a while, and the queue (another add, a pause) must not wait for it.
  void torrent.start().then(
    () => {
      if (have && r.torrent === torrent) events.emit('resumed', torrentSummary(r), have.count())
    },
    (err: unknown) => {
      if (r.torrent === torrent) void host.fail(r, `cannot start: ${errorMessage(err)}`)
    },
  )
}
