// BEP 19 (GetRight-style web seeds), the pure part: which URL holds each file
// of a torrent, how a byte range of the torrent's payload becomes HTTP Range
// requests (one per file it touches; BEP 47 pad files are zeros and never
// asked for), and how long to wait after a web seed failed. No sockets here.
//
// URLs: a torrent of one file has it at the URL itself, or at URL + its path
// (name, then path for a multi-file torrent) when the URL ends with "/", as
// libtorrent reads it; a torrent of several files has them at URL + name +
// "/" + path (the metainfo already ends such a URL with "/"). Names and paths are the ones the
// torrent states (the server holds the files as published, not as made safe
// for our disk), each component percent-encoded on its own.
import type { Metainfo } from '../metainfo/metainfo.ts'
import { spansFor } from '../metainfo/layout.ts'

/** One HTTP Range request (or, for a pad file, zeros) covering part of a range of the payload. */
export interface RangePart {
  fileIndex: number
  /** Undefined for a pad file: its bytes are zeros, never fetched. */
  url: string | undefined
  /** First and last byte in the file, inclusive, as an HTTP Range says them. */
  start: number
  end: number
  length: number
  /** The file's size, which a 206's Content-Range total must match. */
  fileLength: number
  /** Where this part starts in the range asked for. */
  rangeOffset: number
}

const RETRY_BASE_MS = 5_000
/** A web seed that keeps failing is still tried every 10 minutes. */
export const WEB_SEED_RETRY_CAP_MS = 10 * 60_000

/**
 * Wait before the next try after the `failures`-th failure in a row (n ≥ 1):
 * `baseMs` · 2ⁿ⁻¹, so 5 s, 10 s, 20 s… capped at 10 min. A server's
 * Retry-After (seconds) is honoured when longer, within the cap.
 */
export function webSeedRetryDelayMs(failures: number, retryAfterSec?: number, baseMs = RETRY_BASE_MS): number {
  const n = Math.max(1, Math.floor(failures))
  const backoff = Math.min(baseMs * 2 ** (n - 1), WEB_SEED_RETRY_CAP_MS)
  const asked = retryAfterSec !== undefined && Number.isFinite(retryAfterSec) && retryAfterSec > 0 ? retryAfterSec * 1000 : 0
  return Math.min(Math.max(backoff, asked), WEB_SEED_RETRY_CAP_MS)
}

/** RFC 3986 unreserved characters stay; every other byte of the UTF-8 form is %XX. "." and ".." are escaped too, so they stay names. */
export function encodePathComponent(part: string): string {
  let out = ''
  for (const byte of Buffer.from(part, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_~]/.test(c) || (c === '.' && part !== '.' && part !== '..') ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** The URL of each file of `meta` at web seed `base` (pad files: undefined). */
export function webSeedFileUrls(base: string, meta: Pick<Metainfo, 'name' | 'files' | 'pathChanges'>): (string | undefined)[] {
  const original = new Map(meta.pathChanges.map((c) => [c.file, c.original]))
  const name = original.get(null)?.[0] ?? meta.name
  // The path as the torrent states it, after the torrent's name.
  const path = (i: number) => [name, ...(original.get(i) ?? meta.files[i].path).slice(1)].map(encodePathComponent).join('/')
  if (meta.files.length === 1) return [base.endsWith('/') ? base + path(0) : base]
  const root = base.endsWith('/') ? base : `${base}/`
  return meta.files.map((file, i) => (file.padding ? undefined : root + path(i)))
}

/**
 * The requests for `length` bytes of the payload from `offset`, in payload
 * order: one per file the range touches (zero-length files touch none).
 */
export function planRange(fileUrls: (string | undefined)[], files: Metainfo['files'], offset: number, length: number): RangePart[] {
  return spansFor(files, offset, length).map((span) => {
    const file = files[span.fileIndex]
    return {
      fileIndex: span.fileIndex,
      url: file.padding ? undefined : fileUrls[span.fileIndex],
      start: span.fileOffset,
      end: span.fileOffset + span.length - 1,
      length: span.length,
      fileLength: file.length,
      rangeOffset: span.chunkOffset,
    }
  })
}
