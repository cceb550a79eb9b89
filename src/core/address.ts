// Peer address text: one canonical form for IPv4 and IPv6 hosts, so the same
// peer learnt from a tracker, from PEX and from a socket has the same key.
// Pure string and byte work; no DNS, no sockets.
import { isIPv6 } from 'node:net'

const IPV4_MAPPED_PREFIX = '::ffff:'

/** Canonical text of a 16-byte IPv6 address at `offset` (RFC 5952); IPv4-mapped ones become plain IPv4. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1])
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`
  }
  // RFC 5952 §4.2: the longest run (of at least two) zero groups becomes "::", the first one on a tie.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/**
 * Canonical text for a host a tracker sent as text: IPv6 compressed and
 * without brackets, IPv4-mapped IPv6 as IPv4, names and IPv4 unchanged.
 */
export function canonicalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (!isIPv6(bare)) return bare
  // WHATWG URL serialises IPv6 hosts in the RFC 5952 form.
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1)
  if (canonical.startsWith(IPV4_MAPPED_PREFIX)) {
    const tail = canonical.slice(IPV4_MAPPED_PREFIX.length)
    const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail)
    if (m) {
      const hi = parseInt(m[1], 16)
      const lo = parseInt(m[2], 16)
      return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
    }
    return tail
  }
  return canonical
}

/** 16 bytes from any textual IPv6 form Node's isIPv6 accepts, including "::ffff:1.2.3.4". */
export function ipv6ToBytes(host: string): Buffer {
  const out = Buffer.alloc(16)
  let text = host.replace(/%.*$/, '')
  const groups: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  let tailGroups: number[] = []
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number)
    tailGroups = [(a << 8) | b, (c << 8) | d]
    text = text.slice(0, -dotted[1].length)
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1)
  }
  const [headText, tailText] = text.split('::') as [string, string | undefined]
  const head = headText ? headText.split(':').map((g) => parseInt(g, 16)) : []
  const tail = [...(tailText ? tailText.split(':').map((g) => parseInt(g, 16)) : []), ...tailGroups]
  groups.push(...head)
  if (tailText !== undefined) for (let i = head.length + tail.length; i < 8; i++) groups.push(0)
  groups.push(...tail)
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, i * 2)
  return out
}
