// One scrape of one tracker for one torrent: how many seeders, leechers and
// completed downloads it counts. HTTP per BEP 48 (the announce URL whose last
// path segment starts with "announce", that word made "scrape"; the reply's
// `files` dict keyed by info hash, and `flags.min_request_interval`), UDP per
// BEP 15 (action 2: 12 bytes a hash). Never schedules or retries: the caller
// (tracker-source.ts) does, and keeps to the tracker's minimum interval.
import bencode from 'bencode'
import { FriendError, errorMessage } from '../core/types.ts'
import { count, escapeBytes, httpTrackerGet, isDict, oneLine, preview, text } from './http-announce.ts'
import { trackerProtocol, type TrackerCall } from './tracker-announce.ts'
import { udpTrackerExchange } from './udp-announce.ts'

export interface ScrapeResponse {
  seeders: number
  leechers: number
  /** Completed downloads the tracker has seen (`downloaded` in BEP 48). */
  completed: number
  /** BEP 48 `flags.min_request_interval`: scrape no more often than this. */
  minRequestIntervalSec?: number
}

const ACTION_SCRAPE = 2
const SCRAPE_REQUEST_HEADER_BYTES = 16
const SCRAPE_RESPONSE_HEADER_BYTES = 8
const SCRAPE_ENTRY_BYTES = 12

/**
 * The scrape URL for an announce URL, or undefined when the tracker cannot be
 * scraped: BEP 48 for HTTP (no "announce" at the start of the last path
 * segment: no scrape), the same URL for UDP (BEP 15 scrapes on the same port).
 */
export function scrapeUrlFor(announceUrl: string): string | undefined {
  const protocol = trackerProtocol(announceUrl)
  if (protocol === 'udp') return announceUrl
  if (protocol !== 'http') return undefined
  const url = new URL(announceUrl)
  const slash = url.pathname.lastIndexOf('/')
  const last = url.pathname.slice(slash + 1)
  if (!last.startsWith('announce')) return undefined
  url.pathname = url.pathname.slice(0, slash + 1) + 'scrape' + last.slice('announce'.length)
  return url.href
}

/** Scrapes `scrapeUrl` (from scrapeUrlFor) for one torrent. */
export function scrapeTracker(scrapeUrl: string, infoHash: Buffer): TrackerCall<ScrapeResponse> {
  if (trackerProtocol(scrapeUrl) === 'udp') return udpScrape(scrapeUrl, infoHash)
  const hashAt = scrapeUrl.indexOf('#')
  const base = hashAt >= 0 ? scrapeUrl.slice(0, hashAt) : scrapeUrl
  const target = `${base}${base.includes('?') ? '&' : '?'}info_hash=${escapeBytes(infoHash)}`
  return httpTrackerGet(target, scrapeUrl, (status, statusMessage, body) => parseHttpScrapeReply(status, statusMessage, body, infoHash))
}

/** BEP 48 reply: d5:filesd20:<hash>d8:completei…e10:downloadedi…e10:incompletei…eee5:flagsd20:min_request_intervali…eee */
export function parseHttpScrapeReply(status: number, statusMessage: string, body: Uint8Array, infoHash: Buffer): ScrapeResponse {
  let decoded: unknown
  try {
    decoded = body.length === 0 ? undefined : bencode.decode(body)
  } catch (err) {
    if (status !== 200) throw new FriendError(`tracker answered the scrape with HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`)
    throw new FriendError(`tracker sent a scrape reply that is not bencoded (starts with ${preview(body)}): ${errorMessage(err)}`)
  }
  const dict = isDict(decoded) ? decoded : undefined
  if (dict?.['failure reason'] !== undefined) throw new FriendError(`tracker refused the scrape: ${oneLine(text(dict['failure reason']))}`)
  if (status !== 200) throw new FriendError(`tracker answered the scrape with HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`)
  if (!dict) throw new FriendError('tracker sent an empty or non-dictionary scrape reply')
  const files = dict.files
  if (!isDict(files)) throw new FriendError('tracker scrape reply has no "files" dictionary')
  // The bencode decoder keys a dict by the key's UTF-8 text, or by its hex when it is not valid UTF-8.
  // bittorrent-tracker's server sends the hash as a UTF-8-encoded binary string, which reads back as latin1.
  const hex = infoHash.toString('hex')
  const key = Object.keys(files).find((k) => k === hex || Buffer.from(k, 'utf8').equals(infoHash) || Buffer.from(k, 'latin1').equals(infoHash))
  const entry = key === undefined ? undefined : files[key]
  const response: ScrapeResponse = isDict(entry)
    ? { seeders: count(entry.complete) ?? 0, leechers: count(entry.incomplete) ?? 0, completed: count(entry.downloaded) ?? 0 }
    : { seeders: 0, leechers: 0, completed: 0 } // BEP 48: a tracker that does not know the torrent may leave it out
  const flags = dict.flags
  const minInterval = isDict(flags) ? count(flags.min_request_interval) : undefined
  if (minInterval !== undefined) response.minRequestIntervalSec = minInterval
  return response
}

function udpScrape(url: string, infoHash: Buffer): TrackerCall<ScrapeResponse> {
  return udpTrackerExchange<ScrapeResponse>(url, {
    action: ACTION_SCRAPE,
    name: 'scrape',
    request: (connectionId, transactionId) => {
      const packet = Buffer.alloc(SCRAPE_REQUEST_HEADER_BYTES + 20)
      packet.set(connectionId, 0)
      packet.writeUInt32BE(ACTION_SCRAPE, 8)
      packet.writeUInt32BE(transactionId, 12)
      packet.set(infoHash.subarray(0, 20), 16)
      return packet
    },
    parse: (msg, _family, where) => {
      // BEP 15: seeders, completed, leechers, 4 bytes each, per hash asked.
      if (msg.length < SCRAPE_RESPONSE_HEADER_BYTES + SCRAPE_ENTRY_BYTES) throw new FriendError(`${where} sent a malformed scrape reply (${msg.length} bytes)`)
      const at = SCRAPE_RESPONSE_HEADER_BYTES
      return { seeders: msg.readUInt32BE(at), completed: msg.readUInt32BE(at + 4), leechers: msg.readUInt32BE(at + 8) }
    },
  })
}
