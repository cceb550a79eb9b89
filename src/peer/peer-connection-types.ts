// What a PeerConnection is given and what it reports: its options (the socket,
// the torrent's hashes, our peer id and BEP 10 handshake, timeouts) and its
// events, one per thing the peer said, each already checked.
import type { Bitfield } from '../core/bitfield.ts'
import type { Clock } from '../core/clock.ts'
import type { BlockRef } from '../core/types.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import type { Decoder, DecodedItem } from '../wire/decoder.ts'
import type { ExtendedHandshake } from '../wire/extension.ts'
import type { Handshake } from '../wire/handshake.ts'
import type { HashRange } from '../wire/messages.ts'

export interface PeerConnectionOptions {
  /** A net.Socket, or a transport's stream (uTP, MSE over either). */
  socket: PeerSocket
  infoHash: Buffer
  /** BEP 52: set the v2 bit in our handshake. */
  v2?: boolean
  /** BEP 52 hybrid: an incoming peer may use this (the v2) hash instead; we answer with the one it used. */
  otherInfoHash?: Buffer
  ourPeerId: Buffer
  /** Undefined while fetching metadata (BEP 9): then have/bitfield cannot be checked and are ignored. */
  pieceCount: number | undefined
  outgoing: boolean
  /** Incoming connections arrive with the remote handshake (and anything after it) already decoded. */
  incoming?: { decoder: Decoder; handshake: Handshake; rest: DecodedItem[] }
  /** Our BEP 10 handshake dictionary (m, v, p, reqq, metadata_size). */
  extendedHandshake: ExtendedHandshake
  clock?: Clock
  /** A message begun and not finished within this long closes the connection (default MESSAGE_TIMEOUT_MS). */
  messageTimeoutMs?: number
}

export interface PeerConnectionEvents {
  /** The remote handshake checked out: the peer is ours to talk to. */
  ready: []
  choke: []
  unchoke: []
  interested: []
  notInterested: []
  /** The peer's bitfield (validated), or an all/none from BEP 6. */
  bitfield: [bitfield: Bitfield]
  have: [index: number]
  haveAll: []
  request: [block: BlockRef]
  cancel: [block: BlockRef]
  /** A block arrived that we had outstanding at this peer. */
  block: [block: BlockRef, data: Buffer]
  /** A block arrived that we never asked this peer for (ignored, counted as waste). */
  unexpectedBlock: [block: BlockRef]
  reject: [block: BlockRef]
  /** BEP 52 hash messages; the buffers are the connection's own copies. */
  hashRequest: [range: HashRange]
  hashes: [range: HashRange, hashes: Buffer]
  hashReject: [range: HashRange]
  extendedHandshake: [handshake: ExtendedHandshake]
  extended: [name: string, payload: Buffer]
  /** Socket closed; `reason` says why in one line. Emitted exactly once. */
  close: [reason: string]
}
