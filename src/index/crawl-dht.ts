// What the crawler needs of a DHT node (src/discovery/dht-node.ts gives all of
// it), so its stages can be driven by any node the caller started: the
// crawl command's own, or a session's.
import type { PeerAddress } from '../core/types.ts'
import type { GetPeersReply, NodeContact, SampleReply } from '../discovery/dht-node.ts'

export interface CrawlDht {
  findNode(to: PeerAddress, target: Buffer): Promise<NodeContact[]>
  sampleInfohashes(to: PeerAddress, target: Buffer): Promise<SampleReply>
  getPeers(to: PeerAddress, infoHash: Buffer): Promise<GetPeersReply>
  /** A full get_peers walk; `onPeer` gets each address as it arrives. */
  lookup(infoHash: Buffer, onPeer: (peer: PeerAddress) => void): Promise<void>
  routingNodes(): NodeContact[]
}
