// Strict bencode framing for extension payloads: finds where a value ends, then lets
// `bencode` decode only well-formed bytes. bencode.decode alone loops forever on a negative
// string length ("d0:-4:"), recurses without limit, and cannot say where a dict ends when
// raw bytes follow it (BEP 9 data). Throws nothing but WireError.

import bencode from 'bencode'
import { WireError } from './wire-error.ts'

const MAX_DEPTH = 64

const CH_0 = 0x30
const CH_9 = 0x39
const CH_COLON = 0x3a
const CH_MINUS = 0x2d
const CH_D = 0x64
const CH_E = 0x65
const CH_I = 0x69
const CH_L = 0x6c

const IN_LIST = 0
const DICT_KEY = 1
const DICT_VALUE = 2

/** The offset just past the one bencoded value starting at `start`; throws WireError if malformed. */
export function bencodeEnd(buf: Uint8Array, start = 0): number {
  const stack: number[] = []
  let pos = start
  const end = buf.length
  for (;;) {
    if (pos >= end) throw new WireError('bencoded value is truncated')
    const c = buf[pos]
    const top = stack.length > 0 ? stack[stack.length - 1] : -1
    if (c === CH_E) {
      if (top === -1 || top === DICT_VALUE) throw new WireError(`unexpected "e" at byte ${pos} of bencoded value`)
      stack.pop()
      pos++
    } else if (top === DICT_KEY && (c < CH_0 || c > CH_9)) {
      throw new WireError(`bencoded dictionary key at byte ${pos} is not a string`)
    } else if (c === CH_D || c === CH_L) {
      if (stack.length >= MAX_DEPTH) throw new WireError(`bencoded value nests deeper than ${MAX_DEPTH} levels`)
      stack.push(c === CH_D ? DICT_KEY : IN_LIST)
      pos++
      continue
    } else if (c === CH_I) {
      pos = integerEnd(buf, pos)
    } else if (c >= CH_0 && c <= CH_9) {
      pos = stringEnd(buf, pos)
    } else {
      throw new WireError(`unexpected byte 0x${c.toString(16).padStart(2, '0')} at byte ${pos} of bencoded value`)
    }
    if (stack.length === 0) return pos
    const parent = stack.length - 1
    if (stack[parent] !== IN_LIST) stack[parent] = stack[parent] === DICT_KEY ? DICT_VALUE : DICT_KEY
  }
}

function integerEnd(buf: Uint8Array, pos: number): number {
  let i = pos + 1
  if (buf[i] === CH_MINUS) i++
  const digitsStart = i
  while (i < buf.length && buf[i] >= CH_0 && buf[i] <= CH_9) i++
  if (i === digitsStart || i >= buf.length || buf[i] !== CH_E) throw new WireError(`malformed bencoded integer at byte ${pos}`)
  return i + 1
}

function stringEnd(buf: Uint8Array, pos: number): number {
  let length = 0
  let i = pos
  while (i < buf.length && buf[i] >= CH_0 && buf[i] <= CH_9) {
    length = length * 10 + (buf[i] - CH_0)
    if (length > buf.length) throw new WireError(`bencoded string at byte ${pos} is longer than the message`)
    i++
  }
  if (i >= buf.length || buf[i] !== CH_COLON) throw new WireError(`malformed bencoded string length at byte ${pos}`)
  const stringEnd = i + 1 + length
  if (stringEnd > buf.length) throw new WireError(`bencoded string at byte ${pos} is longer than the message`)
  return stringEnd
}

/**
 * Decodes the bencoded dictionary at the start of `buf`. Returns it (byte strings as
 * Uint8Array) and the offset just past it, where any raw trailing bytes begin.
 */
export function decodeDict(buf: Uint8Array, what: string): { dict: Record<string, unknown>; end: number } {
  if (buf.length === 0 || buf[0] !== CH_D) throw new WireError(`${what} is not a bencoded dictionary`)
  const end = bencodeEnd(buf, 0)
  let dict: unknown
  try {
    dict = bencode.decode(buf, 0, end)
  } catch (err) {
    throw new WireError(`${what} is not valid bencode: ${err instanceof Error ? err.message : String(err)}`)
  }
  return { dict: dict as Record<string, unknown>, end }
}

export function encodeDict(dict: Record<string, unknown>): Buffer {
  const bytes = bencode.encode(dict)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Reads an own key only: a peer's "__proto__" key must not make other keys appear. */
export function own(dict: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}

/** A bencoded integer that fits a JS number exactly, else undefined. */
export function safeInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined
}
