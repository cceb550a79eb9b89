// Strict bencode framing for extension payloads: core/bencode-scan finds where a value ends
// (64 levels deep at most), then `bencode` decodes only well-formed bytes. Alone, bencode.decode
// loops forever on a negative string length ("d0:-4:"), recurses without limit, and cannot say
// where a dict ends when raw bytes follow it (BEP 9 data). Throws nothing but WireError.

import bencode from 'bencode'
import { BencodeScanError, bencodeEnd as scanEnd } from '../core/bencode-scan.ts'
import { WireError } from './wire-error.ts'

const MAX_DEPTH = 64
const CH_D = 0x64

/** The offset just past the one bencoded value starting at `start`; throws WireError if malformed. */
function bencodeEnd(buf: Uint8Array, start: number): number {
  try {
    return scanEnd(buf, start, { maxDepth: MAX_DEPTH })
  } catch (err) {
    if (err instanceof BencodeScanError) throw new WireError(err.message)
    throw err
  }
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
