// BEP 9 download of a torrent's info dict from peers, 16 KiB piece by piece. Pure: knows
// peers only by id, the caller passes the time in; never touches a socket or a timer.
// Nothing a peer sends is trusted: sizes are bounded and must agree, and the whole dict must hash
// to the info hash. A request weighs: pieces lacked, who is asked, per-peer slots, rejects, timeouts.

import { createHash } from 'node:crypto'
import { MAX_TORRENT_BYTES } from '../metainfo/torrent-file.ts'
import { METADATA_PIECE_SIZE } from '../wire/ut-metadata.ts'

/** The .torrent limit (libtorrent's max_metadata_size): every torrent we would read from a file we also fetch. */
export const MAX_METADATA_SIZE = MAX_TORRENT_BYTES

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
const DEFAULT_MAX_REQUESTS_PER_PEER = 2
const INFO_HASH_LENGTH = 20

export interface MetadataPeer {
  id: string
  /** BEP 9: metadata_size from the peer's BEP 10 extended handshake. */
  metadataSize: number | undefined
}

export interface MetadataRequest {
  peer: string
  piece: number
}

export type MetadataResult = { ok: true } | { ok: false; reason: string }
export type MetadataDataResult = { ok: true; done?: Buffer } | { ok: false; reason: string }

interface PeerState {
  /** Piece → when we asked. */
  outstanding: Map<number, number>
}

interface PieceState {
  have: boolean
  /** The peer currently asked for it, if its request has not timed out. */
  askedPeer: string | undefined
  sender: string | undefined
  rejectedBy: Set<string>
  timedOutBy: Set<string>
}

export class MetadataFetcher {
  readonly #infoHash: Buffer
  /** BEP 52: the whole SHA-256 the metadata must hash to (a btmh magnet). */
  readonly #infoHashV2: Buffer | undefined
  readonly #requestTimeoutMs: number
  readonly #maxRequestsPerPeer: number
  readonly #peers = new Map<string, PeerState>()
  /** Peers that announced another metadata_size than the fetch's: kept, not asked, until their size is the one tried. */
  readonly #parked = new Map<string, number>()
  #size: number | undefined
  #pieces: PieceState[] = []
  #haveCount = 0
  #buffer: Buffer | undefined
  #complete = false
  #lastFailedPeers: string[] = []

  constructor(infoHash: Buffer, opts: { requestTimeoutMs?: number; maxRequestsPerPeer?: number; infoHashV2?: Buffer } = {}) {
    if (infoHash.length !== INFO_HASH_LENGTH) throw new RangeError(`info hash must be ${INFO_HASH_LENGTH} bytes, got ${infoHash.length}`)
    const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    const maxRequestsPerPeer = opts.maxRequestsPerPeer ?? DEFAULT_MAX_REQUESTS_PER_PEER
    if (!(requestTimeoutMs > 0)) throw new RangeError(`requestTimeoutMs must be positive, got ${requestTimeoutMs}`)
    if (!Number.isInteger(maxRequestsPerPeer) || maxRequestsPerPeer < 1) {
      throw new RangeError(`maxRequestsPerPeer must be a positive integer, got ${maxRequestsPerPeer}`)
    }
    this.#infoHash = Buffer.from(infoHash)
    if (opts.infoHashV2 && opts.infoHashV2.length !== 32) throw new RangeError(`v2 info hash must be 32 bytes, got ${opts.infoHashV2.length}`)
    this.#infoHashV2 = opts.infoHashV2 && Buffer.from(opts.infoHashV2)
    this.#requestTimeoutMs = requestTimeoutMs
    this.#maxRequestsPerPeer = maxRequestsPerPeer
  }

  /** The info dict's size once a peer has announced one we accept. */
  get size(): number | undefined {
    return this.#size
  }

  get complete(): boolean {
    return this.#complete
  }

  /** Everyone who contributed to the last assembled dict that failed the info-hash check. */
  get lastFailedPeers(): readonly string[] {
    return this.#lastFailedPeers
  }

  addPeer(peer: MetadataPeer): MetadataResult {
    if (this.#peers.has(peer.id)) return { ok: true }
    const size = peer.metadataSize
    if (size === undefined) return { ok: false, reason: 'peer has no metadata to share (no metadata_size in its extended handshake)' }
    if (!Number.isSafeInteger(size) || size <= 0) return { ok: false, reason: `peer announced an impossible metadata_size ${size}` }
    if (size > MAX_METADATA_SIZE) {
      return { ok: false, reason: `peer announced metadata_size ${size}, over the ${MAX_METADATA_SIZE}-byte limit` }
    }
    // Sizes disagree: one side lies, and only the info hash can tell which. The peer
    // waits; its size is tried if the current one's peers all go or all stall.
    if (this.#size !== undefined && size !== this.#size) {
      this.#parked.set(peer.id, size)
      return { ok: true }
    }
    if (this.#size === undefined) this.#chooseSize(size)
    this.#peers.set(peer.id, { outstanding: new Map() })
    return { ok: true }
  }

  /** Peers kept aside because they announced a size other than the one being fetched. */
  get parkedPeers(): number {
    return this.#parked.size
  }

  removePeer(id: string): void {
    this.#parked.delete(id)
    const state = this.#peers.get(id)
    if (!state) return
    this.#peers.delete(id)
    for (const index of state.outstanding.keys()) {
      const piece = this.#pieces[index]
      if (piece.askedPeer === id) piece.askedPeer = undefined
    }
    for (const piece of this.#pieces) {
      piece.rejectedBy.delete(id)
      piece.timedOutBy.delete(id)
    }
    // With no peer left, the size that peer announced is vouched for by no one: a liar
    // about the size must not lock out every honest peer that joins later.
    if (this.#peers.size === 0 && !this.#complete) {
      this.#resetSize()
      this.#tryParkedSize()
    }
  }

  /** Moves the fetch to the size most parked peers announced, parking the current peers under theirs. */
  #tryParkedSize(): void {
    if (this.#parked.size === 0) return
    const votes = new Map<number, number>()
    for (const size of this.#parked.values()) votes.set(size, (votes.get(size) ?? 0) + 1)
    const size = [...votes].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0]
    const old = this.#size
    for (const id of this.#peers.keys()) if (old !== undefined) this.#parked.set(id, old)
    this.#peers.clear()
    this.#chooseSize(size)
    for (const [id, s] of this.#parked) {
      if (s !== size) continue
      this.#parked.delete(id)
      this.#peers.set(id, { outstanding: new Map() })
    }
  }

  /** Nothing received, and every peer of this size has let a request time out: the size itself may be the lie. */
  #stalled(): boolean {
    if (this.#haveCount > 0 || this.#parked.size === 0 || this.#peers.size === 0) return false
    const timedOut = new Set<string>()
    for (const piece of this.#pieces) for (const id of piece.timedOutBy) timedOut.add(id)
    for (const id of this.#peers.keys()) if (!timedOut.has(id)) return false
    return true
  }

  /** The requests to send now; each is recorded as sent at `nowMs`. */
  nextRequests(nowMs: number): MetadataRequest[] {
    if (this.#complete || this.#size === undefined) return []
    this.#expireRequests(nowMs)
    if (this.#stalled()) this.#tryParkedSize()
    const requests: MetadataRequest[] = []
    for (let index = 0; index < this.#pieces.length; index++) {
      const piece = this.#pieces[index]
      if (piece.have || piece.askedPeer !== undefined) continue
      const peerId = this.#pickPeer(piece)
      if (peerId === undefined) continue
      piece.askedPeer = peerId
      this.#peers.get(peerId)!.outstanding.set(index, nowMs)
      requests.push({ peer: peerId, piece: index })
    }
    return requests
  }

  /**
   * A ut_metadata data message. {ok:false} means the peer sent something no honest peer
   * would, and it has been dropped from the fetch. A piece we did not ask this peer for is
   * still taken: the hash check over the whole dict is what guards us, not the bookkeeping.
   */
  handleData(peerId: string, index: number, totalSize: number, data: Buffer): MetadataDataResult {
    if (this.#complete) return { ok: true }
    const peer = this.#peers.get(peerId)
    if (!peer || this.#size === undefined) return { ok: false, reason: 'sent metadata without being part of the metadata fetch' }
    const fault = this.#checkData(index, totalSize, data)
    if (fault !== undefined) {
      this.removePeer(peerId)
      return { ok: false, reason: fault }
    }
    peer.outstanding.delete(index)
    const piece = this.#pieces[index]
    if (piece.have) return { ok: true }

    // The slot of whoever else was asked for this piece is free again; its late answer is ignored.
    if (piece.askedPeer !== undefined && piece.askedPeer !== peerId) {
      this.#peers.get(piece.askedPeer)?.outstanding.delete(index)
    }
    this.#buffer ??= Buffer.alloc(this.#size)
    data.copy(this.#buffer, index * METADATA_PIECE_SIZE)
    piece.have = true
    piece.askedPeer = undefined
    piece.sender = peerId
    this.#haveCount++
    if (this.#haveCount < this.#pieces.length) return { ok: true }
    return this.#verify()
  }

  /** BEP 9 reject: this peer will not give this piece, so it goes to someone else. */
  handleReject(peerId: string, index: number): void {
    const peer = this.#peers.get(peerId)
    const piece = this.#pieces[index]
    if (!peer || piece === undefined) return
    peer.outstanding.delete(index)
    piece.rejectedBy.add(peerId)
    if (piece.askedPeer === peerId) piece.askedPeer = undefined
  }

  #chooseSize(size: number): void {
    this.#size = size
    const count = Math.ceil(size / METADATA_PIECE_SIZE)
    this.#pieces = Array.from({ length: count }, () => ({
      have: false, askedPeer: undefined, sender: undefined, rejectedBy: new Set<string>(), timedOutBy: new Set<string>(),
    }))
    this.#haveCount = 0
    this.#buffer = undefined
  }

  #resetSize(): void {
    this.#size = undefined
    this.#pieces = []
    this.#haveCount = 0
    this.#buffer = undefined
  }

  #checkData(index: number, totalSize: number, data: Buffer): string | undefined {
    const size = this.#size!
    if (totalSize !== size) return `sent metadata with total_size ${totalSize} but the metadata is ${size} bytes`
    if (!Number.isInteger(index) || index < 0 || index >= this.#pieces.length) {
      return `sent metadata piece ${index} but there are only ${this.#pieces.length} pieces`
    }
    const expected = Math.min(METADATA_PIECE_SIZE, size - index * METADATA_PIECE_SIZE)
    if (data.length !== expected) return `sent metadata piece ${index} of ${data.length} bytes; it should be ${expected}`
    return undefined
  }

  /**
   * SHA-1 equal to the info hash (v1); with a v2 hash, SHA-256 equal to it, and
   * for a hybrid (whose wire hash is not the SHA-256's first 20 bytes) the SHA-1 too.
   */
  #matches(buffer: Buffer): boolean {
    if (!this.#infoHashV2) return createHash('sha1').update(buffer).digest().equals(this.#infoHash)
    if (!createHash('sha256').update(buffer).digest().equals(this.#infoHashV2)) return false
    return this.#infoHashV2.subarray(0, INFO_HASH_LENGTH).equals(this.#infoHash) || createHash('sha1').update(buffer).digest().equals(this.#infoHash)
  }

  #verify(): MetadataDataResult {
    const buffer = this.#buffer!
    if (this.#matches(buffer)) {
      this.#complete = true
      this.#buffer = undefined
      for (const peer of this.#peers.values()) peer.outstanding.clear()
      return { ok: true, done: buffer }
    }
    // Without per-piece hashes the liar cannot be told from the honest senders, so every
    // sender goes and every piece is fetched again from the others.
    const senders = [...new Set(this.#pieces.map((piece) => piece.sender!))]
    this.#lastFailedPeers = senders
    for (const piece of this.#pieces) {
      piece.have = false
      piece.sender = undefined
    }
    this.#haveCount = 0
    for (const id of senders) this.removePeer(id)
    return {
      ok: false,
      reason: `the metadata assembled from ${senders.length} peer(s) does not match the info hash; dropped ${senders.join(', ')}`,
    }
  }

  /** A request unanswered for requestTimeoutMs frees its slot and its piece, which another peer is asked for. */
  #expireRequests(nowMs: number): void {
    const deadline = nowMs - this.#requestTimeoutMs
    for (const [id, peer] of this.#peers) {
      for (const [index, sentAtMs] of peer.outstanding) {
        if (sentAtMs > deadline) continue
        peer.outstanding.delete(index)
        const piece = this.#pieces[index]
        piece.timedOutBy.add(id)
        if (piece.askedPeer === id) piece.askedPeer = undefined
      }
    }
  }

  /**
   * The least-loaded peer with a free slot that has neither rejected nor timed out on this
   * piece. A peer that timed out on it is asked again only when no fresh peer exists at all,
   * so one slow peer is retried rather than the fetch stalling, but never preferred.
   */
  #pickPeer(piece: PieceState): string | undefined {
    let best: string | undefined
    let bestLoad = Infinity
    let fallback: string | undefined
    let fallbackLoad = Infinity
    let freshExists = false
    for (const [id, peer] of this.#peers) {
      if (piece.rejectedBy.has(id)) continue
      const timedOut = piece.timedOutBy.has(id)
      if (!timedOut) freshExists = true
      const load = peer.outstanding.size
      if (load >= this.#maxRequestsPerPeer) continue
      if (!timedOut && load < bestLoad) {
        best = id
        bestLoad = load
      } else if (timedOut && load < fallbackLoad) {
        fallback = id
        fallbackLoad = load
      }
    }
    if (best !== undefined) return best
    return freshExists ? undefined : fallback
  }
}
