// get_peers for a newly staged hash: first to the node whose sample named it
// (it holds the peers, or knows who does), then to the closer nodes it names,
// and only when neither gave any, a full DHT lookup. A node that fails is
// counted against its circuit breaker. Never connects to a peer.
import type { Clock } from '../core/clock.ts'
import { addressKey, type PeerAddress } from '../core/types.ts'
import type { CircuitBreaker } from './circuit-breaker.ts'
import type { CrawlDht } from './crawl-dht.ts'

/** Closer nodes asked in the second round. */
const SECOND_ROUND_NODES = 8
/** Enough peers for a metadata fetch; more are not kept. */
const MAX_PEERS = 50

export async function findPeers(dht: CrawlDht, infoHash: Buffer, from: PeerAddress, nodeBreaker: CircuitBreaker, clock: Clock): Promise<PeerAddress[]> {
  const peers = new Map<string, PeerAddress>()
  const take = (list: PeerAddress[]) => {
    for (const p of list) if (peers.size < MAX_PEERS) peers.set(addressKey(p), p)
  }
  const ask = async (node: PeerAddress) => {
    const key = addressKey(node)
    if (!nodeBreaker.allows(key, clock.now())) return []
    try {
      const reply = await dht.getPeers(node, infoHash)
      nodeBreaker.success(key)
      take(reply.peers)
      return reply.nodes
    } catch {
      nodeBreaker.failure(key, clock.now())
      return []
    }
  }
  const closer = await ask(from)
  if (peers.size > 0) return [...peers.values()]
  await Promise.all(closer.slice(0, SECOND_ROUND_NODES).map((n) => ask(n)))
  if (peers.size > 0) return [...peers.values()]
  await dht.lookup(infoHash, (p) => take([p])).catch(() => {})
  return [...peers.values()]
}
