// How a library torrent or a magnet fetch looks from outside: the stable
// TorrentSummary of `list --json`, made from the stored entry and, while it
// runs, the torrent's snapshot (totals of earlier runs added). Pure.
import type { Bitfield } from '../core/bitfield.ts'
import { verifiedBytesPerFile } from '../metainfo/layout.ts'
import type { PieceStates, TorrentSnapshot } from '../torrent/torrent.ts'
import { filePage, type FilesWindow } from './file-page.ts'
import type { StoredState } from './state-store.ts'
import type { MagnetFetch, SessionStatus, SessionTorrentState, TorrentDetails, TorrentRecord, TorrentSummary } from './session-types.ts'
import { isoTime } from '../core/iso-time.ts'

/** A library torrent: its stored state, or what its torrent is doing while it runs. */
export function torrentSummary(r: TorrentRecord): TorrentSummary {
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
    etaSeconds: state === 'downloading' ? (snap?.etaSeconds ?? null) : null,
    queuePosition: r.entry.queuePosition,
    addedAt: isoTime(r.entry.addedAtMs),
    completedAt: r.entry.completedAtMs ? isoTime(r.entry.completedAtMs) : null,
  }
}

/** A magnet link still fetching its metadata: nothing is known of it but its link. */
export function fetchSummary(f: MagnetFetch): TorrentSummary {
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
    addedAt: isoTime(f.addedAtMs),
    completedAt: null,
  }
}

/** The control channel's `details`: `pieces` are the verified ones (from the running torrent or resume data). */
export function torrentDetails(r: TorrentRecord, summary: TorrentSummary, pieces: Bitfield, window: FilesWindow, snap: TorrentSnapshot | undefined, nowMs: number, states?: PieceStates): TorrentDetails {
  const verified = verifiedBytesPerFile(r.meta.files, r.meta.pieceLength, (i) => pieces.get(i))
  return {
    summary,
    pieceCount: r.meta.pieceCount,
    pieceLength: r.meta.pieceLength,
    piecesBase64: pieces.toBuffer().toString('base64'),
    ...(states && { inFlightBase64: states.inFlight.toBuffer().toString('base64') }),
    ...(states?.availability && { availabilityBase64: Buffer.from(states.availability).toString('base64') }),
    limits: { uploadBytesPerSec: r.upload.rateBytesPerSec, downloadBytesPerSec: r.download.rateBytesPerSec },
    ...(r.seedingSinceMs !== undefined && { seedingSinceMs: r.seedingSinceMs }),
    files: filePage(r.meta, r.entry.filePriorities, verified, window),
    peers: snap?.peers ?? [],
    trackers: snap?.trackers ?? r.meta.announce.flatMap((tier, i) => tier.map((url) => ({ url, tier: i, state: 'idle' as const, failures: 0, peersReceived: 0 }))),
    nowMs,
  }
}

/** Rates and connected peers summed over the running torrents, for a status bar. */
export function runningTotals(records: Iterable<TorrentRecord>): Pick<SessionStatus, 'downloadRateBytesPerSec' | 'uploadRateBytesPerSec' | 'connectedPeers'> {
  let down = 0
  let up = 0
  let peers = 0
  for (const r of records) {
    const snap = r.torrent?.snapshot()
    if (!snap) continue
    down += snap.downloadRate
    up += snap.uploadRate
    peers += snap.connectedPeers
  }
  return { downloadRateBytesPerSec: down, uploadRateBytesPerSec: up, connectedPeers: peers }
}
