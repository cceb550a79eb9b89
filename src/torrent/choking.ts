// Tit-for-tat applied to a torrent's connections: the choker's decision over
// the ready peers (their rates, interest, age, snubbing) sent as choke and
// unchoke, and a newly choked peer's queued requests dropped by the uploader.
import type { Choker } from '../choker/choker.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { Uploader } from './uploader.ts'

export function applyRechoke(choker: Choker, connections: Iterable<PeerConnection>, uploader: Uploader, nowMs: number, seeding: boolean): void {
  const peers = [...connections].filter((pc) => pc.ready)
  const decision = choker.rechoke(
    peers.map((pc) => ({
      id: pc.key,
      interested: pc.peerInterested,
      downloadRate: pc.downloadMeter.rateBytesPerSec(),
      uploadRate: pc.uploadMeter.rateBytesPerSec(),
      connectedAtMs: pc.connectedAtMs,
      snubbed: pc.snubbed,
    })),
    nowMs,
    seeding,
  )
  for (const pc of peers) {
    const unchoke = decision.unchoked.has(pc.key) || decision.optimistic === pc.key
    if (!unchoke && !pc.amChoking) uploader.handleChoked(pc)
    pc.setChoking(!unchoke)
  }
}
