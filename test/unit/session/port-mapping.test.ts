// The port-mapping codecs against their specifications: NAT-PMP bytes as
// RFC 6886 §3 lays them out, and a NAT-PMP exchange with a gateway on
// 127.0.0.1 (answers checked, strangers ignored, the retry schedule);
// SSDP answers, a gateway's description (the WAN service and its control URL)
// the default route as /proc/net/route shows it, and the port mapper's
// renewal and delete on a fake clock against that loopback gateway.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { test } from 'node:test'
import { parseRouteTable } from '../../../src/session/port-mapping/default-gateway.ts'
import { findWanService, soapEnvelope } from '../../../src/session/port-mapping/igd.ts'
import {
  decodeExternalAddressReply,
  decodeMapReply,
  encodeExternalAddressRequest,
  encodeMapRequest,
} from '../../../src/session/port-mapping/nat-pmp-codec.ts'
import { NatPmpClient } from '../../../src/session/port-mapping/nat-pmp.ts'
import { parseSearchAnswer } from '../../../src/session/port-mapping/ssdp.ts'
import { PortMapper } from '../../../src/session/port-mapping/port-mapper.ts'
import { FakeClock } from '../../helpers/fake-clock.ts'
import { waitUntil } from '../../helpers/net.ts'

test('NAT-PMP requests: RFC 6886 §3.2 and §3.3 byte for byte', () => {
  assert.deepEqual([...encodeExternalAddressRequest()], [0, 0])
  // version 0, opcode 2 (TCP), reserved 0, internal 6881 (0x1ae1), suggested 6881, lifetime 7200 (0x1c20)
  assert.deepEqual([...encodeMapRequest('tcp', 6881, 6881, 7200)], [0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x1c, 0x20])
  assert.deepEqual([...encodeMapRequest('udp', 6881, 0, 0)], [0, 1, 0, 0, 0x1a, 0xe1, 0, 0, 0, 0, 0, 0], '§3.4: delete = lifetime 0, external port 0')
})

test('NAT-PMP replies: decoded from the RFC layout; short, wrong version or wrong opcode are undefined', () => {
  const ext = Buffer.from([0, 128, 0, 0, 0, 0, 0x10, 0x00, 5, 6, 7, 1])
  assert.deepEqual(decodeExternalAddressReply(ext), { resultCode: 0, epochSec: 4096, address: '5.6.7.1' })
  const map = Buffer.from([0, 130, 0, 0, 0, 0, 0, 9, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0x0e, 0x10])
  assert.deepEqual(decodeMapReply(map), { protocol: 'tcp', resultCode: 0, epochSec: 9, internalPort: 6881, externalPort: 6882, lifetimeSec: 3600 })
  const refused = Buffer.from(map)
  refused[1] = 129
  refused.writeUInt16BE(2, 2)
  assert.equal(decodeMapReply(refused)?.protocol, 'udp')
  assert.equal(decodeMapReply(refused)?.resultCode, 2)
  assert.equal(decodeExternalAddressReply(ext.subarray(0, 11)), undefined)
  assert.equal(decodeMapReply(map.subarray(0, 15)), undefined)
  assert.equal(decodeMapReply(Buffer.from([1, ...map.subarray(1)])), undefined, 'version 1 (PCP) is not NAT-PMP')
  assert.equal(decodeMapReply(ext), undefined)
  assert.equal(decodeExternalAddressReply(map), undefined)
})

/** A NAT-PMP gateway on 127.0.0.1 answering as RFC 6886 says, after `silentFor` ignored requests. */
async function gateway(opts: { silentFor?: number; result?: number; stranger?: boolean } = {}): Promise<{ socket: Socket; port: number; requests: Buffer[] }> {
  const socket = createSocket('udp4')
  const requests: Buffer[] = []
  socket.on('message', (msg, rinfo) => {
    requests.push(msg)
    if (requests.length <= (opts.silentFor ?? 0)) return
    if (opts.stranger) {
      // An answer from another port first: must be ignored.
      const other = createSocket('udp4')
      other.send(Buffer.from([0, 128, 0, 0, 0, 0, 0, 0, 6, 6, 6, 6]), rinfo.port, rinfo.address, () => other.close())
    }
    let reply: Buffer
    if (msg[1] === 0) reply = Buffer.from([0, 128, 0, 0, 0, 0, 0, 1, 5, 6, 7, 1])
    else {
      reply = Buffer.alloc(16)
      reply[1] = 128 + msg[1]
      reply.writeUInt16BE(opts.result ?? 0, 2)
      reply.writeUInt16BE(msg.readUInt16BE(4), 8)
      reply.writeUInt16BE(msg.readUInt16BE(6) || 0, 10)
      reply.writeUInt32BE(msg.readUInt32BE(8), 12)
    }
    setTimeout(() => socket.send(reply, rinfo.port, rinfo.address), opts.stranger ? 20 : 0)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  return { socket, port: socket.address().port, requests }
}

test('NAT-PMP client: maps TCP and UDP, retries a silent gateway, ignores strangers, deletes with lifetime 0', async () => {
  const gw = await gateway({ silentFor: 2, stranger: true })
  try {
    const client = new NatPmpClient({ gateway: '127.0.0.1', port: gw.port, attempts: 4 })
    const mapped = await client.map(40001, 7200)
    assert.deepEqual(mapped, { externalAddress: '5.6.7.1', tcpPort: 40001, udpPort: 40001, lifetimeSec: 7200 })
    assert.deepEqual([...gw.requests[0]], [0, 0], 'the first two requests went unanswered and were sent again')
    assert.deepEqual([...gw.requests[2]], [0, 0])
    await client.unmap()
    const deletes = gw.requests.slice(-2).map((b) => [...b])
    assert.deepEqual(deletes.sort(), [[0, 1, 0, 0, 0x9c, 0x41, 0, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0x9c, 0x41, 0, 0, 0, 0, 0, 0]].sort())
  } finally {
    gw.socket.close()
  }
})

test('NAT-PMP client: a refusal is one line with the RFC result; a closed port fails at once; silence ends after the schedule', async () => {
  const gw = await gateway({ result: 2 })
  try {
    await assert.rejects(new NatPmpClient({ gateway: '127.0.0.1', port: gw.port }).map(40002, 60), /refused to map TCP port 40002: not authorized\/refused/)
  } finally {
    gw.socket.close()
  }
  const closed = createSocket('udp4')
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', () => resolve()))
  const closedPort = closed.address().port
  closed.close()
  await assert.rejects(new NatPmpClient({ gateway: '127.0.0.1', port: closedPort }).externalAddress(), /does not speak it/)
  const silent = await gateway({ silentFor: 100 })
  try {
    await assert.rejects(new NatPmpClient({ gateway: '127.0.0.1', port: silent.port, attempts: 2 }).externalAddress(), /did not answer \(2 tries\)/)
    assert.equal(silent.requests.length, 2)
  } finally {
    silent.socket.close()
  }
})

test('SSDP answers: a gateway on the answering host only', () => {
  const answer = (st: string, location: string) => Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: ${st}\r\nLOCATION: ${location}\r\n\r\n`)
  const igd = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'
  assert.equal(parseSearchAnswer(answer(igd, 'http://10.77.0.1:34991/rootDesc.xml'), '10.77.0.1'), 'http://10.77.0.1:34991/rootDesc.xml')
  assert.equal(parseSearchAnswer(answer(igd, 'http://192.0.2.9/rootDesc.xml'), '10.77.0.1'), undefined, 'points at another host')
  assert.equal(parseSearchAnswer(answer(igd, 'file:///etc/passwd'), '10.77.0.1'), undefined)
  assert.equal(parseSearchAnswer(answer('urn:schemas-upnp-org:device:MediaServer:1', 'http://10.77.0.1/x'), '10.77.0.1'), undefined)
  assert.equal(parseSearchAnswer(Buffer.alloc(5000, 'a'), '10.77.0.1'), undefined)
  assert.equal(parseSearchAnswer(Buffer.from('garbage'), '10.77.0.1'), undefined)
})

test('IGD description: the WAN connection service (v2 before v1, PPP last), its control URL made absolute', () => {
  const service = (type: string, url: string) => `<service><serviceType>${type}</serviceType><serviceId>x</serviceId><controlURL>${url}</controlURL></service>`
  const xml = `<root><device><serviceList>${service('urn:schemas-upnp-org:service:Layer3Forwarding:1', '/ctl/L3F')}</serviceList><deviceList><device><serviceList>${service('urn:schemas-upnp-org:service:WANPPPConnection:1', '/ctl/PPP')}${service('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl/IPConn')}</serviceList></device></deviceList></device></root>`
  assert.deepEqual(findWanService(xml, 'http://10.77.0.1:5000/rootDesc.xml'), { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: 'http://10.77.0.1:5000/ctl/IPConn' })
  const withBase = xml.replace('<root>', '<root><URLBase>http://10.77.0.1:6000/</URLBase>')
  assert.equal(findWanService(withBase, 'http://10.77.0.1:5000/rootDesc.xml')?.controlUrl, 'http://10.77.0.1:6000/ctl/IPConn')
  assert.equal(findWanService(`<root>${service('urn:schemas-upnp-org:service:WANPPPConnection:1', 'ctl/ppp')}</root>`, 'http://10.77.0.1/d/root.xml')?.controlUrl, 'http://10.77.0.1/d/ctl/ppp')
  assert.equal(findWanService('<root><service><serviceType>x</serviceType></service></root>', 'http://10.77.0.1/'), undefined)
  assert.match(soapEnvelope('urn:x:1', 'AddPortMapping', [['NewPortMappingDescription', 'a<b&c']]), /<u:AddPortMapping xmlns:u="urn:x:1"><NewPortMappingDescription>a&lt;b&amp;c<\/NewPortMappingDescription><\/u:AddPortMapping>/)
})

test('default gateway from /proc/net/route', () => {
  const table = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    'eth0\t00000000\t01004D0A\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  ].join('\n')
  assert.equal(parseRouteTable(table), '10.77.0.1')
  assert.equal(parseRouteTable(table.split('\n').slice(0, 2).join('\n')), undefined)
  assert.equal(parseRouteTable('garbage'), undefined)
})

test('port mapper: maps by NAT-PMP, renews at half the lifetime on its clock, deletes at close', async () => {
  const gw = await gateway()
  const clock = new FakeClock(1_000_000)
  const mapper = new PortMapper({ internalPort: 40003, clock, upnp: false, gateway: async () => '127.0.0.1', natPmpPort: gw.port, natPmpLifetimeSec: 120 })
  const lines: string[] = []
  mapper.on('log', (l) => lines.push(l))
  mapper.on('warning', (l) => lines.push(`warning: ${l}`))
  try {
    assert.equal(mapper.status().state, 'off')
    mapper.start()
    assert.equal(mapper.status().state, 'searching')
    await waitUntil(() => mapper.status().state === 'mapped', 5000, 'the mapping')
    assert.deepEqual(mapper.status(), { state: 'mapped', method: 'NAT-PMP', externalAddress: '5.6.7.1', externalTcpPort: 40003, externalUdpPort: 40003 })
    assert.equal(mapper.announcePort, 40003)
    assert.deepEqual(lines, ['port forwarding: NAT-PMP maps 5.6.7.1:40003 (TCP) and :40003 (UDP) to port 40003, renewed every 1 min'])
    const mapsBefore = gw.requests.filter((b) => b[1] !== 0).length
    assert.equal(mapsBefore, 2)
    clock.advance(59_000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(gw.requests.filter((b) => b[1] !== 0).length, 2, 'not renewed before half the lifetime')
    clock.advance(1_000)
    await waitUntil(() => gw.requests.filter((b) => b[1] !== 0).length === 4, 5000, 'the renewal (TCP and UDP again)')
    const renewal = gw.requests.filter((b) => b[1] !== 0).slice(-2)
    for (const r of renewal) assert.equal(r.readUInt32BE(8), 120, 'renewed with the same lifetime')
    await mapper.close()
    const deletes = gw.requests.slice(-2)
    for (const d of deletes) assert.equal(d.readUInt32BE(8), 0, 'deleted with lifetime 0')
    assert.equal(lines.length, 1, 'no other line')
  } finally {
    await mapper.close()
    gw.socket.close()
  }
})
