// Compact peer lists: BEP 23 (IPv4, 6 bytes each) and BEP 7 (IPv6, 18 bytes
// each), as trackers send them; also the textual hosts of non-compact replies.
// Pure: bytes in, addresses out. Hosts come out in one canonical text form so
// the same peer from two sources has the same addressKey.
import { formatIpv6 } from '../core/address.ts'
import { FriendError, type PeerAddress } from '../core/types.ts'

const IPV4_ENTRY_BYTES = 6
const IPV6_ENTRY_BYTES = 18

/** Decodes a compact list; throws if its length is not a whole number of entries. Port 0 entries are dropped. */
export function decodeCompactPeers(data: Uint8Array, family: 4 | 6): PeerAddress[] {
  const entryBytes = family === 4 ? IPV4_ENTRY_BYTES : IPV6_ENTRY_BYTES
  if (data.length % entryBytes !== 0) {
    throw new FriendError(
      `compact IPv${family} peer list is ${data.length} bytes, not a multiple of ${entryBytes}`,
    )
  }
  const peers: PeerAddress[] = []
  for (let offset = 0; offset < data.length; offset += entryBytes) {
    const port = (data[offset + entryBytes - 2] << 8) | data[offset + entryBytes - 1]
    if (port === 0) continue
    const host =
      family === 4
        ? `${data[offset]}.${data[offset + 1]}.${data[offset + 2]}.${data[offset + 3]}`
        : formatIpv6(data, offset)
    peers.push({ host, port })
  }
  return peers
}
