// The IPv4 default gateway, where NAT-PMP talks (RFC 6886 §3: the client
// sends to its default gateway). Read from Linux's /proc/net/route; elsewhere,
// or with no default route, there is none and NAT-PMP is not tried.
import { readFile } from 'node:fs/promises'

/** The gateway of the first default route in /proc/net/route's text, or undefined. */
export function parseRouteTable(text: string): string | undefined {
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    // Iface Destination Gateway Flags ...: destination 0 is the default route; flag 0x2 (RTF_GATEWAY) says it has a gateway.
    if (cols.length < 4 || cols[1] !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(cols[2])) continue
    if ((Number.parseInt(cols[3], 16) & 0x2) === 0) continue
    const n = Number.parseInt(cols[2], 16)
    // The kernel prints the address in host order (little-endian here): the first octet is the low byte.
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.')
  }
  return undefined
}

export async function defaultGateway(): Promise<string | undefined> {
  try {
    return parseRouteTable(await readFile('/proc/net/route', 'utf8'))
  } catch {
    return undefined
  }
}
