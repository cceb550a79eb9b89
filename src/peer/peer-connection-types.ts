// What a PeerConnection is given and what it reports: its options (the socket,
// the torrent's hashes, our peer id and BEP 10 handshake, timeouts) and its
// events, one per thing the peer said, each already checked; and its limits
// (keep-alive, timeouts, the largest message).
import type { Bitfield } from '../core/bitfield.ts'
import type { Clock } from '../core/clock.ts'
import type { BlockRef } from '../core/types.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import type { Decoder, DecodedItem } from '../wire/decoder.ts'
import type { ExtendedHandshake } from '../wire/extension.ts'
import type { Handshake } from '../wire/handshake.ts'
import type { HashRange } from '../wire/messages.ts'

/** BEP 3 peers drop a connection after 2 minutes of silence; we speak at least every 90 s. */
export const KEEP_ALIVE_MS = 90_000
export const IDLE_TIMEOUT_MS = 180_000
export const HANDSHAKE_TIMEOUT_MS = 15_000
/**
 * A message begun must be finished within this long. The idle timeout alone
 * would let a peer trickle one byte a minute and hold a connection (and up to
 * a max-size message buffer) for ever; an honest 16 KiB block at this limit
 * still arrives at 270 B/s.
 */
export const MESSAGE_TIMEOUT_MS = 60_000
/** BEP 10 says libtorrent's default reqq is 250; we assume that when a peer does not say. */
export const DEFAULT_PEER_REQQ = 250
/** The close reason when the remote peer id is our own. */
export const SELF_CONNECTION = 'connected to ourselves'
/** Largest piece message we accept: a 16 KiB block is the norm, 128 KiB is what some clients allow. */
export const MAX_MESSAGE_LENGTH = 1024 * 1024 + 16

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
