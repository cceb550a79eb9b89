// One HTTP(S) Range request to a web seed (BEP 19): GET with `Range:
// bytes=start-end`, redirects followed (at most a few), and the answer checked
// before a byte is used: a 206 must carry exactly the range asked for (and
// the file's size, when it says one); a 200 (the server ignores Range) is read
// through only when the range starts near the file's start, skipping up to it.
// The body is handed on as it arrives and never buffered: past the bytes asked
// for, the response is cut off, whatever the server sends.
// It knows nothing of pieces or peers; the caller aborts it (its signal) when
// the server goes quiet.
import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { errorMessage } from '../core/types.ts'
import { httpModuleFor, tlsOptionsFor, type HttpModule, type HttpsModule } from './http-modules.ts'

/** Redirects followed per request, as for a .torrent link. */
const MAX_REDIRECTS = 5
/** A 200 is read through (and the bytes before the range dropped) only for a range starting within this. */
const MAX_SKIP_BYTES = 4 * 1024 * 1024

/** Why a request failed; `permanent` ones (a server that cannot serve this torrent) drop the web seed, others are retried later. */
export class WebSeedError extends Error {
  readonly permanent: boolean
  /** A 503's or 429's Retry-After, in seconds. */
  readonly retryAfterSec: number | undefined

  constructor(message: string, permanent: boolean, retryAfterSec?: number) {
    super(message)
    this.name = 'WebSeedError'
    this.permanent = permanent
    this.retryAfterSec = retryAfterSec
  }
}

/** Keep-alive connections for one web seed, for whichever scheme a URL or redirect uses. */
export class WebSeedAgents {
  #http: HttpAgent | undefined
  #https: HttpsAgent | undefined

  /** `client`: Node's http or https module for the URL's scheme, which the caller loads. */
  for(url: URL, client: HttpModule | HttpsModule): HttpAgent {
    if (url.protocol === 'https:') return (this.#https ??= new (client as HttpsModule).Agent({ keepAlive: true, maxSockets: 4, ...tlsOptionsFor(url) }))
    return (this.#http ??= new client.Agent({ keepAlive: true, maxSockets: 4 }))
  }

  /** Closes every connection, idle or not; a later request opens new ones. */
  destroy(): void {
    this.#http?.destroy()
    this.#https?.destroy()
    this.#http = undefined
    this.#https = undefined
  }
}

export interface RangeGetOptions {
  url: string
  /** First and last byte of the file, inclusive. */
  start: number
  end: number
  /** The file's size as the torrent says it. */
  fileLength: number
  agents: WebSeedAgents
  signal: AbortSignal
  /** Exactly end - start + 1 bytes in all, in order, unless the request fails. */
  onData: (chunk: Buffer) => void
  /** The server's name (its Server header), once it answers. */
  onServer?: (server: string) => void
}

export async function rangeGet(opts: RangeGetOptions): Promise<void> {
  let current = opts.url
  for (let hop = 0; ; hop++) {
    const url = new URL(current)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebSeedError(`a redirect to ${url.protocol} is not followed`, true)
    const res = await request(url, opts)
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location) {
      res.on('error', () => {})
      res.resume()
      if (hop >= MAX_REDIRECTS) throw new WebSeedError(`more than ${MAX_REDIRECTS} redirects`, true)
      current = new URL(res.headers.location, url).href
      continue
    }
    if (typeof res.headers.server === 'string') opts.onServer?.(res.headers.server)
    const skip = checkAnswer(res, opts)
    return readRange(res, skip, opts)
  }
}

async function request(url: URL, opts: RangeGetOptions): Promise<IncomingMessage> {
  const client = await httpModuleFor(url)
  return new Promise((resolve, reject) => {
    const req = client.get(url, {
      agent: opts.agents.for(url, client),
      headers: { range: `bytes=${opts.start}-${opts.end}`, 'accept-encoding': 'identity', 'user-agent': 'friendtorrent' },
    }, (res) => {
      // An abort can error the answer before its reader listens: never an uncaught exception (the reader still sees it).
      res.on('error', () => {})
      resolve(res)
    })
    // Kept for the request's life: an abort after the answer is in still errors it.
    req.on('error', (err) => reject(new WebSeedError(errorMessage(err), false)))
    // Aborted by destroying the request without an error, not through Node's `signal` option:
    // that destroys it, and its socket, with an AbortError, which a fresh-clone run saw
    // escape as an uncaught exception when a bad web seed was dropped mid-answer. Without
    // an error, an unanswered request fails with "socket hang up" and an answer being read
    // ends short ("aborted"); the caller reports its own reason either way.
    const abort = () => req.destroy()
    if (opts.signal.aborted) abort()
    else {
      opts.signal.addEventListener('abort', abort, { once: true })
      req.once('close', () => opts.signal.removeEventListener('abort', abort))
    }
  })
}

/** Checks the status and headers; returns how many bytes of the body come before the range. */
function checkAnswer(res: IncomingMessage, opts: RangeGetOptions): number {
  const status = res.statusCode ?? 0
  const fail = (message: string, permanent: boolean, retryAfterSec?: number): never => {
    res.on('error', () => {})
    res.destroy()
    throw new WebSeedError(message, permanent, retryAfterSec)
  }
  const encoding = res.headers['content-encoding']
  if (encoding && encoding !== 'identity') fail(`it answered with ${encoding} encoding, not the file's bytes`, true)
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '')
    if (!m || Number(m[1]) !== opts.start || Number(m[2]) !== opts.end) {
      return fail(`asked for bytes ${opts.start}-${opts.end}, it answered ${res.headers['content-range'] ? `bytes ${res.headers['content-range']}` : 'without a Content-Range'}`, true)
    }
    if (m[3] !== '*' && Number(m[3]) !== opts.fileLength) fail(`the file is ${m[3]} bytes there, the torrent says ${opts.fileLength}`, true)
    return 0
  }
  if (status === 200) {
    const declared = Number(res.headers['content-length'])
    if (res.headers['content-length'] !== undefined && declared !== opts.fileLength) fail(`the file is ${declared} bytes there, the torrent says ${opts.fileLength}`, true)
    if (opts.start > MAX_SKIP_BYTES) fail(`it ignores Range requests (answered 200 to one for byte ${opts.start})`, true)
    return opts.start
  }
  if (status === 416) fail(`the file is shorter there than the torrent says (416 for bytes ${opts.start}-${opts.end})`, true)
  const retryAfter = Number(res.headers['retry-after'])
  return fail(`the server answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, false, Number.isFinite(retryAfter) ? retryAfter : undefined)
}

/** Hands on the `end - start + 1` bytes after `skip`, then lets the response end or cuts it off. */
function readRange(res: IncomingMessage, skip: number, opts: RangeGetOptions): Promise<void> {
  const want = opts.end - opts.start + 1
  return new Promise((resolve, reject) => {
    let toSkip = skip
    let got = 0
    let settled = false
    const settle = (err?: Error) => {
      if (settled) return
      settled = true
      if (err) reject(err)
      else resolve()
    }
    res.on('data', (chunk: Buffer) => {
      if (settled) return
      if (got === want) {
        // More than the Content-Range said: not read.
        res.destroy()
        return settle()
      }
      if (toSkip > 0) {
        const n = Math.min(toSkip, chunk.length)
        toSkip -= n
        chunk = chunk.subarray(n)
      }
      const take = Math.min(chunk.length, want - got)
      if (take > 0) {
        got += take
        opts.onData(take < chunk.length ? chunk.subarray(0, take) : chunk)
      }
      // All we asked for is in: the rest of a 200's file, or bytes past the range, are never read.
      if (got === want && (take < chunk.length || skip > 0)) {
        res.destroy()
        settle()
      }
    })
    res.once('end', () => settle(got === want ? undefined : new WebSeedError(`the answer ended after ${got} of ${want} bytes`, false)))
    res.on('error', (err) => settle(new WebSeedError(errorMessage(err), false)))
    res.once('close', () => settle(got === want ? undefined : new WebSeedError(`the connection closed after ${got} of ${want} bytes`, false)))
  })
}
