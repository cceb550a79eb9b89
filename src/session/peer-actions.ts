// The session's peer actions across its torrents: peers given by hand (kept
// for the session and handed to a torrent or its magnet's metadata fetch now
// and whenever it starts), the library's ban list applied to every running
// torrent, and one connection closed on request.
import { FriendError } from '../core/types.ts'
import type { PeerAddress, PeerCandidate } from '../core/types.ts'
import type { MagnetFetch, TorrentRecord } from './session-types.ts'
import { banAddress } from './state-store.ts'
import type { StateStore } from './state-store.ts'

export class PeerActions {
  readonly #store: StateStore
  readonly #records: ReadonlyMap<string, TorrentRecord>
  readonly #fetching: ReadonlyMap<string, MagnetFetch>
  /** Peers given by hand (`add --peer`), by info hash: handed to the torrent whenever it starts in this session. */
  readonly #manual = new Map<string, PeerCandidate[]>()

  constructor(store: StateStore, records: ReadonlyMap<string, TorrentRecord>, fetching: ReadonlyMap<string, MagnetFetch>) {
    this.#store = store
    this.#records = records
    this.#fetching = fetching
  }

  /** The peers given by hand for a torrent (info hash, lower-case hex), if any. */
  manual(infoHashHex: string): PeerCandidate[] | undefined {
    return this.#manual.get(infoHashHex)
  }

  /** Keeps hand-given peers for a torrent and hands them to it, or to its metadata fetch, now. */
  addPeers(infoHashHex: string, peers: PeerAddress[]): void {
    const key = infoHashHex.toLowerCase()
    const manual: PeerCandidate[] = peers.map((p) => ({ host: p.host, port: p.port, source: 'manual' }))
    this.#manual.set(key, [...(this.#manual.get(key) ?? []), ...manual])
    this.#records.get(key)?.torrent?.addPeers(manual)
    this.#fetching.get(key)?.task.addPeers(manual)
  }

  bans(): string[] {
    return this.#store.bans()
  }

  /** Stores the ban and closes the address's connections in every running torrent. */
  async ban(address: string): Promise<{ address: string; closed: number }> {
    const host = await this.#store.ban(address)
    let closed = 0
    for (const r of this.#records.values()) closed += r.torrent?.banHost(host) ?? 0
    return { address: host, closed }
  }

  async unban(address: string): Promise<boolean> {
    const host = banAddress(address)
    const was = await this.#store.unban(host)
    for (const r of this.#records.values()) r.torrent?.unbanHost(host)
    return was
  }

  disconnectPeer(r: TorrentRecord, peerKey: string): void {
    if (!r.torrent?.disconnectPeer(peerKey)) throw new FriendError(`${r.entry.name} has no connected peer ${peerKey}`)
  }
}
