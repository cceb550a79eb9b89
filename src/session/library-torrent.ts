// The runtime parts of one library torrent: the record the session keeps of
// it (its stored entry, its own rate limits, totals of earlier runs), and the
// Torrent that runs it, built from what its resume data vouches for and the
// parts the session shares among its torrents (peer id, listen port, connect
// queue, connection slots, rate limits chained after the session's own, the
// DHT and LSD as peer sources for public torrents), and a magnet's metadata fetch
// made from the same parts; and the piece layers a v2 torrent fetched, written
// into its stored .torrent. It starts nothing itself.
import type { TransportPolicy } from '../peer/dial.ts'
import type { LimitFunction } from 'p-limit'
import type { Bitfield } from '../core/bitfield.ts'
import type { Clock } from '../core/clock.ts'
import type { ConnectionSlots } from '../core/connection-slots.ts'
import type { TransferBudgets } from '../core/memory-budget.ts'
import { LimiterChain, TokenBucket } from '../core/token-bucket.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import { DhtSource } from '../discovery/dht-source.ts'
import { LsdSource } from '../discovery/lsd.ts'
import type { LsdService } from '../discovery/lsd.ts'
import type { PeerSource } from '../discovery/peer-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { Storage } from '../storage/storage.ts'
import { Torrent } from '../torrent/torrent.ts'
import { MetadataTask } from '../torrent/metadata-task.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { withPieceLayers } from '../metainfo/torrent-file.ts'
import { resumedPieces } from './resume.ts'
import type { SessionOptions, TorrentRecord } from './session-types.ts'
import type { LibraryEntry, StateStore } from './state-store.ts'

/** What the session shares among its torrents. */
export interface SharedParts {
  opts: SessionOptions
  store: StateStore
  peerId: Buffer
  port: number
  clock: Clock
  dialLimit: LimitFunction
  slots: ConnectionSlots | undefined
  dht: DhtNode | undefined
  /** Local Service Discovery, when config lsd is on and multicast works. */
  lsd: LsdService | undefined
  upload: TokenBucket
  download: TokenBucket
  /** Piece memory and upload bytes in flight, for all its torrents together. */
  budgets: TransferBudgets
  /** uTP and TCP as the session's listener allows. */
  transports: TransportPolicy
  /** The port trackers are told, when port forwarding may map another outside. */
  announcePort: (() => number) | undefined
}

export function newRecord(entry: LibraryEntry, meta: Metainfo, clock: Clock): TorrentRecord {
  return {
    entry,
    meta,
    upload: new TokenBucket(0, undefined, clock),
    download: new TokenBucket(0, undefined, clock),
    dirty: false,
    holds: 0,
    waitsForSpace: entry.state === 'error' && entry.waitsForSpace === true,
    baseUploaded: entry.uploadedBytes,
    baseDownloaded: entry.downloadedBytes,
  }
}

/** The Torrent for a record whose files are open in `storage`, with the resume state it starts from. */
export async function libraryTorrent(r: TorrentRecord, storage: Storage, shared: SharedParts): Promise<{ torrent: Torrent; have?: Bitfield }> {
  const { meta, entry } = r
  const { opts, port } = shared
  const have = await resumedPieces(shared.store, meta, entry)
  const torrent = new Torrent({
    meta,
    storage,
    peerId: shared.peerId,
    listenPort: port,
    announcePort: shared.announcePort,
    clock: shared.clock,
    dialLimit: shared.dialLimit,
    maxConnections: opts.maxConnectionsPerTorrent,
    connectionSlots: shared.slots,
    maxConnectionsPerIp: opts.maxConnectionsPerIp,
    maxPendingRequestsPerPeer: opts.maxPendingRequestsPerPeer,
    maxBufferedBytesPerPeer: opts.maxBufferedBytesPerPeer,
    connectTimeoutMs: opts.connectTimeoutMs,
    transports: shared.transports,
    requestTimeoutMs: opts.requestTimeoutMs,
    maxStrikes: opts.maxStrikes,
    encryption: opts.encryption,
    webSeeds: opts.webSeeds,
    bannedHosts: shared.store.bans(),
    have,
    filePriorities: entry.filePriorities,
    uploadLimiter: new LimiterChain(shared.upload, r.upload),
    downloadLimiter: new LimiterChain(shared.download, r.download),
    budgets: shared.budgets,
    // BEP 52 hybrid: announced on the DHT (and LSD) under both hashes.
    sources: meta.private ? [] : [meta.infoHash, ...(meta.v2 && meta.hasV1 ? [meta.v2.infoHash.subarray(0, 20)] : [])].flatMap((infoHash) => publicSources(shared, infoHash, true)),
  })
  return { torrent, have }
}

/** A magnet link's BEP 9 metadata fetch, dialling through the session's shared parts (the DHT as a source; never announced). */
export function magnetTask(link: MagnetLink, shared: SharedParts): MetadataTask {
  const { port } = shared
  return new MetadataTask({
    link,
    peerId: shared.peerId,
    listenPort: port,
    dialLimit: shared.dialLimit,
    connectionSlots: shared.slots,
    clock: shared.clock,
    encryption: shared.opts.encryption,
    transports: shared.transports,
    sources: publicSources(shared, link.infoHash, false),
  })
}

/** The DHT and LSD for a torrent that is not private (BEP 27: a private one's peers come from its trackers only). */
function publicSources(shared: SharedParts, infoHash: Buffer, announceToDht: boolean): PeerSource[] {
  const sources: PeerSource[] = []
  if (shared.dht) sources.push(new DhtSource({ node: shared.dht, infoHash, port: shared.port, private: false, announce: announceToDht }))
  if (shared.lsd) sources.push(new LsdSource(shared.lsd, infoHash))
  return sources
}

/** BEP 52: the piece layers fetched from peers (a magnet's) go into the stored .torrent: a restart, a recheck or a peer asking need not wait for them. */
export async function storePieceLayers(store: StateStore, meta: Metainfo): Promise<void> {
  await store.replaceTorrentFile(meta.infoHashHex, withPieceLayers(await store.torrentFile(meta.infoHashHex), meta))
}
