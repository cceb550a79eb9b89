// A torrent's event plumbing for one peer connection: what the peer says goes
// to the part that acts on it. Extended messages to the peer extensions (their
// PEX candidates, with BEP 11's uTP hint, back to the torrent), haves and
// blocks to the downloader, requests to the uploader, interest to the choker.
// Decides nothing itself: the torrent's callbacks and its parts do.
import type { TransportPolicy } from '../peer/dial.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { PeerCandidate } from '../core/types.ts'
import type { Downloader } from './downloader.ts'
import type { PeerExtensions } from './peer-extensions.ts'
import type { Swarm } from './swarm.ts'
import type { Uploader } from './uploader.ts'

/** Regular slots plus the optimistic one (the choker's defaults). */
const UNCHOKE_SLOTS = 5

export interface PeerWiring {
  swarm: Swarm
  downloader: Downloader
  uploader: Uploader
  extensions: PeerExtensions
  transports: TransportPolicy | undefined
  maxPendingRequestsPerPeer: number
  addPeers: (candidates: PeerCandidate[]) => void
  /** True when the connection was closed because both sides are seeds. */
  closeIfBothSeeds: (pc: PeerConnection) => boolean
  rechoke: () => void
}

/** Subscribes to a new connection's events; they stop with the connection. */
export function wirePeer(pc: PeerConnection, w: PeerWiring): void {
  const key = pc.key
  const { swarm, downloader, uploader, extensions } = w
  pc.on('extendedHandshake', (h) => {
    if (h.p !== undefined) swarm.handleListenPort(pc, h.p)
    if (swarm.connections.get(key) === pc && !pc.closed) extensions.handleExtendedHandshake(pc, h.p)
  })
  pc.on('extended', (name, payload) => {
    const candidates = extensions.handleExtended(pc, name, payload)
    // BEP 11 flag 0x04: a peer said to speak uTP is dialed over uTP first, one said not to over TCP first.
    for (const c of candidates) if (c.utp !== undefined) w.transports?.hint(c.host, c.port, c.utp ? 'utp' : 'tcp')
    if (candidates.length > 0) w.addPeers(candidates)
  })
  pc.on('bitfield', (bf) => {
    downloader.handleBitfield(key, bf)
    if (w.closeIfBothSeeds(pc)) return
    downloader.updateInterest(pc)
  })
  pc.on('haveAll', () => {
    downloader.handleHaveAll(key)
    if (w.closeIfBothSeeds(pc)) return
    downloader.updateInterest(pc)
  })
  pc.on('have', (index) => downloader.handleHave(pc, index))
  pc.on('request', (block) => {
    if (uploader.handleRequest(pc, block) === 'flooding') {
      pc.close(`request flood: over ${2 * w.maxPendingRequestsPerPeer} requests refused in a row (we queue ${w.maxPendingRequestsPerPeer})`)
    }
  })
  pc.on('cancel', (block) => uploader.handleCancel(pc, block))
  pc.on('interested', () => {
    // A free upload slot goes to a newly interested peer now, not at the next rechoke.
    let unchoked = 0
    for (const p of swarm.connections.values()) if (!p.amChoking) unchoked++
    if (unchoked < UNCHOKE_SLOTS) w.rechoke()
  })
  pc.on('notInterested', () => {
    if (!pc.amChoking) w.rechoke()
  })
  pc.on('unchoke', () => downloader.fill(pc))
  pc.on('choke', () => downloader.handleChoke(pc))
  pc.on('reject', (block) => downloader.handleReject(pc, block))
  pc.on('block', (block, data) => downloader.handleBlock(pc, block, data))
  pc.on('unexpectedBlock', (block) => downloader.handleUnexpectedBlock(block))
}
