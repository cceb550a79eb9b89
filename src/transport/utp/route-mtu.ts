// The MTU of the link a datagram to a given address leaves by, and so the
// largest uTP packet (UDP payload) that crosses it unfragmented: the ceiling
// of a connection's MTU search. On Linux: an address of this machine goes
// through loopback; otherwise the longest-prefix route of the main table
// (/proc/net/route, /proc/net/ipv6_route, which the network namespace we run
// in shows), its own MTU if the route sets one, else its interface's
// /sys/class/net/<if>/mtu. Elsewhere, or when nothing matches, undefined: the
// caller keeps its safe default. Parsing is pure; RouteMtu reads the system
// through a small source (replaceable in tests) and caches for a few seconds.
import { readFileSync } from 'node:fs'
import { endianness, networkInterfaces } from 'node:os'
import type { NetworkInterfaceInfo } from 'node:os'
import { isIPv4, isIPv6 } from 'node:net'

export const IPV4_HEADER_BYTES = 20
export const IPV6_HEADER_BYTES = 40
export const UDP_HEADER_BYTES = 8
/** The largest UDP payload an IPv4 datagram carries (65535 − 20 − 8); IPv6 without jumbograms: 65535 − 8. */
const MAX_UDP_PAYLOAD_V4 = 65_507
const MAX_UDP_PAYLOAD_V6 = 65_527
const CACHE_MS = 10_000
const RTF_UP = 0x0001
const RTF_REJECT = 0x0200

export interface Route {
  iface: string
  /** The destination network as a big integer (32 or 128 bits) and its prefix length. */
  network: bigint
  prefixBits: number
  metric: number
  /** The route's own MTU (`ip route … mtu N`); 0 when it sets none. */
  mtu: number
}

export interface RouteSource {
  platform: string
  /** A file's text, or undefined when it cannot be read. */
  readText(path: string): string | undefined
  interfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>
  nowMs(): number
}

export const systemRouteSource: RouteSource = {
  platform: process.platform,
  readText(path) {
    try {
      return readFileSync(path, 'latin1')
    } catch {
      return undefined
    }
  },
  interfaces: networkInterfaces,
  nowMs: Date.now,
}

/** An address (plain IPv4, or IPv6 with `::` and an optional embedded IPv4 tail) as a 32- or 128-bit integer. */
export function addressBits(address: string): { bits: bigint; width: 32 | 128 } | undefined {
  if (isIPv4(address)) {
    const b = address.split('.').map(Number)
    return { bits: BigInt(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0), width: 32 }
  }
  if (!isIPv6(address)) return undefined
  let text = address.split('%')[0]
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const b = v4[1].split('.').map(Number)
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  let bits = 0n
  for (const g of groups) bits = (bits << 16n) | BigInt(parseInt(g, 16))
  return { bits, width: 128 }
}

/** /proc/net/route: hex fields in host byte order; only routes that are up and not reject routes. */
export function parseIpv4Routes(text: string, littleEndian = endianness() === 'LE'): Route[] {
  const routes: Route[] = []
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 9) continue
    const flags = parseInt(f[3], 16)
    if (!(flags & RTF_UP) || flags & RTF_REJECT) continue
    const dest = hostOrder(parseInt(f[1], 16), littleEndian)
    const mask = hostOrder(parseInt(f[7], 16), littleEndian)
    routes.push({ iface: f[0], network: BigInt(dest), prefixBits: popcount32(mask), metric: parseInt(f[6], 10) || 0, mtu: parseInt(f[8], 10) || 0 })
  }
  return routes
}

/** /proc/net/ipv6_route: dest, prefix length, source, its length, next hop, metric, refcount, use, flags, device. */
export function parseIpv6Routes(text: string): Route[] {
  const routes: Route[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10 || f[0].length !== 32) continue
    const flags = parseInt(f[8], 16)
    if (!(flags & RTF_UP) || flags & RTF_REJECT) continue
    routes.push({ iface: f[9], network: BigInt(`0x${f[0]}`), prefixBits: parseInt(f[1], 16), metric: parseInt(f[5], 16) || 0, mtu: 0 })
  }
  return routes
}

/** The most specific route holding `bits` (a lower metric breaks a tie). */
export function pickRoute(routes: readonly Route[], bits: bigint, width: 32 | 128): Route | undefined {
  let best: Route | undefined
  for (const r of routes) {
    if (r.prefixBits > width) continue
    const shift = BigInt(width - r.prefixBits)
    if (bits >> shift !== r.network >> shift) continue
    if (!best || r.prefixBits > best.prefixBits || (r.prefixBits === best.prefixBits && r.metric < best.metric)) best = r
  }
  return best
}

/** The largest UDP payload a link of `linkMtu` carries to `address` in one IP packet. */
export function udpPayloadFor(address: string, linkMtu: number): number {
  const v4 = !address.includes(':')
  const payload = linkMtu - (v4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES) - UDP_HEADER_BYTES
  return Math.min(payload, v4 ? MAX_UDP_PAYLOAD_V4 : MAX_UDP_PAYLOAD_V6)
}

/** Looks up the outgoing link's MTU per destination, with the routing tables cached for a few seconds. */
export class RouteMtu {
  readonly #source: RouteSource
  #loadedAtMs = Number.NEGATIVE_INFINITY
  #v4: Route[] = []
  #v6: Route[] = []
  #local = new Set<string>()
  readonly #ifaceMtu = new Map<string, number | undefined>()

  constructor(source: RouteSource = systemRouteSource) {
    this.#source = source
  }

  /** The link MTU (IP packet bytes) towards `address`, or undefined when unknown or not on Linux. */
  linkMtuFor(address: string): number | undefined {
    if (this.#source.platform !== 'linux') return undefined
    const a = addressBits(address)
    if (!a) return undefined
    this.#refresh()
    if (this.#isLocal(a.bits, a.width)) return this.#mtuOf('lo')
    const route = pickRoute(a.width === 32 ? this.#v4 : this.#v6, a.bits, a.width)
    if (!route) return undefined
    return route.mtu > 0 ? route.mtu : this.#mtuOf(route.iface)
  }

  /** The largest uTP packet that leaves for `address` unfragmented, or undefined when the link is unknown. */
  packetCeilingFor(address: string): number | undefined {
    const mtu = this.linkMtuFor(address)
    return mtu === undefined ? undefined : udpPayloadFor(address, mtu)
  }

  #isLocal(bits: bigint, width: 32 | 128): boolean {
    if (width === 32 ? bits >> 24n === 127n : bits === 1n) return true
    return this.#local.has(`${width}:${bits}`)
  }

  #mtuOf(iface: string): number | undefined {
    if (!this.#ifaceMtu.has(iface)) {
      // An interface name from the kernel's own tables: no path separators, but check all the same.
      const text = /^[\w.:@-]+$/.test(iface) ? this.#source.readText(`/sys/class/net/${iface}/mtu`) : undefined
      const mtu = text === undefined ? NaN : parseInt(text, 10)
      this.#ifaceMtu.set(iface, mtu >= 68 ? mtu : undefined)
    }
    return this.#ifaceMtu.get(iface)
  }

  #refresh(): void {
    const now = this.#source.nowMs()
    if (now - this.#loadedAtMs < CACHE_MS) return
    this.#loadedAtMs = now
    this.#v4 = parseIpv4Routes(this.#source.readText('/proc/net/route') ?? '')
    this.#v6 = parseIpv6Routes(this.#source.readText('/proc/net/ipv6_route') ?? '')
    this.#ifaceMtu.clear()
    this.#local = new Set()
    for (const list of Object.values(this.#source.interfaces())) for (const i of list ?? []) {
      const a = addressBits(i.address)
      if (a) this.#local.add(`${a.width}:${a.bits}`)
    }
  }
}

function hostOrder(n: number, littleEndian: boolean): number {
  return littleEndian ? (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0 : n >>> 0
}

function popcount32(n: number): number {
  let c = 0
  for (let x = n >>> 0; x; x >>>= 1) c += x & 1
  return c
}
