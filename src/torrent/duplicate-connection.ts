// Which of two connections to the same peer survives. Two connections with
// one peer happen when both sides dial each other at once (a simultaneous
// open), when it dials us while we dial it, or over uTP and TCP. Both ends
// must close the same one, or each closes the other's keeper and nothing is
// left; so the rule reads only what both ends see alike. It is libtorrent's:
// - two connections made the same way (both dialled by one side): the one
//   there first stays (peer_list.cpp);
// - the same peer id (bt_peer_connection.cpp): "the peer with greatest
//   peer-id is the one allowed to initiate connections";
// - the same IP and listen port under different peer ids (a client that
//   changes its id per connection): the side with the lower listen port keeps
//   its outgoing connection (peer_list.cpp, how libtorrent decides by address),
//   the peer ids on a tie. Such a peer may still decide otherwise: we keep
//   one connection either way, and redial later if it closed ours.
// Before all that, one exception (ours; libtorrent only drops an old
// connection that already failed): a peer that dials us again from the same
// IP address while its old connection is dead at its end (killed and
// restarted, or a NAT that reused its mapping) gets the new one, and the old
// one is closed. Dead means: the new one comes from the old one's very
// address and port over the same transport (TCP cannot hold one address
// pair twice, and one UDP socket redials uTP only when it lost the first),
// or the old one has received nothing for SILENT_REPLACE_MS. Only the peer's
// own dial counts (a live peer never dials what it is connected to), and
// only from the old one's IP address: a stranger with a copied peer id or
// listen port cannot churn it. (Someone who forges UDP source addresses can
// pose as a peer's uTP endpoint; uTP has no defence against that anyway: a
// forged RESET closes a connection as surely.)
// Pure: no sockets.

export interface DuplicateSide {
  /** We dialled it. */
  outgoing: boolean
  /** The id the peer gave in this connection's handshake. */
  remotePeerId: Buffer
}

/**
 * How long an old connection has received nothing before a new dial from its
 * peer replaces it. Against a simultaneous open misread: its two handshakes
 * finish within a round trip or two of each other (a lost SYN adds TCP's
 * first retry, 1 s), and a peer sends its bitfield and extension handshake
 * right after its handshake, so the older one has spoken well within 3 s.
 * Not longer: the new connection refused, a peer only redials after its
 * backoff (ours 30 s), and a client restarted by a supervisor is back in a
 * second or two, much less than the 28 s a dead uTP connection lasted.
 */
export const SILENT_REPLACE_MS = 3_000

/** What tells an old connection its peer lost (see the header): measured by the swarm. */
export interface Staleness {
  /** The two connections come from one IP address. */
  sameHost: boolean
  /** ... and from the same port. */
  sameEndpoint: boolean
  /** How long the existing connection has received nothing. */
  existingSilentMs: number
}

export interface DuplicateCase {
  ourPeerId: Buffer
  /** Where we accept peers (0 = nowhere). */
  ourListenPort: number
  /** Where the peer accepts connections. */
  remoteListenPort: number
  existing: DuplicateSide
  fresh: DuplicateSide
  /** Omitted: only the tie-break rules apply. */
  staleness?: Staleness
}

/** Which connection to keep when `fresh` finishes its handshake while `existing` is up. */
export function keepOnDuplicate(c: DuplicateCase): 'existing' | 'fresh' {
  if (replacesStale(c)) return 'fresh'
  if (c.existing.outgoing === c.fresh.outgoing) return 'existing'
  let weInitiate: boolean
  if (c.existing.remotePeerId.equals(c.fresh.remotePeerId) || c.ourListenPort === c.remoteListenPort) {
    weInitiate = Buffer.compare(c.ourPeerId, c.fresh.remotePeerId) > 0
  } else {
    weInitiate = c.ourListenPort < c.remoteListenPort
  }
  // Keep the connection the initiating side dialled.
  return weInitiate === c.fresh.outgoing ? 'fresh' : 'existing'
}

/** The peer dialled us again and the existing connection is dead at its end: `fresh` replaces it (keepOnDuplicate says 'fresh'). */
export function replacesStale(c: DuplicateCase): boolean {
  const s = c.staleness
  if (!s || c.fresh.outgoing || !s.sameHost) return false
  // Two incoming from one address and port: never a simultaneous open (that is one each way).
  if (s.sameEndpoint && !c.existing.outgoing) return true
  return s.existingSilentMs >= SILENT_REPLACE_MS
}

/** The close reason of the connection a duplicate loses; never held against the peer. */
export const DUPLICATE_CONNECTION = 'duplicate connection: this peer is connected already'

/** The close reason of an old connection a new one from its peer replaced (see the header). */
export function replacedReason(silentMs: number): string {
  return `replaced: the peer connected again, this connection received nothing for ${(silentMs / 1000).toFixed(1)} s`
}
