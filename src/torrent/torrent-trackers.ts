// A torrent's trackers: one TrackerSource announcing its info hash, and for a
// BEP 52 hybrid a second announcing the v2 hash (truncated to 20 bytes) to the
// same trackers, so the peers of both swarms join the one. Starts them, passes
// on their peers and reports, and asks, completes and stops both as one.
import type { Clock } from '../core/clock.ts'
import type { PeerCandidate } from '../core/types.ts'
import { TrackerSource, type AnnounceStats, type TrackerSourceEvents, type TrackerStatus } from '../discovery/tracker-source.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'

export interface TorrentTrackersOptions {
  meta: Metainfo
  peerId: Buffer
  listenPort: number
  announcePort: (() => number) | undefined
  numWant: number
  clock: Clock
  getStats: () => AnnounceStats
  onPeers: (url: string, peers: PeerCandidate[]) => void
  onError: (...info: TrackerSourceEvents['trackerError']) => void
  onAnnounced: (...info: TrackerSourceEvents['trackerAnnounced']) => void
}

export class TorrentTrackers {
  readonly #v1: TrackerSource
  /** BEP 52 hybrid: the same trackers, announced under the v2 hash too. */
  readonly #v2: TrackerSource | undefined

  /** Starts announcing at once. */
  constructor(opts: TorrentTrackersOptions) {
    this.#v1 = newTracker(opts, opts.meta.infoHash)
    if (opts.meta.v2 && opts.meta.hasV1) this.#v2 = newTracker(opts, opts.meta.v2.infoHash.subarray(0, 20))
  }

  /** Out of peers to try: announce again (the trackers rate-limit themselves). */
  requestMore(): void {
    this.#v1.requestMore()
    this.#v2?.requestMore()
  }

  /** The download finished: the 'completed' announce. */
  complete(): void {
    this.#v1.complete()
    this.#v2?.complete()
  }

  /** The 'stopped' announces; settles whether or not they succeed. */
  async stop(): Promise<void> {
    await Promise.allSettled([this.#v1.stop(), this.#v2?.stop()])
  }

  /** Each tracker of the torrent's own hash, for the trackers tab. */
  status(): TrackerStatus[] {
    return this.#v1.status()
  }
}

function newTracker(opts: TorrentTrackersOptions, infoHash: Buffer): TrackerSource {
  const tracker = new TrackerSource({
    infoHash,
    peerId: opts.peerId,
    port: opts.listenPort,
    announcePort: opts.announcePort,
    tiers: opts.meta.announce,
    numWant: opts.numWant,
    clock: opts.clock,
    getStats: opts.getStats,
  })
  tracker.on('peers', (peers, url) => opts.onPeers(url, peers))
  tracker.on('trackerError', opts.onError)
  tracker.on('trackerAnnounced', opts.onAnnounced)
  tracker.start()
  return tracker
}
