// Which library torrents run. In queue order it starts what the limits allow
// (active downloads, active seeds; force-started ones whatever the limits;
// without --download an incomplete torrent runs only once, to be checked) and
// stops what they no longer allow. Seeding torrents that reach the seed ratio
// or seed time are handed to the owner to pause; torrents stopped by a full
// disk go back in the queue once their save folder has room.
// Runs are serialised (starting and stopping is async) and leave alone a
// torrent its owner holds (pausing, removing, rechecking). It starts and
// stops torrents and changes stored state only through its owner's functions.
import { statfs } from 'node:fs/promises'
import { Bitfield } from '../core/bitfield.ts'
import type { Clock, TimerHandle } from '../core/clock.ts'
import type { LibraryEntry, StateStore } from './state-store.ts'
import type { SessionOptions, TorrentRecord } from './session-types.ts'
import { torrentSummary } from './summary.ts'

/** Free space a torrent stopped by a full disk waits for (or for what it lacks, if less) before it resumes. */
const DISK_FULL_HEADROOM_BYTES = 4 * 1024 * 1024
const SEED_LIMIT_CHECK_MS = 5_000

export interface SchedulerOptions extends Pick<SessionOptions, 'download' | 'maxActiveDownloads' | 'maxActiveSeeds' | 'seedRatioLimit' | 'seedTimeLimitMs' | 'diskFullRetryMs' | 'runOnlyAdded'> {
  clock: Clock
  /** Read only here: resume data tells how much a torrent waiting for disk space still lacks. */
  store: StateStore
  /** The library, in any order. */
  records: () => Iterable<TorrentRecord>
  /** Opens its files and starts it from resume data. */
  startTorrent: (r: TorrentRecord) => Promise<void>
  /** Stops it, keeping its totals and resume data. */
  stopTorrent: (r: TorrentRecord) => Promise<void>
  setStored: (r: TorrentRecord, patch: Partial<LibraryEntry>) => Promise<void>
  /** It reached a seed limit (`reason` says which): the owner pauses it. */
  handleSeedLimit: (r: TorrentRecord, reason: string) => Promise<void>
}

export class Scheduler {
  readonly #opts: SchedulerOptions
  readonly #clock: Clock
  /** Serialises runs: starting and stopping torrents is async. */
  #running: Promise<void> = Promise.resolve()
  #limitTimer: TimerHandle | undefined
  #spaceTimer: TimerHandle | undefined
  #closed = false

  constructor(opts: SchedulerOptions) {
    this.#opts = opts
    this.#clock = opts.clock
  }

  /** Starts watching seed limits and full disks. */
  start(): void {
    this.#limitTimer ??= this.#clock.setInterval(() => void this.#checkSeedLimits(), SEED_LIMIT_CHECK_MS)
    this.#spaceTimer ??= this.#clock.setInterval(() => void this.#retryDiskFull(), this.#opts.diskFullRetryMs ?? 30_000)
  }

  /** Starts what may run and stops what may not, in queue order, after the runs already asked for. */
  run(): Promise<void> {
    const run = this.#running.then(() => this.#runNow())
    this.#running = run.catch(() => {})
    return run
  }

  /** No run starts anything after this; the timers stop. */
  close(): void {
    this.#closed = true
    this.#limitTimer?.cancel()
    this.#spaceTimer?.cancel()
  }

  /** The runs asked for so far have ended. */
  settled(): Promise<void> {
    return this.#running
  }

  async #runNow(): Promise<void> {
    if (this.#closed) return
    const { download, maxActiveDownloads, maxActiveSeeds } = this.#opts
    let downloads = 0
    let seeds = 0
    const ordered = [...this.#opts.records()].sort((a, b) => a.entry.queuePosition - b.entry.queuePosition)
    for (const r of ordered) {
      if (r.holds > 0 || r.entry.state === 'paused' || r.entry.state === 'error') continue
      if (this.#opts.runOnlyAdded && !r.addedHere) continue
      const complete = r.entry.state === 'seeding'
      if (r.entry.forceStart) {
        if (!r.torrent) await this.#opts.startTorrent(r)
        continue
      }
      // Without --download an unknown torrent still runs once: the check tells whether it can seed.
      const mayDownload = download || !r.waitsForDownload
      const mayRun = complete ? seeds < maxActiveSeeds : mayDownload && downloads < maxActiveDownloads
      if (mayRun) {
        if (complete) seeds++
        else downloads++
        if (!r.torrent) await this.#opts.startTorrent(r)
      } else if (r.torrent) {
        await this.#opts.stopTorrent(r)
        await this.#opts.setStored(r, { state: complete ? 'seeding' : 'queued' })
      }
    }
  }

  /** Seeding torrents that reached the seed ratio or seed time go to the owner to pause. */
  async #checkSeedLimits(): Promise<void> {
    const { seedRatioLimit = 0, seedTimeLimitMs = 0 } = this.#opts
    if (seedRatioLimit <= 0 && seedTimeLimitMs <= 0) return
    const now = this.#clock.now()
    for (const r of this.#opts.records()) {
      if (!r.torrent || r.torrent.state !== 'seeding') {
        r.seedingSinceMs = undefined
        continue
      }
      r.seedingSinceMs ??= now
      const s = torrentSummary(r)
      const ratio = s.sizeBytes > 0 ? s.uploadedBytes / s.sizeBytes : 0
      const reason =
        seedRatioLimit > 0 && ratio >= seedRatioLimit
          ? `reached the seed ratio ${seedRatioLimit} (uploaded ${ratio.toFixed(2)}× its size)`
          : seedTimeLimitMs > 0 && now - r.seedingSinceMs >= seedTimeLimitMs
            ? `seeded for ${Math.round(seedTimeLimitMs / 60_000)} min, the seed-time limit`
            : undefined
      if (reason) await this.#opts.handleSeedLimit(r, reason)
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
    for (const r of this.#opts.records()) {
      if (!r.waitsForSpace || r.entry.state !== 'error' || this.#closed) continue
      let freeBytes: number
      try {
        const st = await statfs(r.entry.savePath)
        freeBytes = st.bavail * st.bsize
      } catch {
        continue // the folder is unreachable for now: no space to be had there either
      }
      const resume = await this.#opts.store.loadResume(r.entry.infoHash)
      const verified = resume ? new Bitfield(r.meta.pieceCount, resume.bitfield).count() : 0
      const leftBytes = Math.max(r.meta.pieceLength, r.meta.length - verified * r.meta.pieceLength)
      const needBytes = Math.min(leftBytes, Math.max(4 * r.meta.pieceLength, DISK_FULL_HEADROOM_BYTES))
      if (freeBytes < needBytes || !r.waitsForSpace || r.entry.state !== 'error') continue
      r.waitsForSpace = false
      await this.#opts.setStored(r, { state: 'queued', error: undefined, waitsForSpace: undefined })
      resumed = true
    }
    if (resumed) await this.run()
  }
}
