// BEP 51 (DHT infohash indexing): the info hashes announced to our node, a
// random sample of them for a `sample_infohashes` reply, and a remote node's
// reply read with every field checked (with the BEP 5 `nodes` and `values`
// it shares with find_node and get_peers). Pure: never touches a socket; the
// caller passes the time in.
//
// A reply carries `interval` (seconds before the sample may change, at most
// 6 h), `num` (how many hashes the node holds), `samples` (20 bytes each) and
// `nodes` (as find_node). From a remote node nothing is trusted: samples that
// are not whole 20-byte hashes refuse the whole reply; `num` and `interval`
// are clamped, never used to size anything.

import { randomInt } from 'node:crypto'
import type { PeerAddress } from '../core/types.ts'
import { decodeCompactPeers } from './compact-peers.ts'

export const INFO_HASH_BYTES = 20
/** BEP 51: "the maximum value is 21600 (6 hours)". */
export const MAX_INTERVAL_SECONDS = 21_600
/**
 * Hashes in one reply: 40 × 20 bytes plus 8 nodes (208 bytes) and the framing
 * stay under 1,200 bytes, one unfragmented UDP datagram on any path.
 */
export const MAX_SAMPLES = 40
/** Compact IPv4 node info: id, address, port. */
const COMPACT_NODE_BYTES = 26
/** Far more than a 64 KiB datagram can hold; a reply claiming more is a lie. */
const MAX_NUM = 1_000_000_000

export interface NodeContact {
  /** 20 bytes, when known. */
  id?: Buffer
  host: string
  port: number
}

export interface SampleReply {
  /** Seconds the node asks us to wait before sampling it again (0-21600). */
  intervalSeconds: number
  /** How many hashes the node says it holds (clamped; a count, never a size). */
  num: number
  samples: Buffer[]
  nodes: NodeContact[]
}

/**
 * The info hashes announced to us, the oldest forgotten past `maxHashes` or
 * once older than `maxAgeMs` (peers re-announce every ~30 min; bittorrent-dht
 * keeps peers no longer than that either).
 */
export class AnnouncedHashes {
  readonly #maxHashes: number
  readonly #maxAgeMs: number
  /** Hex hash → when last announced; insertion order is age order. */
  readonly #seen = new Map<string, number>()

  constructor(opts: { maxHashes?: number; maxAgeMs?: number } = {}) {
    this.#maxHashes = opts.maxHashes ?? 10_000
    this.#maxAgeMs = opts.maxAgeMs ?? 2 * 60 * 60_000
  }

  add(infoHash: Uint8Array, nowMs: number): void {
    if (infoHash.length !== INFO_HASH_BYTES) return
    const key = Buffer.from(infoHash).toString('hex')
    this.#seen.delete(key)
    this.#seen.set(key, nowMs)
    if (this.#seen.size > this.#maxHashes) this.#seen.delete(this.#seen.keys().next().value!)
  }

  /** How many are held now (after forgetting the stale ones). */
  count(nowMs: number): number {
    this.#expire(nowMs)
    return this.#seen.size
  }

  /** Up to `max` distinct hashes chosen at random (all of them when they fit). */
  sample(nowMs: number, max = MAX_SAMPLES): Buffer[] {
    this.#expire(nowMs)
    const keys = [...this.#seen.keys()]
    // A partial Fisher-Yates shuffle: the first `take` places hold the sample.
    const take = Math.min(max, keys.length)
    for (let i = 0; i < take; i++) {
      const j = i + randomInt(keys.length - i)
      ;[keys[i], keys[j]] = [keys[j], keys[i]]
    }
    return keys.slice(0, take).map((k) => Buffer.from(k, 'hex'))
  }

  #expire(nowMs: number): void {
    const cutoff = nowMs - this.#maxAgeMs
    for (const [key, at] of this.#seen) {
      if (at > cutoff) break
      this.#seen.delete(key)
    }
  }
}

/** The `r` dict of our reply, without `id` and `nodes` (k-rpc adds those). */
export function sampleReplyFields(held: AnnouncedHashes, nowMs: number, intervalSeconds: number): { interval: number; num: number; samples: Buffer } {
  const samples = held.sample(nowMs)
  return {
    interval: Math.max(0, Math.min(MAX_INTERVAL_SECONDS, Math.round(intervalSeconds))),
    num: held.count(nowMs),
    samples: Buffer.concat(samples),
  }
}

/** Reads a remote node's `r` dict; throws one line when it is not a BEP 51 reply we can use. */
export function decodeSampleReply(r: unknown): SampleReply {
  if (typeof r !== 'object' || r === null) throw new Error('sample_infohashes reply has no "r" dictionary')
  const dict = r as Record<string, unknown>
  const samples = dict.samples
  // A node without BEP 51 answers like find_node (or with error 204): no samples at all.
  if (!(samples instanceof Uint8Array)) throw new Error('the node does not support sample_infohashes (no "samples" in its reply)')
  if (samples.length % INFO_HASH_BYTES !== 0) {
    throw new Error(`sample_infohashes reply has ${samples.length} bytes of samples, not a multiple of ${INFO_HASH_BYTES}`)
  }
  const list: Buffer[] = []
  for (let off = 0; off < samples.length; off += INFO_HASH_BYTES) list.push(Buffer.from(samples.subarray(off, off + INFO_HASH_BYTES)))
  return {
    intervalSeconds: clampInteger(dict.interval, 0, MAX_INTERVAL_SECONDS, 0),
    num: clampInteger(dict.num, 0, MAX_NUM, list.length),
    samples: list,
    nodes: decodeNodes(dict.nodes),
  }
}

/** BEP 5 compact node info (26 bytes each); a trailing partial entry, port 0 or address 0.0.0.0 is skipped. */
export function decodeNodes(value: unknown): NodeContact[] {
  if (!(value instanceof Uint8Array)) return []
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const nodes: NodeContact[] = []
  for (let off = 0; off + COMPACT_NODE_BYTES <= buf.length; off += COMPACT_NODE_BYTES) {
    const port = buf.readUInt16BE(off + 24)
    const host = `${buf[off + 20]}.${buf[off + 21]}.${buf[off + 22]}.${buf[off + 23]}`
    if (port === 0 || host === '0.0.0.0') continue
    nodes.push({ id: Buffer.from(buf.subarray(off, off + 20)), host, port })
  }
  return nodes
}

function clampInteger(value: unknown, min: number, max: number, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback
  return Math.max(min, Math.min(max, Math.trunc(value)))
}

/** BEP 5 `values`: a list of 6-byte compact IPv4 peers; an entry of any other size is skipped. */
export function decodePeerValues(values: unknown): PeerAddress[] {
  if (!Array.isArray(values)) return []
  return values.flatMap((v: unknown) => (v instanceof Uint8Array && v.length === 6 ? decodeCompactPeers(v, 4) : []))
}
