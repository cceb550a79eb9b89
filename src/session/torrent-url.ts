// Downloads a .torrent from an http(s) link (`add https://…/x.torrent`, as
// aria2c and Transmission accept): at most MAX_TORRENT_BYTES, within a
// time limit, following a few redirects. Failures are one line naming the
// link and what went wrong. It only fetches bytes: parsing is the caller's.
import type { IncomingMessage } from 'node:http'
import { errorMessage, FriendError } from '../core/types.ts'
import { httpModuleFor, tlsOptionsFor } from '../discovery/http-modules.ts'
import { MAX_TORRENT_BYTES } from '../metainfo/torrent-file.ts'

export interface TorrentUrlOptions {
  /** For the whole download, redirects included (default 30 s). */
  timeoutMs?: number
  maxBytes?: number
  maxRedirects?: number
}

/** True for a link `fetchTorrentUrl` takes. */
export function isTorrentUrl(text: string): boolean {
  return /^https?:\/\//i.test(text)
}

export async function fetchTorrentUrl(url: string, opts: TorrentUrlOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const maxBytes = opts.maxBytes ?? MAX_TORRENT_BYTES
  const maxRedirects = opts.maxRedirects ?? 5
  const fail = (what: string) => new FriendError(`cannot download ${url}: ${what}`)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    let current = url
    for (let hop = 0; ; hop++) {
      let parsed: URL
      try {
        parsed = new URL(current)
      } catch {
        throw fail(`"${current}" is not a valid link`)
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw fail(`a redirect to ${parsed.protocol} is not followed`)
      const res = await request(parsed, controller.signal).catch((err: unknown) => {
        throw fail(controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : errorMessage(err))
      })
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume()
        if (hop >= maxRedirects) throw fail(`more than ${maxRedirects} redirects`)
        current = new URL(res.headers.location, parsed).href
        continue
      }
      if (status !== 200) {
        res.resume()
        throw fail(`the server answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`)
      }
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy()
        throw fail(`it is ${declared} bytes, over the ${maxBytes}-byte limit for a .torrent`)
      }
      return await readBody(res, maxBytes).catch((err: unknown) => {
        throw err instanceof FriendError ? fail(err.message) : fail(controller.signal.aborted ? `no answer within ${timeoutMs / 1000} s` : errorMessage(err))
      })
    }
  } finally {
    clearTimeout(timer)
  }
}

async function request(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  const { get } = await httpModuleFor(url)
  return new Promise((resolve, reject) => {
    // No keep-alive agent: nothing stays open once the file is in.
    const req = get(url, { agent: false, ...tlsOptionsFor(url), signal, headers: { accept: 'application/x-bittorrent, */*' } }, resolve)
    req.once('error', reject)
  })
}

function readBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const settle = (err: Error | undefined) => {
      if (settled) return
      settled = true
      if (err) reject(err)
      else resolve(Buffer.concat(chunks))
    }
    res.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        settle(new FriendError(`it is over the ${maxBytes}-byte limit for a .torrent`))
        res.destroy()
        return
      }
      chunks.push(chunk)
    })
    res.once('end', () => settle(undefined))
    res.on('error', (err) => settle(err))
    res.once('close', () => settle(res.complete ? undefined : new Error('the connection closed before the end of the file')))
  })
}
