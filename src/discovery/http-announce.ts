// One announce to an HTTP(S) tracker (BEP 3; compact peers BEP 23, IPv6 peers
// BEP 7) and the parsing of its bencoded reply. Each request has its own
// connection, closed after the reply, so nothing lingers in a keep-alive pool.
// Never schedules, retries or sets a timer: the caller cancels.
import type { ClientRequest } from 'node:http'
import bencode from 'bencode'
import { isIP } from 'node:net'
import { FriendError, errorMessage, type PeerAddress } from '../core/types.ts'
import { canonicalHost } from '../core/address.ts'
import { decodeCompactPeers } from './compact-peers.ts'
import { httpModuleFor, tlsOptionsFor, type HttpModule, type HttpsModule } from './http-modules.ts'
import {
  describeNetworkError,
  settleOnce,
  type AnnounceCall,
  type AnnounceRequest,
  type AnnounceResponse,
  type TrackerCall,
} from './tracker-announce.ts'

/** A peer list of 50 is ~300 bytes; anything near this is not a tracker reply. */
const MAX_RESPONSE_BYTES = 1 << 20
const MAX_REDIRECTS = 3
const USER_AGENT = 'friendtorrent/0.1'
const PREVIEW_CHARS = 40
/** Node's http and https modules by URL scheme, once loaded (http-modules.ts): later requests go out at once. */
const loaded = new Map<string, HttpModule | HttpsModule>()

export function httpAnnounce(url: string, request: AnnounceRequest): AnnounceCall {
  return httpTrackerGet(announceUrlWithQuery(url, request), url, (status, statusMessage, body) => parseHttpAnnounceReply(status, statusMessage, body, request.peerId))
}

/**
 * GET `target` (following up to 3 redirects) and parse the whole body with
 * `parse`, which throws a FriendError for a bad reply. `url` names the tracker
 * in errors. Shared by announces and scrapes.
 */
export function httpTrackerGet<T>(target: string, url: string, parse: (status: number, statusMessage: string, body: Uint8Array) => T): TrackerCall<T> {
  let current: ClientRequest | undefined
  const { result, resolve, fail, cancel, isSettled } = settleOnce<T>(() => {
    current?.destroy()
    current = undefined
  })

  const send = (target: URL, redirectsLeft: number): void => {
    const where = `tracker ${target.host}`
    const client = loaded.get(target.protocol)
    if (!client) {
      // Node's http (or https) module is loaded at the first tracker that needs it; the call may be cancelled meanwhile.
      httpModuleFor(target).then(
        (m) => {
          loaded.set(target.protocol, m)
          if (!isSettled()) send(target, redirectsLeft)
        },
        (err: unknown) => fail(`${where}: cannot load Node's ${target.protocol.slice(0, -1)} module: ${errorMessage(err)}`),
      )
      return
    }
    const req = client.get(
      target,
      // agent: false gives this request its own socket, closed after the reply.
      { agent: false, ...tlsOptionsFor(target), headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity' } },
      (res) => {
        const status = res.statusCode ?? 0
        const location = res.headers.location
        if (status >= 300 && status < 400 && location !== undefined) {
          res.resume()
          current = undefined
          req.destroy()
          if (redirectsLeft === 0) return fail(`${where} redirected more than ${MAX_REDIRECTS} times`)
          let next: URL
          try {
            next = new URL(location, target)
          } catch {
            return fail(`${where} redirected to an invalid URL "${location}"`)
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            return fail(`${where} redirected to a non-HTTP URL "${next.href}"`)
          }
          return send(next, redirectsLeft - 1)
        }
        const chunks: Buffer[] = []
        let received = 0
        res.on('data', (chunk: Buffer) => {
          if (req !== current) return
          received += chunk.length
          if (received > MAX_RESPONSE_BYTES) return fail(`${where} sent a reply larger than ${MAX_RESPONSE_BYTES} bytes`)
          chunks.push(chunk)
        })
        res.on('end', () => {
          if (req !== current) return
          const body = Buffer.concat(chunks, received)
          try {
            resolve(parse(status, res.statusMessage ?? '', body))
          } catch (err) {
            fail(errorMessage(err))
          }
        })
        res.on('error', (err) => req === current && fail(describeNetworkError(err, where)))
        res.on('close', () => {
          if (req === current && !res.complete) fail(`${where} closed the connection in the middle of its reply`)
        })
      },
    )
    // Errors of a request we dropped (a redirect, a cancel) are expected and ignored.
    req.on('error', (err) => req === current && fail(describeNetworkError(err, where)))
    current = req
  }

  let parsed: URL
  try {
    parsed = new URL(target)
  } catch {
    fail(`"${url}" is not a valid tracker URL`)
    return { result, cancel }
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fail(`"${url}" is not an http or https tracker URL`)
    return { result, cancel }
  }
  send(parsed, MAX_REDIRECTS)
  return { result, cancel }
}

/** BEP 3 announce query; binary values are %-escaped byte by byte. */
export function announceUrlWithQuery(url: string, request: AnnounceRequest): string {
  const params = [
    `info_hash=${escapeBytes(request.infoHash)}`,
    `peer_id=${escapeBytes(request.peerId)}`,
    `port=${request.port}`,
    `uploaded=${wholeBytes(request.uploaded)}`,
    `downloaded=${wholeBytes(request.downloaded)}`,
    `left=${wholeBytes(request.left)}`,
    'compact=1',
    `numwant=${request.numWant}`,
    `key=${(request.key >>> 0).toString(16).padStart(8, '0')}`,
  ]
  // BEP 3: a regular announce carries no event at all.
  if (request.event !== 'update') params.push(`event=${request.event}`)
  if (request.trackerId) params.push(`trackerid=${escapeBytes(request.trackerId)}`)
  // Private trackers put a passkey in the query already.
  const hashAt = url.indexOf('#')
  const base = hashAt >= 0 ? url.slice(0, hashAt) : url
  return base + (base.includes('?') ? '&' : '?') + params.join('&')
}

function wholeBytes(n: number): string {
  return String(Math.max(0, Math.floor(n)))
}

export function escapeBytes(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Parses a tracker's HTTP reply; throws a FriendError whose message says what was wrong. */
/** `ourPeerId`: a non-compact list's entry carrying it is us (as the tracker sees us, e.g. behind NAT) and is left out. */
export function parseHttpAnnounceReply(status: number, statusMessage: string, body: Uint8Array, ourPeerId?: Uint8Array): AnnounceResponse {
  let decoded: unknown
  let decodeError: string | undefined
  try {
    decoded = body.length === 0 ? undefined : bencode.decode(body)
  } catch (err) {
    decodeError = errorMessage(err)
  }
  const dict = isDict(decoded) ? decoded : undefined
  const failure = dict?.['failure reason']
  if (failure !== undefined) throw new FriendError(`tracker refused the announce: ${oneLine(text(failure))}`)
  if (status !== 200) throw new FriendError(`tracker answered HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`)
  if (body.length === 0) throw new FriendError('tracker sent an empty reply')
  if (decodeError !== undefined) {
    throw new FriendError(`tracker sent a reply that is not bencoded (starts with ${preview(body)}): ${decodeError}`)
  }
  if (!dict) throw new FriendError(`tracker sent a bencoded ${describeValue(decoded)} instead of a dictionary`)
  if (dict.peers === undefined && dict.peers6 === undefined && dict.interval === undefined) {
    throw new FriendError('tracker reply has neither peers nor an interval')
  }

  const peers: PeerAddress[] = []
  if (dict.peers instanceof Uint8Array) peers.push(...decodeCompactPeers(dict.peers, 4))
  else if (Array.isArray(dict.peers)) peers.push(...dictPeers(dict.peers, ourPeerId))
  else if (dict.peers !== undefined) throw new FriendError('tracker reply has a "peers" value that is neither a string nor a list')
  if (dict.peers6 instanceof Uint8Array) peers.push(...decodeCompactPeers(dict.peers6, 6))
  else if (Array.isArray(dict.peers6)) peers.push(...dictPeers(dict.peers6, ourPeerId))

  const response: AnnounceResponse = { peers }
  const interval = count(dict.interval)
  if (interval !== undefined) response.intervalSec = interval
  const minInterval = count(dict['min interval'])
  if (minInterval !== undefined) response.minIntervalSec = minInterval
  const seeders = count(dict.complete)
  if (seeders !== undefined) response.seeders = seeders
  const leechers = count(dict.incomplete)
  if (leechers !== undefined) response.leechers = leechers
  if (dict['tracker id'] instanceof Uint8Array && dict['tracker id'].length > 0) response.trackerId = dict['tracker id']
  if (dict['warning message'] !== undefined) response.warning = oneLine(text(dict['warning message']))
  return response
}

/** BEP 3 non-compact form: a list of {ip, port, peer id}; `ip` may be a name. Bad entries, and us, are skipped. */
function dictPeers(list: unknown[], ourPeerId: Uint8Array | undefined): PeerAddress[] {
  const peers: PeerAddress[] = []
  for (const entry of list) {
    if (!isDict(entry) || !(entry.ip instanceof Uint8Array)) continue
    const id = entry['peer id']
    if (ourPeerId && id instanceof Uint8Array && Buffer.compare(id, ourPeerId) === 0) continue
    const port = entry.port
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue
    const host = canonicalHost(text(entry.ip))
    if (host.length === 0 || (isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host))) continue
    peers.push({ host, port })
  }
  return peers
}

export function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

export function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
}

export function text(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  return String(v)
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim()
}

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'list'
  if (v instanceof Uint8Array) return 'string'
  return typeof v === 'number' ? 'integer' : typeof v
}

export function preview(body: Uint8Array): string {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, PREVIEW_CHARS)).toString('latin1')
  return JSON.stringify(head.replace(/[^\x20-\x7e]/g, '.'))
}
