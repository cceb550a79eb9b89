// Reading fields of decoded bencode (untrusted): own keys only, byte strings as
// text, the `.utf-8` variants some writers add, and whole-number checks. Pure;
// throws only MetainfoError.

import { MetainfoError } from './metainfo-error.ts'

export type Dict = Record<string, unknown>

/** Own properties only: bencode builds plain objects, so a "__proto__" key must not leak fields in. */
export function own(dict: Dict, key: string): unknown {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}

export function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

export function text(value: unknown): string | undefined {
  if (!(value instanceof Uint8Array)) return undefined
  return Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8')
}

/** `key.utf-8` when present (written by some clients for non-UTF-8 legacy names), else `key`. */
export function preferUtf8(dict: Dict, key: string): unknown {
  const utf8 = own(dict, `${key}.utf-8`)
  return utf8 !== undefined ? utf8 : own(dict, key)
}

export function checkLength(length: unknown, what: string, label: string): asserts length is number {
  if (typeof length !== 'number') throw new MetainfoError(`${what}: ${label} is missing or not a number`)
  if (length > Number.MAX_SAFE_INTEGER) throw new MetainfoError(`${what}: ${label} ${shown(length)} is too large`)
  if (!Number.isSafeInteger(length) || length < 0) throw new MetainfoError(`${what}: ${label} ${shown(length)} must be a whole number of bytes, 0 or more`)
}

/** A decoded integer for a message: bencode turns a 400-digit one into Infinity or a rounded double. */
export function shown(value: number): string {
  if (Math.abs(value) <= Number.MAX_SAFE_INTEGER) return String(value)
  return value < 0 ? '(below -2^53)' : '(2^53 or more)'
}
