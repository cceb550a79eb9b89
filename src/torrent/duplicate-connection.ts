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
// Pure: no sockets.

export interface DuplicateSide {
  /** We dialled it. */
  outgoing: boolean
  /** The id the peer gave in this connection's handshake. */
  remotePeerId: Buffer
}

export interface DuplicateCase {
  ourPeerId: Buffer
  /** Where we accept peers (0 = nowhere). */
  ourListenPort: number
  /** Where the peer accepts connections. */
  remoteListenPort: number
  existing: DuplicateSide
  fresh: DuplicateSide
}

/** Which connection to keep when `fresh` finishes its handshake while `existing` is up. */
export function keepOnDuplicate(c: DuplicateCase): 'existing' | 'fresh' {
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

/** The close reason of the connection a duplicate loses; never held against the peer. */
export const DUPLICATE_CONNECTION = 'duplicate connection: this peer is connected already'
