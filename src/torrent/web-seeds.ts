// A torrent's web seeds (BEP 19): one WebSeed per http(s) URL of its
// url-list, made when the torrent starts, filled when the downloader has room,
// ticked for timeouts, and dropped — once, with the reason reported — when a
// server cannot serve the torrent or its data fails the hash check (alone in
// a piece: at once; with peers in it: at maxStrikes, like a peer's address).
// Their snapshots join the peers' in the peers tab, under source `webseed`.
import type { Clock } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { PeerSnapshot } from './torrent-types.ts'
import { WebSeed } from './web-seed.ts'
import type { RangeSink } from './web-seed.ts'

export interface WebSeedsOptions {
  meta: Metainfo
  sink: RangeSink
  clock: Clock
  timeoutMs: number
  maxStrikes: number
  retryBaseMs?: number
}

export interface WebSeedsEvents {
  /** Not used again while the torrent runs. */
  dropped: [url: string, reason: string]
}

export class WebSeeds extends TypedEmitter<WebSeedsEvents> {
  readonly #seeds = new Map<string, WebSeed>()
  /** URLs dropped while the torrent runs: blocks they sent may still sit in unfinished pieces. */
  readonly #dropped = new Set<string>()
  readonly #maxStrikes: number

  constructor(opts: WebSeedsOptions) {
    super()
    this.#maxStrikes = opts.maxStrikes
    for (const url of opts.meta.urlList) {
      if (!/^https?:\/\//i.test(url) || this.#seeds.has(url)) continue
      const seed = new WebSeed({ url, meta: opts.meta, sink: opts.sink, clock: opts.clock, timeoutMs: opts.timeoutMs, retryBaseMs: opts.retryBaseMs })
      seed.on('unusable', (reason) => this.#drop(seed, reason))
      this.#seeds.set(url, seed)
    }
  }

  get size(): number {
    return this.#seeds.size
  }

  get(url: string): WebSeed | undefined {
    return this.#seeds.get(url)
  }

  fill(): void {
    for (const seed of this.#seeds.values()) seed.fill()
  }

  handleTick(nowMs: number): void {
    for (const seed of this.#seeds.values()) seed.handleTick(nowMs)
  }

  /**
   * Piece `index` failed its hash check: web seeds among `contributors` pay;
   * returns the peers among them to strike (none when a web seed dropped
   * earlier had blocks in it: that one is the likely cause).
   */
  handlePieceFailed(index: number, contributors: string[]): string[] {
    if (contributors.some((key) => this.#dropped.has(key))) return []
    const peers = contributors.filter((key) => !this.#seeds.has(key))
    for (const key of contributors) {
      const seed = this.#seeds.get(key)
      if (!seed) continue
      if (contributors.length === 1 || ++seed.strikes >= this.#maxStrikes) this.#drop(seed, `piece ${index} failed the hash check`)
    }
    return peers
  }

  snapshots(): PeerSnapshot[] {
    return [...this.#seeds.values()].map((s) => s.snapshot())
  }

  stop(): void {
    for (const seed of this.#seeds.values()) seed.stop()
  }

  #drop(seed: WebSeed, reason: string): void {
    if (this.#seeds.get(seed.url) !== seed) return
    this.#seeds.delete(seed.url)
    this.#dropped.add(seed.url)
    seed.stop()
    this.emit('dropped', seed.url, reason)
  }
}
