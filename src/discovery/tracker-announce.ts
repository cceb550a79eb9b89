// What one announce to one tracker is, whatever the transport: the request,
// the reply, the cancellable call that settles once (scrapes use it too), and
// how a URL picks its client (http-announce.ts for BEP 3/7/23, udp-announce.ts
// for BEP 15). No schedule,
// no retries and no timers: the caller owns time and calls cancel().
//
// We do not drive bittorrent-tracker's Client for this. Its HTTP tracker reads
// the body in an async function whose rejection nobody catches, so aborting a
// slow reply (on our timeout, or its own 15 s one) crashes the process with an
// unhandled AbortError; and its trackers re-announce on their own setInterval,
// keeping the interval to themselves (the UDP one never reports it).
import { FriendError, type PeerAddress } from '../core/types.ts'

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'update'

export interface AnnounceRequest {
  infoHash: Buffer
  peerId: Buffer
  port: number
  uploaded: number
  downloaded: number
  left: number
  event: AnnounceEvent
  numWant: number
  /** BEP 3/15 `key`: lets a tracker know us across IP changes. */
  key: number
  /** BEP 3 `tracker id` from this tracker's previous reply. */
  trackerId?: Uint8Array
}

export interface AnnounceResponse {
  intervalSec?: number
  minIntervalSec?: number
  seeders?: number
  leechers?: number
  peers: PeerAddress[]
  trackerId?: Uint8Array
  warning?: string
}

/** One request to a tracker (an announce, a scrape) that settles once. */
export interface TrackerCall<T> {
  /** Settles once: the reply, a FriendError, or AnnounceCancelledError after cancel(). */
  readonly result: Promise<T>
  /** Aborts the request and releases its socket now. */
  cancel(): void
}

export type AnnounceCall = TrackerCall<AnnounceResponse>

export class AnnounceCancelledError extends Error {
  constructor() {
    super('announce cancelled')
    this.name = 'AnnounceCancelledError'
  }
}

/** The settling side of a TrackerCall, shared by both transports. */
export interface TrackerSettler<T> {
  readonly result: Promise<T>
  isSettled(): boolean
  resolve(value: T): void
  /** Rejects with a FriendError carrying `message`. */
  fail(message: string): void
  /** Rejects with AnnounceCancelledError. */
  cancel(): void
}

/**
 * Settles an announce's result once, whichever of reply, failure or cancel comes first;
 * later calls do nothing. `release` frees the transport's socket just before it settles.
 */
export function settleOnce<T>(release: () => void): TrackerSettler<T> {
  let settled = false
  let resolveResult!: (value: T) => void
  let rejectResult!: (err: Error) => void
  const result = new Promise<T>((resolve, reject) => {
    resolveResult = resolve
    rejectResult = reject
  })
  // A caller that only cancels need not also handle the rejection.
  result.catch(() => {})

  const settle = (outcome: { value: T } | { error: Error }): void => {
    if (settled) return
    settled = true
    release()
    if ('value' in outcome) resolveResult(outcome.value)
    else rejectResult(outcome.error)
  }
  return {
    result,
    isSettled: () => settled,
    resolve: (value) => settle({ value }),
    fail: (message) => settle({ error: new FriendError(message) }),
    cancel: () => settle({ error: new AnnounceCancelledError() }),
  }
}

export type TrackerProtocol = 'http' | 'udp'

/** Which client a URL needs, or a one-line reason it cannot be announced to. */
export function trackerProtocol(url: string): TrackerProtocol | { unsupported: string } {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { unsupported: `"${url}" is not a valid tracker URL` }
  }
  switch (parsed.protocol) {
    case 'http:':
    case 'https:':
      return 'http'
    case 'udp:':
      return 'udp'
    case 'ws:':
    case 'wss:':
      return { unsupported: 'websocket trackers are not supported' }
    default:
      return { unsupported: `tracker URL scheme "${parsed.protocol}" is not supported (use http, https or udp)` }
  }
}

/** A socket error as one line a person can act on. */
export function describeNetworkError(err: unknown, where: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where} (connection refused)`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the tracker host of ${where} (${code})`
    case 'ECONNRESET':
      return `${where} closed the connection before answering`
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${where} (${code})`
  }
  const message = err instanceof Error ? err.message : String(err)
  return `${where}: ${message.split('\n')[0]}`
}
