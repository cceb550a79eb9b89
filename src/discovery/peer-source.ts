// The one shape every way of finding peers has (trackers, DHT, PEX, incoming):
// start, stop, and a `peers` event with candidates. A source never connects to
// a peer itself; it only reports addresses.
import type { PeerCandidate, PeerSourceKind } from '../core/types.ts'

export interface PeerSourceEvents {
  peers: [candidates: PeerCandidate[]]
}

export interface PeerSource {
  readonly kind: PeerSourceKind
  start(): void
  /** The owner is out of peers: look again soon (each source rate-limits itself). */
  requestMore(): void
  /** Releases every timer and socket; never rejects. */
  stop(): Promise<void>
  on(event: 'peers', l: (c: PeerCandidate[]) => void): unknown
}
