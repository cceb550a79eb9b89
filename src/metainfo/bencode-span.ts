// Byte spans of bencoded values in a .torrent, found without decoding. The info hash is
// the SHA-1 of the info dict exactly as written, so we need its span; re-encoding a
// decoded dict would change unsorted keys. Scanning is core/bencode-scan's; this module
// never copies the data, never nests past MAX_DEPTH and throws only MetainfoError.

import { BencodeScanError, bencodeEnd } from '../core/bencode-scan.ts'
import { MetainfoError } from './metainfo-error.ts'

/** Counted from the outermost value; real torrents nest 4 or 5 deep. */
const MAX_DEPTH = 512
const CH_0 = 0x30
const CH_9 = 0x39
const CH_COLON = 0x3a
const CH_D = 0x64
const CH_E = 0x65

export interface ByteSpan {
  start: number
  end: number
}

/** Returns the offset just past the bencoded value that starts at `pos`. `what` prefixes error messages. */
export function valueEnd(buf: Uint8Array, pos: number, what: string): number {
  return scan(buf, pos, MAX_DEPTH, what)
}

/**
 * Spans of the values of a top-level dictionary's keys, by key (latin1 text of
 * the key bytes). Throws if `buf` does not start with a dict or a key repeats.
 */
export function topLevelSpans(buf: Uint8Array, what: string): { spans: Map<string, ByteSpan>; end: number } {
  if (buf.length === 0) throw new MetainfoError(`${what}: it is empty`)
  if (buf[0] !== CH_D) throw new MetainfoError(`${what}: it does not start with a bencoded dictionary`)
  const spans = new Map<string, ByteSpan>()
  let p = 1
  while (p < buf.length && buf[p] !== CH_E) {
    if (buf[p] < CH_0 || buf[p] > CH_9) throw new MetainfoError(`${what}: bencoded dictionary key at byte ${p} is not a string`)
    const keyEnd = scan(buf, p, 0, what)
    const keyStart = buf.indexOf(CH_COLON, p) + 1
    const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, keyEnd - keyStart).toString('latin1')
    const start = keyEnd
    // The top-level dict is one level already.
    p = scan(buf, start, MAX_DEPTH - 1, what)
    if (spans.has(key)) throw new MetainfoError(`${what}: key "${key}" appears twice`)
    spans.set(key, { start, end: p })
  }
  if (p >= buf.length) throw truncated(what, buf.length)
  return { spans, end: p + 1 }
}

function scan(buf: Uint8Array, pos: number, maxDepth: number, what: string): number {
  try {
    return bencodeEnd(buf, pos, { maxDepth })
  } catch (err) {
    if (!(err instanceof BencodeScanError)) throw err
    throw err.truncated ? truncated(what, buf.length) : new MetainfoError(`${what}: ${err.message}`)
  }
}

function truncated(what: string, pos: number): MetainfoError {
  return new MetainfoError(`${what}: data ends early (truncated at byte ${pos})`)
}
