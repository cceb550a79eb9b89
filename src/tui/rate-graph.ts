// Rates as pictures: a short history of download and upload rates (one
// sample per poll), and a braille bar graph of a series scaled to a "nice"
// top value. Pure: no React; the component draws the lines this returns.

/** Samples kept: 10 minutes at the dashboard's 500 ms polls. */
export const HISTORY_SAMPLES = 1200

export interface RateHistory {
  down: readonly number[]
  up: readonly number[]
}

export const EMPTY_HISTORY: RateHistory = { down: [], up: [] }

/**
 * Rates of one torrent or of the session, one sample per poll, the oldest
 * dropped past `max` (in chunks, so a push is O(1) amortised). Mutable: the
 * container keeps one per active torrent and hands views a copy.
 */
export class RateSeries {
  readonly down: number[] = []
  readonly up: number[] = []
  /** Samples in a row where both rates were 0. */
  idleSamples = 0
  readonly #max: number

  constructor(max = HISTORY_SAMPLES) {
    this.#max = max
  }

  push(down: number, up: number): void {
    this.down.push(down)
    this.up.push(up)
    this.idleSamples = down === 0 && up === 0 ? this.idleSamples + 1 : 0
    const over = this.down.length - this.#max
    if (over >= 64 || (over > 0 && this.#max < 64)) {
      this.down.splice(0, over)
      this.up.splice(0, over)
    }
  }

  /** Every sample kept is 0: nothing to draw. */
  get idle(): boolean {
    return this.idleSamples >= this.down.length
  }

  /** A copy for a view (a new object, so a memoised graph draws again). */
  snapshot(): RateHistory {
    return { down: this.down.slice(-this.#max), up: this.up.slice(-this.#max) }
  }
}

/** 1, 2 or 5 times a power of ten (of 1024 steps for bytes) at or above `value`: the graph's top. */
export function niceTop(value: number): number {
  if (!(value > 0)) return 1024
  let unit = 1
  while (value >= unit * 1024) unit *= 1024
  const v = value / unit
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1024]
  return (steps.find((s) => s >= v) ?? 1024) * unit
}

// Braille cells: two columns of four dots; bits from the bottom dot up.
const LEFT = [0x40, 0x04, 0x02, 0x01]
const RIGHT = [0x80, 0x20, 0x10, 0x08]

/**
 * A bar graph of the last `width * 2` samples of `series` in `height` rows of
 * braille (two samples per cell, four levels per row), newest on the right;
 * `top` is the value of a full column. A sample above 0 shows at least one dot.
 */
export function brailleGraph(series: readonly number[], width: number, height: number, top: number): string[] {
  const levels = height * 4
  const shown = series.slice(Math.max(0, series.length - width * 2))
  const pad = width * 2 - shown.length
  const level = (i: number) => {
    const j = i - pad
    if (j < 0) return 0
    const v = shown[j]
    if (!(v > 0)) return 0
    return Math.max(1, Math.min(levels, Math.round((v / top) * levels)))
  }
  const lines: string[] = []
  for (let r = 0; r < height; r++) {
    const base = (height - 1 - r) * 4
    let line = ''
    for (let c = 0; c < width; c++) {
      const l = Math.max(0, Math.min(4, level(2 * c) - base))
      const rr = Math.max(0, Math.min(4, level(2 * c + 1) - base))
      let bits = 0
      for (let d = 0; d < l; d++) bits |= LEFT[d]
      for (let d = 0; d < rr; d++) bits |= RIGHT[d]
      line += bits === 0 ? ' ' : String.fromCharCode(0x2800 + bits)
    }
    lines.push(line)
  }
  return lines
}
