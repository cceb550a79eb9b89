// Web seeds (BEP 19), driven by their torrent like peers that have every
// piece and never choke: each URL of the torrent's url-list asks the
// downloader for runs of consecutive pieces (several pieces per request, up
// to 4 MiB, within the memory cap and download limit a peer's requests obey),
// fetches them with HTTP Range requests (one per file a run touches; pad
// files are zeros) and hands the blocks to the same verify-and-write path as a
// peer's. A failure (503, timeout, refused connection) releases its blocks to
// others and waits 5 s · 2ⁿ before the next try; a server that cannot serve
// the torrent (wrong size, no Range support) or data failing the hash check
// drops that URL, reported once. Web seeds hold no connection slot and never
// count against the per-IP limits. It never touches the disk or a peer.
import type { Clock, TimerHandle } from '../core/clock.ts'
import { RateMeter } from '../core/rate-meter.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { BLOCK_SIZE, errorMessage } from '../core/types.ts'
import type { BlockRef } from '../core/types.ts'
import { rangeGet, WebSeedAgents, WebSeedError } from '../discovery/web-seed-fetch.ts'
import { planRange, webSeedFileUrls, webSeedRetryDelayMs } from '../discovery/web-seed-plan.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { PeerSnapshot } from './torrent-types.ts'

/** 256 blocks: a 4 MiB run, as deep as a peer's request queue. */
const MAX_RUN_BLOCKS = 256
/** Runs in flight per web seed, so one round trip between requests does not idle the link. */
const MAX_RUNS = 2
const ZEROS = Buffer.alloc(BLOCK_SIZE)

/** What a web seed needs of the downloader (which has all of it). */
export interface RangeSink {
  pickRun(key: string, maxBlocks: number): BlockRef[]
  acceptBlock(key: string, block: BlockRef, data: Buffer): boolean
  releaseRequests(key: string, blocks: Iterable<BlockRef>): void
  addPeer(key: string): void
  handleHaveAll(key: string): void
  removePeer(key: string): void
}

export interface WebSeedOptions {
  url: string
  meta: Metainfo
  sink: RangeSink
  clock: Clock
  /** A request that brings no byte for this long is abandoned and retried later. */
  timeoutMs: number
  /** First wait after a failure (doubling after each one more); default 5 s. */
  retryBaseMs?: number
}

/** One run of blocks in flight: consecutive pieces, fetched as one or a few Range requests. */
interface Run {
  readonly controller: AbortController
  /** Requested and not yet handed on, so a failure can release them. */
  readonly pending: Set<BlockRef>
  lastDataAtMs: number
  abortReason?: string
}

export interface WebSeedEvents {
  /** This server cannot serve the torrent (`reason`): its owner stops and forgets it. */
  unusable: [reason: string]
}

export class WebSeed extends TypedEmitter<WebSeedEvents> {
  readonly url: string
  readonly #meta: Metainfo
  readonly #sink: RangeSink
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #retryBaseMs: number | undefined
  readonly #fileUrls: (string | undefined)[]
  readonly #agents = new WebSeedAgents()
  readonly #meter: RateMeter
  readonly #runs = new Set<Run>()
  #retryTimer: TimerHandle | undefined
  #retryAtMs: number | undefined
  #failures = 0
  #lastError: string | undefined
  #server: string | undefined
  #stopped = false
  /** Failed pieces it took part in along with others. */
  strikes = 0
  /** Requests sent, redirects not counted. */
  requestsSent = 0

  constructor(opts: WebSeedOptions) {
    super()
    this.url = opts.url
    this.#meta = opts.meta
    this.#sink = opts.sink
    this.#clock = opts.clock
    this.#timeoutMs = opts.timeoutMs
    this.#retryBaseMs = opts.retryBaseMs
    this.#fileUrls = webSeedFileUrls(opts.url, opts.meta)
    this.#meter = new RateMeter(5, opts.clock)
    opts.sink.addPeer(this.url)
    opts.sink.handleHaveAll(this.url)
  }

  /** Its picker key: the URL, which no peer's host:port can equal. */
  get key(): string {
    return this.url
  }

  /** Consecutive failures; when the next try is due (undefined: not waiting); the last failure. */
  get failures(): number {
    return this.#failures
  }

  get retryAtMs(): number | undefined {
    return this.#retryAtMs
  }

  get lastError(): string | undefined {
    return this.#lastError
  }

  /** Starts runs while it has room for them and the downloader has pieces for it. */
  fill(): void {
    if (this.#stopped || this.#retryTimer) return
    while (this.#runs.size < MAX_RUNS) {
      const blocks = this.#sink.pickRun(this.key, this.#runBlocks())
      if (blocks.length === 0) break
      void this.#fetchRun(blocks)
    }
    // Nothing to fetch (complete, or paused): no idle connection is kept.
    if (this.#runs.size === 0) this.#agents.destroy()
  }

  /** Once a second: a run silent for the timeout is abandoned (and the web seed waits before trying again). */
  handleTick(nowMs: number): void {
    for (const run of this.#runs) {
      if (nowMs - run.lastDataAtMs > this.#timeoutMs) this.#abort(run, `no data for ${Math.round(this.#timeoutMs / 1000)} s`)
    }
  }

  snapshot(): PeerSnapshot {
    let outstanding = 0
    for (const run of this.#runs) outstanding += run.pending.size
    return {
      key: this.url,
      source: 'webseed',
      client: this.#server ? `web seed (${this.#server})` : 'web seed',
      incoming: false,
      transport: 'http',
      amChoking: true,
      amInterested: this.#runs.size > 0,
      // Waiting out a failure reads like a choke: 'd' in the flags.
      peerChoking: this.#retryTimer !== undefined,
      peerInterested: false,
      snubbed: false,
      downloadRate: this.#meter.rateBytesPerSec(),
      uploadRate: 0,
      progress: 1,
      outstanding,
    }
  }

  /** Ends every request and timer and gives its blocks back; nothing is fetched after. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#retryTimer?.cancel()
    this.#retryTimer = undefined
    for (const run of this.#runs) this.#abort(run, 'stopped')
    this.#agents.destroy()
    this.#sink.removePeer(this.key)
  }

  /** About two seconds of its rate, at least 64 blocks (1 MiB), at most a full run. */
  #runBlocks(): number {
    const byRate = Math.ceil((2 * this.#meter.rateBytesPerSec()) / BLOCK_SIZE)
    return Math.min(MAX_RUN_BLOCKS, Math.max(64, byRate))
  }

  async #fetchRun(blocks: BlockRef[]): Promise<void> {
    const run: Run = { controller: new AbortController(), pending: new Set(blocks), lastDataAtMs: this.#clock.now() }
    this.#runs.add(run)
    try {
      for (const segment of contiguous(blocks, this.#meta.pieceLength)) await this.#fetchSegment(run, segment)
      this.#runs.delete(run)
      this.#sink.releaseRequests(this.key, run.pending)
      this.#failures = 0
      this.#lastError = undefined
      this.fill()
    } catch (err) {
      this.#runs.delete(run)
      this.#sink.releaseRequests(this.key, run.pending)
      run.pending.clear()
      if (this.#stopped) return
      const message = run.abortReason ?? errorMessage(err)
      this.#handleFailure(message, err instanceof WebSeedError ? err : undefined)
    }
  }

  /** One stretch of consecutive blocks: a Range request per file it touches, zeros for pad files. */
  async #fetchSegment(run: Run, blocks: BlockRef[]): Promise<void> {
    const first = blocks[0]
    const offset = first.index * this.#meta.pieceLength + first.begin
    let length = 0
    for (const b of blocks) length += b.length
    const feed = this.#assembler(run, blocks)
    for (const part of planRange(this.#fileUrls, this.#meta.files, offset, length)) {
      if (part.url === undefined) {
        for (let left = part.length; left > 0; left -= BLOCK_SIZE) feed(ZEROS.subarray(0, Math.min(BLOCK_SIZE, left)))
        continue
      }
      if (run.controller.signal.aborted) throw new Error(run.abortReason)
      this.requestsSent++
      await rangeGet({
        url: part.url,
        start: part.start,
        end: part.end,
        fileLength: part.fileLength,
        agents: this.#agents,
        signal: run.controller.signal,
        onData: (chunk) => {
          run.lastDataAtMs = this.#clock.now()
          this.#meter.add(chunk.length)
          feed(chunk)
        },
        onServer: (server) => (this.#server = server),
      })
    }
  }

  /** Cuts the bytes of a segment into its blocks and hands each on as it completes. */
  #assembler(run: Run, blocks: BlockRef[]): (chunk: Buffer) => void {
    let i = 0
    let filled = 0
    // Its own: the other run in flight assembles its blocks at the same time.
    let scratch: Buffer | undefined
    return (chunk) => {
      // After an abort its blocks stay pending, to be given back.
      if (this.#stopped || run.controller.signal.aborted) return
      while (chunk.length > 0 && i < blocks.length) {
        const block = blocks[i]
        const take = Math.min(block.length - filled, chunk.length)
        let data: Buffer | undefined
        if (filled === 0 && take === block.length) data = chunk.subarray(0, take)
        else {
          scratch ??= Buffer.allocUnsafe(BLOCK_SIZE)
          chunk.copy(scratch, filled, 0, take)
          filled += take
          if (filled === block.length) data = scratch.subarray(0, block.length)
        }
        chunk = chunk.subarray(take)
        if (!data) continue
        filled = 0
        i++
        run.pending.delete(block)
        // The downloader copies it at once, so the scratch buffer is free again.
        this.#sink.acceptBlock(this.key, block, data)
      }
    }
  }

  #abort(run: Run, reason: string): void {
    run.abortReason ??= reason
    run.controller.abort()
  }

  #handleFailure(message: string, err: WebSeedError | undefined): void {
    this.#lastError = message
    if (err?.permanent) {
      this.emit('unusable', message)
      return
    }
    // The other run meets the same server: it is given up too, and everything waits.
    for (const run of this.#runs) this.#abort(run, message)
    if (this.#retryTimer) return
    this.#failures++
    const delayMs = webSeedRetryDelayMs(this.#failures, err?.retryAfterSec, this.#retryBaseMs)
    this.#retryAtMs = this.#clock.now() + delayMs
    this.#agents.destroy()
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined
      this.#retryAtMs = undefined
      this.fill()
    }, delayMs)
  }
}

/** Splits blocks, in the order picked, into stretches that follow each other byte for byte. */
export function contiguous(blocks: BlockRef[], pieceLength: number): BlockRef[][] {
  const out: BlockRef[][] = []
  let current: BlockRef[] = []
  let nextOffset = -1
  for (const b of blocks) {
    const offset = b.index * pieceLength + b.begin
    if (offset !== nextOffset && current.length > 0) {
      out.push(current)
      current = []
    }
    current.push(b)
    nextOffset = offset + b.length
  }
  if (current.length > 0) out.push(current)
  return out
}
