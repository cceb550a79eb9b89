// How deep a peer's pipeline of block requests is kept, and when it is topped
// up (the downloader's fill). Pure: the caller passes what it knows of the peer.
import { BLOCK_SIZE } from '../core/types.ts'

/** 256 × 16 KiB = 4 MiB in flight per peer: 10 ms at 400 MB/s, seconds on any WAN link. */
export const MAX_QUEUE_DEPTH = 256
const MIN_QUEUE_DEPTH = 32
/** Top-ups come in batches of up to this many: picking and sending a few requests at a time, not one per block received, costs less CPU. */
const MAX_REFILL_BATCH = 16

/**
 * How many requests to keep outstanding at a peer: about one second of its
 * current rate (far more than any round trip), at least 32, at most what it
 * will queue (reqq) and never over MAX_QUEUE_DEPTH: deeper queues only hold
 * more pieces open in memory. One for a snubbed peer.
 */
export function queueDepth(snubbed: boolean, rateBytesPerSec: number, maxRequests: number): number {
  if (snubbed) return 1
  return Math.min(maxRequests, MAX_QUEUE_DEPTH, Math.max(MIN_QUEUE_DEPTH, Math.ceil(rateBytesPerSec / BLOCK_SIZE)))
}

/**
 * How many requests to add now at a peer with `outstanding` of `depth`: the
 * rest of the depth, but while some are still out only once an eighth of it
 * (at most MAX_REFILL_BATCH) is free, so the queue stays at least seven eighths
 * full; a depth of 8 or less is topped up block by block. 0: none yet.
 */
export function requestsToAdd(depth: number, outstanding: number): number {
  const free = depth - outstanding
  if (free <= 0 || (outstanding > 0 && free < Math.min(MAX_REFILL_BATCH, depth >> 3))) return 0
  return free
}
