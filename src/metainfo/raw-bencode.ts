// Decodes a bencoded value keeping what a decoded object loses: dict keys in
// their order and as raw bytes (an object puts "10" before "9" and turns
// non-UTF-8 keys into U+FFFD). For BEP 52's file tree and piece layers, whose
// keys are names and hashes. Frames the value first (bencode-span), so it never
// reads past the buffer or nests past its limit; throws only MetainfoError.

import { valueEnd } from './bencode-span.ts'

/** A bencoded dict with its keys in order, as raw bytes. */
export type RawDict = [key: Buffer, value: RawValue][]
export type RawValue = number | Buffer | RawValue[] | { dict: RawDict }

export function isRawDict(value: RawValue | undefined): value is { dict: RawDict } {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && !Array.isArray(value)
}

/** Decodes the (already framed) bencoded value at `start`, keeping dict key order and raw bytes. */
export function readRaw(buf: Buffer, start: number, what: string): RawValue {
  valueEnd(buf, start, what)
  let pos = start
  const read = (): RawValue => {
    const c = buf[pos]
    if (c === 0x69) {
      const end = buf.indexOf(0x65, pos)
      const n = Number(buf.toString('latin1', pos + 1, end))
      pos = end + 1
      return n
    }
    if (c === 0x6c || c === 0x64) {
      pos++
      const items: RawValue[] = []
      const dict: RawDict = []
      while (buf[pos] !== 0x65) {
        if (c === 0x6c) items.push(read())
        else {
          const key = read() as Buffer
          dict.push([key, read()])
        }
      }
      pos++
      return c === 0x6c ? items : { dict }
    }
    const colon = buf.indexOf(0x3a, pos)
    const length = Number(buf.toString('latin1', pos, colon))
    pos = colon + 1 + length
    return buf.subarray(colon + 1, pos)
  }
  return read()
}

/** The value of `name` in a raw dict, or undefined. */
export function rawField(dict: RawDict, name: string): RawValue | undefined {
  return dict.find(([k]) => k.toString('latin1') === name)?.[1]
}
