// What a torrent says to its peers over BEP 10 besides the base protocol:
// our extended handshake, its metadata served on request (BEP 9) and peer
// exchange (BEP 11; none for a private torrent, BEP 27). It keeps the address
// each peer accepts connections on, for PEX. Candidates it learns are handed
// back to the owner; it never dials and never touches a piece.
import type { Clock } from '../core/clock.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { errorMessage } from '../core/types.ts'
import type { PeerAddress, PeerCandidate } from '../core/types.ts'
import { PexState } from '../discovery/pex.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { metadataResponse } from '../metadata/metadata-server.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { ExtendedHandshake } from '../wire/extension.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../wire/ut-metadata.ts'
import { decodePex, encodePex } from '../wire/ut-pex.ts'

/** Our BEP 10 extension ids (what peers must use when sending to us). */
export const OUR_EXTENSIONS = { ut_metadata: 1, ut_pex: 2 } as const

export interface PeerExtensionsOptions {
  meta: Metainfo
  clock: Clock
  /** Where we accept peers (BEP 10 `p`); 0 = not said. */
  listenPort: number
  /** Block requests we queue per peer (BEP 10 `reqq`). */
  maxPendingRequestsPerPeer: number
  /** A peer's socket backlog past which its metadata requests get a reject. */
  maxBufferedBytesPerPeer: number
}

export class PeerExtensions {
  readonly #meta: Metainfo
  readonly #clock: Clock
  readonly #maxBufferedBytesPerPeer: number
  readonly #pex: PexState
  /** The address a peer accepts connections on, once known. */
  readonly #advertised = new Map<PeerConnection, PeerAddress>()
  readonly handshake: ExtendedHandshake

  constructor(opts: PeerExtensionsOptions) {
    this.#meta = opts.meta
    this.#clock = opts.clock
    this.#maxBufferedBytesPerPeer = opts.maxBufferedBytesPerPeer
    this.#pex = new PexState({ private: opts.meta.private })
    this.handshake = {
      // BEP 27: no peer exchange for private torrents.
      m: opts.meta.private ? { ut_metadata: OUR_EXTENSIONS.ut_metadata } : { ...OUR_EXTENSIONS },
      v: CLIENT_VERSION,
      p: opts.listenPort || undefined,
      reqq: opts.maxPendingRequestsPerPeer,
      metadataSize: opts.meta.infoBuffer.length,
    }
  }

  /** A peer joined: one we dialled accepts connections where we reached it. */
  handleReady(pc: PeerConnection): void {
    if (pc.outgoing) this.#connected(pc, { host: pc.remoteAddress, port: pc.remotePort })
  }

  /** A peer's BEP 10 handshake: an incoming one tells its listen port (`p`); it gets its first PEX message now. */
  handleExtendedHandshake(pc: PeerConnection, port: number | undefined): void {
    if (!pc.outgoing && port && !this.#advertised.has(pc)) this.#connected(pc, { host: pc.remoteAddress, port })
    this.sendPex([pc])
  }

  /** BEP 9 requests for our metadata, and BEP 11 peer lists (returned). A malformed message drops that peer. */
  handleExtended(pc: PeerConnection, name: string, payload: Buffer): PeerCandidate[] {
    try {
      if (name === 'ut_metadata') {
        const m = decodeMetadataMessage(payload)
        if (m.msgType === 'request') {
          // A peer that asks and never reads would grow our send buffer: past the bound it gets a reject (BEP 9).
          const full = pc.writeBacklogBytes > this.#maxBufferedBytesPerPeer
          pc.sendExtended('ut_metadata', encodeMetadataMessage(full ? { msgType: 'reject', piece: m.piece } : metadataResponse(this.#meta.infoBuffer, m.piece)))
        }
      } else if (name === 'ut_pex') {
        return this.#pex.handleMessage(pc.key, decodePex(payload), this.#clock.now())
      }
    } catch (err) {
      pc.close(`bad ${name} message: ${errorMessage(err)}`)
    }
    return []
  }

  handleClosed(pc: PeerConnection): void {
    const advertised = this.#advertised.get(pc)
    if (advertised) {
      this.#advertised.delete(pc)
      // A duplicate connection closing leaves the peer connected by the one kept.
      const stillConnected = [...this.#advertised.values()].some((a) => a.host === advertised.host && a.port === advertised.port)
      if (!stillConnected) this.#pex.handleDisconnected(advertised)
    }
    this.#pex.forgetPeer(pc.key)
  }

  /** Who we are connected to, at most once a minute per peer (PexState keeps time). */
  sendPex(peers: Iterable<PeerConnection>): void {
    if (this.#meta.private) return
    const now = this.#clock.now()
    for (const pc of peers) {
      if (!pc.ready || pc.remoteExtensionId('ut_pex') === undefined) continue
      // Never its own address: neither where its connection comes from nor where it listens.
      const own = [{ host: pc.remoteAddress, port: pc.remotePort }]
      const listen = this.#advertised.get(pc)
      if (listen) own.push(listen)
      const message = this.#pex.messageFor(pc.key, own, now)
      if (message) pc.sendExtended('ut_pex', encodePex(message))
    }
  }

  #connected(pc: PeerConnection, address: PeerAddress): void {
    this.#advertised.set(pc, address)
    this.#pex.handleConnected(address, { utp: pc.transport === 'utp' })
  }
}
