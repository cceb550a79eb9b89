// Walks bencoded bytes without decoding them, to find where a value starts and
// ends. The info hash is the SHA-1 of the info dict exactly as written, so we
// need its byte span; re-encoding a decoded dict would change unsorted keys.
// Never allocates copies of the data and never recurses past MAX_DEPTH.

import { MetainfoError } from './metainfo-error.ts'

const MAX_DEPTH = 512
const CH_0 = 0x30
const CH_9 = 0x39
const CH_COLON = 0x3a
const CH_MINUS = 0x2d
const CH_D = 0x64
const CH_E = 0x65
const CH_I = 0x69
const CH_L = 0x6c

export interface ByteSpan {
  start: number
  end: number
}

/** Returns the offset just past the bencoded value that starts at `pos`. `what` prefixes error messages. */
export function valueEnd(buf: Uint8Array, pos: number, what: string, depth = 0): number {
  if (depth > MAX_DEPTH) throw new MetainfoError(`${what}: nested deeper than ${MAX_DEPTH} levels`)
  if (pos >= buf.length) throw truncated(what, pos)
  const c = buf[pos]
  if (c === CH_I) {
    let p = pos + 1
    if (buf[p] === CH_MINUS) p++
    const digitsStart = p
    while (p < buf.length && buf[p] >= CH_0 && buf[p] <= CH_9) p++
    if (p >= buf.length) throw truncated(what, p)
    if (p === digitsStart || buf[p] !== CH_E) throw unexpected(what, buf, p)
    return p + 1
  }
  if (c >= CH_0 && c <= CH_9) return stringEnd(buf, pos, what)
  if (c === CH_L) {
    let p = pos + 1
    while (p < buf.length && buf[p] !== CH_E) p = valueEnd(buf, p, what, depth + 1)
    if (p >= buf.length) throw truncated(what, p)
    return p + 1
  }
  if (c === CH_D) {
    let p = pos + 1
    while (p < buf.length && buf[p] !== CH_E) {
      if (buf[p] < CH_0 || buf[p] > CH_9) throw unexpected(what, buf, p, 'a dictionary key')
      p = stringEnd(buf, p, what)
      p = valueEnd(buf, p, what, depth + 1)
    }
    if (p >= buf.length) throw truncated(what, p)
    return p + 1
  }
  throw unexpected(what, buf, pos)
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
    if (buf[p] < CH_0 || buf[p] > CH_9) throw unexpected(what, buf, p, 'a dictionary key')
    const keyEnd = stringEnd(buf, p, what)
    const keyStart = buf.indexOf(CH_COLON, p) + 1
    const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, keyEnd - keyStart).toString('latin1')
    const start = keyEnd
    p = valueEnd(buf, start, what, 1)
    if (spans.has(key)) throw new MetainfoError(`${what}: key "${key}" appears twice`)
    spans.set(key, { start, end: p })
  }
  if (p >= buf.length) throw truncated(what, p)
  return { spans, end: p + 1 }
}

function stringEnd(buf: Uint8Array, pos: number, what: string): number {
  let p = pos
  let length = 0
  while (p < buf.length && buf[p] >= CH_0 && buf[p] <= CH_9) {
    length = length * 10 + (buf[p] - CH_0)
    if (length > buf.length) throw new MetainfoError(`${what}: string at byte ${pos} claims more bytes than the data holds`)
    p++
  }
  if (p >= buf.length) throw truncated(what, p)
  if (buf[p] !== CH_COLON) throw unexpected(what, buf, p)
  const end = p + 1 + length
  if (end > buf.length) throw truncated(what, buf.length)
  return end
}

function truncated(what: string, pos: number): MetainfoError {
  return new MetainfoError(`${what}: data ends early (truncated at byte ${pos})`)
}

function unexpected(what: string, buf: Uint8Array, pos: number, expected?: string): MetainfoError {
  const hex = buf[pos].toString(16).padStart(2, '0')
  return new MetainfoError(`${what}: unexpected byte 0x${hex} at offset ${pos}${expected ? `, expected ${expected}` : ''}`)
}
