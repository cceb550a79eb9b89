// The shapes of a Torrent's contract with its owner: the options it is built
// from, the events it emits and the snapshot it reports. Kept apart so that
// torrent.ts holds behaviour only; torrent.ts re-exports all of them.
import type { TransportPolicy } from '../peer/dial.ts'
import type { TransportKind } from '../transport/peer-socket.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import type { LimitFunction } from 'p-limit'
import type { Bitfield } from '../core/bitfield.ts'
import type { Clock } from '../core/clock.ts'
import type { ConnectionSlots } from '../core/connection-slots.ts'
import type { LimiterChain } from '../core/token-bucket.ts'
import type { TransferBudgets } from '../core/memory-budget.ts'
import type { PeerSourceKind } from '../core/types.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import type { TrackerStatus } from '../discovery/tracker-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import type { Storage } from '../storage/storage.ts'

/** Requests we queue per peer by default, advertised as BEP 10 `reqq`. */
export const DEFAULT_MAX_PENDING_REQUESTS_PER_PEER = 256
/** Socket backlog per peer by default: 32 blocks, well past what keeps any link busy between drains. */
export const DEFAULT_MAX_BUFFERED_BYTES_PER_PEER = 512 * 1024

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
  /** The address our listener is bound to (default: every address of this machine); with listenPort, what is never dialled. */
  listenHost?: string
  /** The port trackers are told (the router's external one once port forwarding maps it); default listenPort. */
  announcePort?: () => number
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
  /**
   * The session's budgets for piece memory, upload bytes in flight and read
   * caches, and its free piece buffers, shared by its torrents (each still
   * within its own caps). Omitted: its own.
   */
  budgets?: TransferBudgets
  /** Hash failures (pieces it sent blocks of) before a peer's address is banned. */
  maxStrikes?: number
  /** Announce to the torrent's trackers (off for tests that give peers by hand). */
  useTrackers?: boolean
  /** Other peer sources for this torrent (the DHT); started after the check, stopped with the torrent. */
  sources?: PeerSource[]
  /** Verified pieces from resume data, trusted without looking at the files (storage is told, so it never recreates theirs). */
  have?: Bitfield
  /** One per file; skipped files are not fetched (the storage keeps them off the disk). Default all normal. */
  filePriorities?: FilePriority[]
  /** Rate limits (global and per torrent, chained); none means unlimited. */
  uploadLimiter?: LimiterChain
  downloadLimiter?: LimiterChain
  numWant?: number
  /** MSE for the peers we dial (the listener decides for incoming ones); none means plaintext. */
  encryption?: EncryptionPolicy
  /** Download from the torrent's url-list (BEP 19 web seeds); default true. */
  webSeeds?: boolean
  /** Addresses a person banned (the library's ban list). */
  bannedHosts?: Iterable<string>
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
  /** BEP 52: every piece layer the .torrent lacked (a magnet's) is now known and proven: meta.v2's files hold them. */
  pieceLayersComplete: []
  /** A web seed that cannot serve this torrent (or sent data failing the hash check): not used again while it runs. */
  webSeedDropped: [url: string, reason: string]
  trackerError: [info: { url: string; message: string; retryAtMs: number }]
  trackerAnnounced: [info: { url: string; peers: number; intervalMs: number }]
  error: [message: string, kind: TorrentErrorKind | undefined]
}

export interface PeerSnapshot {
  /** host:port, or a web seed's URL. */
  key: string
  /** Where we learnt of it (tracker, dht, pex, incoming, manual), or a web seed of the torrent's url-list. */
  source: PeerSourceKind | 'webseed' | undefined
  client: string
  incoming: boolean
  /** How the connection runs: TCP or uTP, or HTTP(S) for a web seed. */
  transport: TransportKind | 'http'
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

/** What a piece map shows beyond the verified pieces: pieces in flight and, when asked for, how many peers have each. */
export interface PieceStates {
  inFlight: Bitfield
  /** One count per piece, capped at 255. */
  availability?: Uint8Array
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
