// What a foreground `add` shows while it runs: a live line on a terminal,
// a plain line every few seconds otherwise. A tracker that keeps failing
// shows in that line (its latest error and next try) instead of adding a
// line at every retry. Reads session summaries only; never changes anything.
import type { TorrentSummary } from '../session/session.ts'
import { formatBytes, formatEta, formatPercent, formatRate } from '../tui/format/format.ts'
import type { CliIo } from './io.ts'

export interface TrackerTrouble {
  url: string
  message: string
  retryAtMs: number
}

export class ProgressReporter {
  readonly #io: CliIo
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #live = false
  #trouble: TrackerTrouble | undefined

  /** `intervalMs` 0: nothing is shown (-q). */
  constructor(io: CliIo, intervalMs: number) {
    this.#io = io
    this.#intervalMs = intervalMs
  }

  /** The latest tracker failure (undefined once a tracker answers again). */
  set trackerTrouble(trouble: TrackerTrouble | undefined) {
    this.#trouble = trouble
  }

  start(summary: () => TorrentSummary | undefined): void {
    this.stop()
    if (this.#intervalMs === 0) return
    this.#live = this.#io.isTTY
    this.#timer = setInterval(
      () => {
        const s = summary()
        if (!s) return
        const line = progressLine(s, this.#trouble)
        if (this.#live) this.#io.write(`\r\x1b[K${line}`)
        else this.#io.out(line)
      },
      this.#live ? 500 : this.#intervalMs,
    )
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#live) this.#io.write('\r\x1b[K')
    this.#live = false
  }
}

export function progressLine(s: TorrentSummary, trouble?: TrackerTrouble): string {
  const tracker = trouble ? `  tracker ${trouble.url}: ${trouble.message}, next try in ${formatEta(Math.max(0, (trouble.retryAtMs - Date.now()) / 1000))}` : ''
  switch (s.state) {
    case 'fetching metadata':
      return `fetching metadata: peers ${s.connectedPeers}/${s.knownPeers}${tracker}`
    case 'checking':
      return `checking ${s.name}: verifying the data already on disk`
    case 'paused':
      return `${s.name} is paused (by another command); \`friendtorrent resume\` goes on`
    case 'queued':
      return `${s.name} is queued`
    case 'seeding':
      return [`seeding ${s.name}`, `↑ ${formatRate(s.uploadRateBytesPerSec)}`, `${formatBytes(s.uploadedBytes)} uploaded`, `peers ${s.connectedPeers}/${s.knownPeers}`].join('  ') + tracker
    default:
      return (
        [
          formatPercent(s.progress),
          `${formatBytes(Math.round(s.progress * s.sizeBytes))}/${formatBytes(s.sizeBytes)}`,
          `↓ ${formatRate(s.downloadRateBytesPerSec)}`,
          `peers ${s.connectedPeers}/${s.knownPeers}`,
          `ETA ${formatEta(s.etaSeconds ?? undefined)}`,
        ].join('  ') + tracker
      )
  }
}
