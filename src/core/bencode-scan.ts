// Finds where one bencoded value ends without decoding it: the framing check that
// runs before `bencode.decode` (which loops forever on "d0:-4:" and recurses without
// limit) and the byte spans the info hash needs. Iterative, so hostile nesting cannot
// blow the stack; never allocates per value and never copies the data.

export class BencodeScanError extends Error {
  /** Where the offending value or byte starts. */
  readonly offset: number
  /** The data ended (or a string claims to run past its end) before the value did. */
  readonly truncated: boolean

  constructor(message: string, offset: number, truncated = false) {
    super(message)
    this.name = 'BencodeScanError'
    this.offset = offset
    this.truncated = truncated
  }
}

export interface BencodeScanOptions {
  /** Lists and dicts nested deeper than this are refused. */
  maxDepth: number
  /**
   * Also refuse what frames but is not canonical (BEP 52 holds v2 info dicts to it,
   * as libtorrent does): dict keys out of order or repeated, integers with leading
   * zeros or "-0".
   */
  canonical?: boolean
}

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

/**
 * The offset just past the one bencoded value starting at `start`; throws BencodeScanError
 * if it is malformed. Leading zeros ("i03e", "03:abc") and "i-0e" pass: they frame
 * unambiguously, and whether to accept them is the decoder's call.
 */
export function bencodeEnd(buf: Uint8Array, start: number, options: BencodeScanOptions): number {
  const { maxDepth, canonical = false } = options
  const stack: number[] = []
  // Per open dict (canonical only): where its previous key starts and ends.
  const lastKey: number[][] = []
  let pos = start
  const end = buf.length
  for (;;) {
    if (pos >= end) throw new BencodeScanError('bencoded value is truncated', pos, true)
    const c = buf[pos]
    const top = stack.length > 0 ? stack[stack.length - 1] : -1
    if (c === CH_E) {
      if (top === -1 || top === DICT_VALUE) throw new BencodeScanError(`unexpected "e" at byte ${pos} of bencoded value`, pos)
      if (stack.pop() !== IN_LIST && canonical) lastKey.pop()
      pos++
    } else if (top === DICT_KEY && (c < CH_0 || c > CH_9)) {
      throw new BencodeScanError(`bencoded dictionary key at byte ${pos} is not a string`, pos)
    } else if (c === CH_D || c === CH_L) {
      if (stack.length >= maxDepth) throw new BencodeScanError(`bencoded value nests deeper than ${maxDepth} levels`, pos)
      stack.push(c === CH_D ? DICT_KEY : IN_LIST)
      if (c === CH_D && canonical) lastKey.push([-1, -1])
      pos++
      continue
    } else if (c === CH_I) {
      const start = pos
      pos = integerEnd(buf, pos)
      if (canonical && !canonicalInteger(buf, start, pos)) throw new BencodeScanError(`bencoded integer at byte ${start} is not in canonical form`, start)
    } else if (c >= CH_0 && c <= CH_9) {
      const start = pos
      pos = stringEnd(buf, pos)
      if (canonical && top === DICT_KEY) checkKeyOrder(buf, start, pos, lastKey[lastKey.length - 1])
    } else {
      throw new BencodeScanError(`unexpected byte 0x${c.toString(16).padStart(2, '0')} at byte ${pos} of bencoded value`, pos)
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
  if (i === digitsStart || i >= buf.length || buf[i] !== CH_E) {
    throw new BencodeScanError(`malformed bencoded integer at byte ${pos}`, pos, i >= buf.length)
  }
  return i + 1
}

function stringEnd(buf: Uint8Array, pos: number): number {
  let length = 0
  let i = pos
  while (i < buf.length && buf[i] >= CH_0 && buf[i] <= CH_9) {
    length = length * 10 + (buf[i] - CH_0)
    // Checked per digit so a 400-digit length cannot grow past what a double holds exactly.
    if (length > buf.length) throw new BencodeScanError(`bencoded string at byte ${pos} is longer than the message`, pos, true)
    i++
  }
  if (i >= buf.length || buf[i] !== CH_COLON) {
    throw new BencodeScanError(`malformed bencoded string length at byte ${pos}`, pos, i >= buf.length)
  }
  const valueEnd = i + 1 + length
  if (valueEnd > buf.length) throw new BencodeScanError(`bencoded string at byte ${pos} is longer than the message`, pos, true)
  return valueEnd
}

/** "i0e", "i-5e", "i12e" yes; "i00e", "i-0e", "i012e" no. */
function canonicalInteger(buf: Uint8Array, start: number, end: number): boolean {
  let i = start + 1
  if (buf[i] === CH_MINUS) {
    i++
    if (buf[i] === CH_0) return false
  }
  return !(buf[i] === CH_0 && i + 1 < end - 1)
}

/** A dict's keys must rise strictly, compared as raw bytes. `previous` is updated. */
function checkKeyOrder(buf: Uint8Array, start: number, end: number, previous: number[]): void {
  const keyStart = buf.indexOf(CH_COLON, start) + 1
  if (previous[0] >= 0 && Buffer.compare(buf.subarray(previous[0], previous[1]), buf.subarray(keyStart, end)) >= 0) {
    throw new BencodeScanError(`bencoded dictionary key at byte ${start} is out of order or repeated`, start)
  }
  previous[0] = keyStart
  previous[1] = end
}
