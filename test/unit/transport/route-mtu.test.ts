import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NetworkInterfaceInfo } from 'node:os'
import { RouteMtu, addressBits, parseIpv4Routes, parseIpv6Routes, pickRoute, udpPayloadFor } from '../../../src/transport/utp/route-mtu.ts'
import type { RouteSource } from '../../../src/transport/utp/route-mtu.ts'

// /proc/net/route on a little-endian host: default via eth0, 192.0.2.0/24 on eth0, 10.9.0.0/16 on wg0 with its own MTU 1380, a reject route.
const ROUTE_V4 = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth1\t00000000\t0101A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wg0\t0000090A\t00000000\t0001\t0\t0\t0\t0000FFFF\t1380\t0\t0
lo\t0000140A\t00000000\t0201\t0\t0\t0\t0000FFFF\t0\t0\t0
`
const ROUTE_V6 = `fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`
const MTU: Record<string, string> = { lo: '65536\n', eth0: '9000\n', eth1: '1500\n', wg0: '1420\n' }

function source(over: Partial<RouteSource> = {}): RouteSource & { reads: string[] } {
  const reads: string[] = []
  return {
    platform: 'linux',
    reads,
    readText(path) {
      reads.push(path)
      if (path === '/proc/net/route') return ROUTE_V4
      if (path === '/proc/net/ipv6_route') return ROUTE_V6
      const m = /^\/sys\/class\/net\/([^/]+)\/mtu$/.exec(path)
      return m ? MTU[m[1]] : undefined
    },
    interfaces: () => ({ eth0: [{ address: '192.0.2.2' } as NetworkInterfaceInfo, { address: 'fd00::2' } as NetworkInterfaceInfo] }),
    nowMs: () => 0,
    ...over,
  }
}

test('addresses become integers, IPv6 with :: and an embedded IPv4 tail', () => {
  assert.deepEqual(addressBits('192.0.2.1'), { bits: 0xc0000201n, width: 32 })
  assert.equal(addressBits('::1')!.bits, 1n)
  assert.equal(addressBits('2001:db8::1')!.bits, 0x20010db8000000000000000000000001n)
  assert.equal(addressBits('::ffff:1.2.3.4')!.bits, 0xffff01020304n)
  assert.equal(addressBits('fe80::1%eth0')!.bits, 0xfe800000000000000000000000000001n)
  assert.equal(addressBits('not an address'), undefined)
})

test('/proc/net/route is read in host byte order; reject routes and routes that are down are left out', () => {
  const routes = parseIpv4Routes(ROUTE_V4, true)
  assert.equal(routes.length, 4)
  assert.deepEqual(routes[2], { iface: 'eth0', network: 0xc0000200n, prefixBits: 24, metric: 0, mtu: 0 })
  assert.equal(routes[3].mtu, 1380)
  assert.equal(parseIpv6Routes(ROUTE_V6).length, 3, 'the unreachable default through lo is a reject route')
})

test('the most specific route wins, then the lowest metric', () => {
  const routes = parseIpv4Routes(ROUTE_V4, true)
  assert.equal(pickRoute(routes, addressBits('192.0.2.77')!.bits, 32)!.iface, 'eth0')
  assert.equal(pickRoute(routes, addressBits('8.8.8.8')!.bits, 32)!.iface, 'eth1', 'metric 50 beats 100')
  assert.equal(pickRoute(routes, addressBits('10.9.3.4')!.bits, 32)!.iface, 'wg0')
  assert.equal(pickRoute([], 1n, 32), undefined)
})

test('the link MTU: loopback and our own addresses go through lo, others through their route, a route\'s own MTU first', () => {
  const r = new RouteMtu(source())
  assert.equal(r.linkMtuFor('127.0.0.1'), 65536)
  assert.equal(r.linkMtuFor('127.5.6.7'), 65536)
  assert.equal(r.linkMtuFor('::1'), 65536)
  assert.equal(r.linkMtuFor('192.0.2.2'), 65536, 'our own address is delivered over loopback')
  assert.equal(r.linkMtuFor('fd00::2'), 65536)
  assert.equal(r.linkMtuFor('192.0.2.9'), 9000, 'a LAN with jumbo frames')
  assert.equal(r.linkMtuFor('8.8.8.8'), 1500)
  assert.equal(r.linkMtuFor('10.9.0.1'), 1380, 'the route sets its own MTU')
  assert.equal(r.linkMtuFor('2001:db8::5'), 9000, 'IPv6 default route')
  assert.equal(r.packetCeilingFor('127.0.0.1'), 65_507, 'an IPv4 datagram carries at most 65,507 bytes')
  assert.equal(r.packetCeilingFor('::1'), 65_488)
  assert.equal(r.packetCeilingFor('8.8.8.8'), 1472)
  assert.equal(r.packetCeilingFor('2001:db8::5'), 8952)
})

test('unknown: not Linux, no matching route, unreadable MTU, or not an address', () => {
  assert.equal(new RouteMtu(source({ platform: 'darwin' })).linkMtuFor('127.0.0.1'), undefined)
  const none = source({ readText: () => undefined })
  assert.equal(new RouteMtu(none).linkMtuFor('8.8.8.8'), undefined)
  assert.equal(new RouteMtu(none).linkMtuFor('127.0.0.1'), undefined, 'no /sys/class/net/lo/mtu')
  assert.equal(new RouteMtu(source()).packetCeilingFor('example.com'), undefined)
})

test('the tables are read once per 10 s, not per connection', () => {
  let now = 0
  const s = source({ nowMs: () => now })
  const r = new RouteMtu(s)
  for (let i = 0; i < 50; i++) r.linkMtuFor(`192.0.2.${i + 10}`)
  assert.equal(s.reads.filter((p) => p === '/proc/net/route').length, 1)
  assert.equal(s.reads.filter((p) => p.endsWith('/mtu')).length, 1)
  now = 10_001
  r.linkMtuFor('192.0.2.10')
  assert.equal(s.reads.filter((p) => p === '/proc/net/route').length, 2)
})

test('UDP payload: the MTU less the IP and UDP headers', () => {
  assert.equal(udpPayloadFor('1.2.3.4', 1500), 1472)
  assert.equal(udpPayloadFor('2001:db8::1', 1500), 1452)
  assert.equal(udpPayloadFor('1.2.3.4', 65536), 65_507)
  assert.equal(udpPayloadFor('::1', 65536), 65_488)
})
