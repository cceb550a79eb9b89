// BEP 11 ut_pex payloads: compact peer lists added and dropped since the last message,
// IPv4 as 6 bytes (address, port) and IPv6 as 18. A trailing partial entry is ignored;
// fields of the wrong type read as empty; broken bencode throws WireError.
// Pure: never touches a socket, and does not judge the peers (that is discovery's job).

import { isIPv4, isIPv6 } from 'node:net'
import { formatIpv6, ipv6ToBytes } from '../core/address.ts'
import type { PeerAddress } from '../core/types.ts'
import { decodeDict, encodeDict, own } from './bencode-dict.ts'

export interface PexMessage {
  added: PeerAddress[]
  /** BEP 11 "added.f", one per added peer: 0x01 prefers encryption, 0x02 is a seed, 0x04 uTP, 0x08 holepunch, 0x10 reachable. */
  addedFlags: number[]
  dropped: PeerAddress[]
  added6: PeerAddress[]
  dropped6: PeerAddress[]
}

export const PEX_FLAG_PREFERS_ENCRYPTION = 0x01
export const PEX_FLAG_SEED = 0x02
export const PEX_FLAG_UTP = 0x04
export const PEX_FLAG_HOLEPUNCH = 0x08
export const PEX_FLAG_REACHABLE = 0x10

const COMPACT_V4 = 6
const COMPACT_V6 = 18

export function encodePex(m: Partial<PexMessage>): Buffer {
  const added = m.added ?? []
  const flags = Buffer.alloc(added.length)
  for (let i = 0; i < added.length; i++) flags[i] = m.addedFlags?.[i] ?? 0
  return encodeDict({
    added: compactV4(added, 'added'),
    'added.f': flags,
    dropped: compactV4(m.dropped ?? [], 'dropped'),
    added6: compactV6(m.added6 ?? [], 'added6'),
    dropped6: compactV6(m.dropped6 ?? [], 'dropped6'),
  })
}

export function decodePex(payload: Buffer): PexMessage {
  const { dict } = decodeDict(payload, 'ut_pex message')
  const added = parseV4(own(dict, 'added'))
  const rawFlags = own(dict, 'added.f')
  const flags = rawFlags instanceof Uint8Array ? rawFlags : new Uint8Array(0)
  const addedFlags = added.map((_, i) => flags[i] ?? 0)
  return {
    added,
    addedFlags,
    dropped: parseV4(own(dict, 'dropped')),
    added6: parseV6(own(dict, 'added6')),
    dropped6: parseV6(own(dict, 'dropped6')),
  }
}

function compactV4(peers: PeerAddress[], field: string): Buffer {
  const out = Buffer.allocUnsafe(peers.length * COMPACT_V4)
  peers.forEach((peer, i) => {
    if (!isIPv4(peer.host)) throw new RangeError(`pex "${field}" takes IPv4 addresses only, got "${peer.host}"`)
    const at = i * COMPACT_V4
    const parts = peer.host.split('.')
    for (let b = 0; b < 4; b++) out[at + b] = Number(parts[b])
    out.writeUInt16BE(checkPort(peer.port, field), at + 4)
  })
  return out
}

function compactV6(peers: PeerAddress[], field: string): Buffer {
  const out = Buffer.allocUnsafe(peers.length * COMPACT_V6)
  peers.forEach((peer, i) => {
    if (!isIPv6(peer.host)) throw new RangeError(`pex "${field}" takes IPv6 addresses only, got "${peer.host}"`)
    const at = i * COMPACT_V6
    ipv6ToBytes(peer.host).copy(out, at)
    out.writeUInt16BE(checkPort(peer.port, field), at + 16)
  })
  return out
}

function checkPort(port: number, field: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`pex "${field}" port must be 0-65535, got ${port}`)
  return port
}

function parseV4(value: unknown): PeerAddress[] {
  if (!(value instanceof Uint8Array)) return []
  const peers: PeerAddress[] = []
  for (let at = 0; at + COMPACT_V4 <= value.length; at += COMPACT_V4) {
    peers.push({
      host: `${value[at]}.${value[at + 1]}.${value[at + 2]}.${value[at + 3]}`,
      port: (value[at + 4] << 8) | value[at + 5],
    })
  }
  return peers
}

function parseV6(value: unknown): PeerAddress[] {
  if (!(value instanceof Uint8Array)) return []
  const peers: PeerAddress[] = []
  for (let at = 0; at + COMPACT_V6 <= value.length; at += COMPACT_V6) {
    peers.push({ host: formatIpv6(value.subarray(at, at + 16)), port: (value[at + 16] << 8) | value[at + 17] })
  }
  return peers
}
