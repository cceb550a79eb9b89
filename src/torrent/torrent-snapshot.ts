// What a torrent reports of itself, in the shape the session shows: sizes and
// progress, counters and rates, ETA, its peers (web seeds among them, counted
// apart from connected peers) and its trackers; and its pieces for a piece map.
// Reads its parts; changes nothing.
import { Bitfield } from '../core/bitfield.ts'
import type { RateMeter } from '../core/rate-meter.ts'
import type { TrackerStatus } from '../discovery/tracker-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { Downloader } from './downloader.ts'
import type { Swarm } from './swarm.ts'
import type { PieceStates, TorrentSnapshot, TorrentState } from './torrent-types.ts'
import type { WebSeeds } from './web-seeds.ts'

export interface SnapshotParts {
  meta: Metainfo
  state: TorrentState
  error: string | undefined
  downloader: Downloader
  swarm: Swarm
  webSeeds: WebSeeds | undefined
  uploadMeter: RateMeter
  trackers: TrackerStatus[]
}

export function torrentSnapshot({ meta, state, error, downloader, swarm, webSeeds, uploadMeter, trackers }: SnapshotParts): TorrentSnapshot {
  const piecesVerified = downloader.started ? downloader.have.count() : 0
  const verifiedBytes = downloader.verifiedBytes()
  const downloadRate = downloader.rateBytesPerSec()
  const left = meta.length - verifiedBytes
  const peers = swarm.peerSnapshots()
  let seeds = 0
  for (const p of peers) if (p.progress === 1) seeds++
  const connectedPeers = peers.length
  if (webSeeds) peers.push(...webSeeds.snapshots())
  return {
    infoHash: meta.infoHashHex,
    name: meta.name,
    state,
    error,
    sizeBytes: meta.length,
    verifiedBytes,
    progress: meta.length ? verifiedBytes / meta.length : 1,
    pieceCount: meta.pieceCount,
    piecesVerified,
    downloadedBytes: downloader.downloadedBytes,
    uploadedBytes: uploadMeter.total,
    wastedBytes: downloader.wastedBytes,
    downloadRate,
    uploadRate: uploadMeter.rateBytesPerSec(),
    connectedPeers,
    knownPeers: swarm.knownPeers,
    seeds,
    etaSeconds: left > 0 && downloadRate > 0 ? Math.ceil(left / downloadRate) : left === 0 ? 0 : undefined,
    peers,
    trackers,
  }
}

/** Pieces in flight and (when asked) each piece's availability, capped at 255; O(pieces) only with availability. */
export function pieceStates(pieceCount: number, downloader: Downloader, withAvailability: boolean): PieceStates {
  const inFlight = new Bitfield(pieceCount)
  for (const i of downloader.openPieces()) inFlight.set(i)
  if (!withAvailability || !downloader.started) return { inFlight }
  const availability = new Uint8Array(pieceCount)
  for (let i = 0; i < availability.length; i++) availability[i] = Math.min(255, downloader.availability(i))
  return { inFlight, availability }
}
