// The shapes of the session: what it is opened with, the events it emits and
// the stable shapes its views and the control channel read (`list --json`,
// `details`, `status`), plus the record it keeps of each library torrent.
// Kept apart so session.ts holds behaviour; session.ts re-exports the public ones.
import type { FilePage } from './file-page.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import type { Clock } from '../core/clock.ts'
import type { TokenBucket } from '../core/token-bucket.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import type { TrackerStatus } from '../discovery/tracker-source.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import type { MetadataTask } from '../torrent/metadata-task.ts'
import type { PeerSnapshot, Torrent } from '../torrent/torrent.ts'
import type { LibraryEntry } from './state-store.ts'
import type { PortMappingStatus } from './port-mapping/port-mapper.ts'

export type SessionTorrentState = 'fetching metadata' | 'queued' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'error'

/** A magnet link whose metadata is being fetched: kept in memory until it arrives, then added to the library. */
export interface MagnetFetch {
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
  /** Pieces requested or partly received (while it runs), same order. */
  inFlightBase64?: string
  /** With `details --availability`: one byte per piece, how many connected peers have it (capped at 255). */
  availabilityBase64?: string
  /** This torrent's own rate limits, bytes/s (0 = none; the session's apply too). */
  limits: { uploadBytesPerSec: number; downloadBytesPerSec: number }
  /** When this run started seeding (session clock), while it seeds. */
  seedingSinceMs?: number
  /** The rows of the files tab the request asked for (file-page.ts). */
  files: FilePage
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
  /** The router's mapping of the listen port (state `off` when config portForwarding is false); always set by Session.status(). */
  portForwarding?: PortMappingStatus
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
  /** MSE/PE for incoming and outgoing peers (default: accept both, dial plaintext). */
  encryption?: EncryptionPolicy
  /** Makes the session's DHT node on its listen port once that port is known, on the UDP socket it shares with uTP; none without. */
  startDht?: (port: number, udpSocket: object | undefined) => Promise<DhtNode | undefined>
  /** Transports for peer connections (config `utp`, `tcp`; both default true): uTP is tried first, TCP is the fallback. */
  utp?: boolean
  tcp?: boolean
  /** Download from torrents' web seeds (BEP 19 url-list; config `webSeeds`, default true). */
  webSeeds?: boolean
  /** Ask the router (UPnP IGD, NAT-PMP) to forward the listen port, and delete the mapping at close (default false here; config portForwarding defaults true). */
  portForwarding?: boolean
  /** Local Service Discovery (BEP 14) for public torrents (default false here; config lsd defaults true). */
  lsd?: boolean
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
  /**
   * Runs only torrents added (or re-added) through this session; the rest of
   * the library is listed as stored and left alone (a foreground `add`).
   */
  runOnlyAdded?: boolean
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
  /** A torrent started from resume data: `trusted` pieces taken as verified, no file looked at. */
  resumed: [summary: TorrentSummary, trusted: number]
  /** A torrent reached its seed ratio or seed time and was paused; `reason` says which. */
  seedLimit: [summary: TorrentSummary, reason: string]
  /**
   * Every wanted piece of a torrent is verified and its resume data saved:
   * after a download, a check or a resume. (`completed` is only for a download that finished.)
   */
  complete: [summary: TorrentSummary]
  /** A running torrent's peers and announces, for a verbose log. */
  peer: [infoHash: string, event: 'connected' | 'disconnected' | 'failed' | 'banned', key: string, reason?: string]
  trackerAnnounced: [infoHash: string, info: { url: string; peers: number; intervalMs: number }]
  /** Port forwarding made (or failed to renew) a mapping: one line for the log. Failure to map at all is a `warning`. */
  portForwarding: [line: string]
  /** BEP 52: a v2 (btmh) magnet's metadata is a hybrid's, kept under its v1 hash from now on. */
  infoHashChanged: [from: string, to: string]
}

export interface TorrentRecord {
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
  /** Added or re-added through this session (what a `runOnlyAdded` session runs). */
  addedHere?: boolean
}
