// Writes bencode in BEP 52's canonical form: dict keys as raw bytes, sorted
// bytewise (a JS object would reorder "10" before "9" and cannot hold the
// binary roots "piece layers" is keyed by). Pure.

export type BValue = number | string | Uint8Array | BValue[] | BDict
/** A dict as [key, value] pairs in any order; written sorted. */
export interface BDict {
  entries: [key: string | Uint8Array, value: BValue][]
}

export function bdict(entries: [string | Uint8Array, BValue | undefined][]): BDict {
  return { entries: entries.filter((e): e is [string | Uint8Array, BValue] => e[1] !== undefined) }
}

export function encodeCanonical(value: BValue): Buffer {
  const parts: Buffer[] = []
  write(value, parts)
  return Buffer.concat(parts)
}

function write(value: BValue, out: Buffer[]): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`bencode integers are whole numbers, got ${value}`)
    out.push(Buffer.from(`i${value}e`))
  } else if (typeof value === 'string' || value instanceof Uint8Array) {
    const bytes = typeof value === 'string' ? Buffer.from(value) : value
    out.push(Buffer.from(`${bytes.length}:`), Buffer.from(bytes))
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l'))
    for (const item of value) write(item, out)
    out.push(Buffer.from('e'))
  } else {
    const entries = value.entries.map(([k, v]) => [typeof k === 'string' ? Buffer.from(k) : Buffer.from(k), v] as const)
    entries.sort((a, b) => Buffer.compare(a[0], b[0]))
    out.push(Buffer.from('d'))
    entries.forEach(([k, v], i) => {
      if (i > 0 && entries[i - 1][0].equals(k)) throw new RangeError(`dict key ${k.toString()} repeats`)
      write(k, out)
      write(v, out)
    })
    out.push(Buffer.from('e'))
  }
}
