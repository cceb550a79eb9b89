// BEP 52 block-level checks: the SHA-256 of each 16 KiB block of a v2 (or
// hybrid) piece against the piece's block hashes (layer 0 of its file's merkle
// tree), so a bad block is found, and its sender named, as soon as the block
// and the hashes are both here, not when the piece is whole.
//
// The block hashes of a piece are not in the .torrent (its piece layers stop at
// one hash per piece): they are asked of a peer with a hash request at base
// layer 0 (libtorrent's hash_picker does the same for a piece that failed) when
// the piece is first picked, before its blocks are requested, and believed
// only when their subtree's root is the piece's hash (from the piece layer, or
// the file's root for a file of one piece). An answer that does not prove out,
// a reject, a silence past HASH_TIMEOUT_MS or a closed peer sends the request
// to another peer that has the piece. Block hashes are kept only while their
// piece is open (32 bytes a block).
//
// Pure decisions over a tiny peer interface: it sends hash requests and says
// 'good', 'bad' or 'unknown' for a block; it never touches storage or bans.

import { createHash } from 'node:crypto'
import type { Bitfield } from '../core/bitfield.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { BLOCK_SIZE, log2, nextPow2, splitHashes, verifyProof } from '../metainfo/merkle.ts'
import type { Metainfo, V2File } from '../metainfo/metainfo.ts'
import { expectedV2Hash } from '../metainfo/piece-check.ts'
import { v2FileOfPiece } from '../metainfo/v2-info.ts'
import type { HashRange } from '../wire/messages.ts'

/** An unanswered block-hash request goes to another peer after this long. */
export const HASH_TIMEOUT_MS = 10_000

/** What the verifier needs of a peer connection. */
export interface HashPeer {
  readonly key: string
  readonly ready: boolean
  readonly have: Pick<Bitfield, 'get'>
  sendHashRequest(range: HashRange): void
}

export type BlockVerdict = 'good' | 'bad' | 'unknown'

export interface BlockVerifierEvents {
  /** Piece `index`'s block hashes are now known: blocks of it taken unchecked can be checked. */
  leaves: [index: number]
}

interface Asked {
  /** The peer asked now; undefined while no one untried can be asked. */
  key: string | undefined
  atMs: number
  /** Peers asked before (each is asked once per piece). */
  tried: Set<string>
}

export interface BlockVerifierOptions {
  meta: Metainfo
  connections: ReadonlyMap<string, HashPeer>
  /** Whether `peer` may be sent hash messages (libtorrent hangs up on a connection it counts as v1). */
  speaksHashes: (peer: HashPeer) => boolean
  now: () => number
}

export class BlockVerifier extends TypedEmitter<BlockVerifierEvents> {
  readonly #meta: Metainfo
  readonly #connections: ReadonlyMap<string, HashPeer>
  readonly #speaksHashes: (peer: HashPeer) => boolean
  readonly #now: () => number
  readonly #blocksPerPiece: number
  /** Proven block hashes by piece (open pieces only). */
  readonly #leaves = new Map<number, Buffer[]>()
  readonly #asked = new Map<number, Asked>()
  /** Peers that refused a block-hash request: not asked again. */
  readonly #refusers = new Set<string>()
  readonly #fileByRoot = new Map<string, V2File>()

  constructor(opts: BlockVerifierOptions) {
    super()
    this.#meta = opts.meta
    this.#connections = opts.connections
    this.#speaksHashes = opts.speaksHashes
    this.#now = opts.now
    this.#blocksPerPiece = opts.meta.pieceLength / BLOCK_SIZE
    for (const f of opts.meta.v2?.files ?? []) this.#fileByRoot.set(f.root.toString('hex'), f)
  }

  /** Piece `index` was picked (by `preferKey`, asked first when it can answer): its block hashes are asked for if unknown. */
  want(index: number, preferKey?: string): void {
    const asked = this.#asked.get(index)
    if (this.#leaves.has(index) || asked?.key !== undefined || !this.#rangeOf(index)) return
    this.#askSomeone(index, asked?.tried ?? new Set(), preferKey)
  }

  /** The verdict on one block: 'unknown' while the piece's block hashes are not known. */
  check(index: number, begin: number, data: Uint8Array): BlockVerdict {
    const leaves = this.#leaves.get(index)
    if (!leaves) return 'unknown'
    const file = v2FileOfPiece(this.#meta.v2!, index)!
    const fileEnd = this.#meta.files[file.fileIndex].offset + file.length
    const start = index * this.#meta.pieceLength + begin
    const own = Math.max(0, Math.min(data.length, fileEnd - start))
    // Bytes past the file's end are its pad file: zeros (its leaves are padding, not hashes of data).
    for (let i = own; i < data.length; i++) if (data[i] !== 0) return 'bad'
    if (own === 0) return 'good'
    const leaf = leaves[Math.floor(begin / BLOCK_SIZE)]
    return leaf !== undefined && createHash('sha256').update(data.subarray(0, own)).digest().equals(leaf) ? 'good' : 'bad'
  }

  /** The piece is verified (or no longer wanted): its hashes and requests are dropped. */
  forget(index: number): void {
    this.#leaves.delete(index)
    this.#asked.delete(index)
  }

  /** A hashes message at base layer 0. */
  handleHashes(peer: HashPeer, range: HashRange, hashes: Buffer): void {
    const index = this.#pieceOfRange(range)
    if (index === undefined) return
    const asked = this.#asked.get(index)
    if (!asked || asked.key !== peer.key) return
    const expected = this.#rangeOf(index)!
    const all = splitHashes(hashes)
    const own = all.slice(0, expected.length)
    const root = expectedV2Hash(this.#meta, index)
    if (range.length !== expected.length || own.length < expected.length || !root || !verifyProof(own, 0, range.index, [], root)) {
      // Hashes that do not prove out: someone else is asked.
      this.#askSomeone(index, asked.tried)
      return
    }
    this.#asked.delete(index)
    this.#leaves.set(index, own)
    this.emit('leaves', index)
  }

  /** A hash reject at base layer 0: that peer is not asked for block hashes again. */
  handleReject(peer: HashPeer, range: HashRange): void {
    const index = this.#pieceOfRange(range)
    if (index === undefined) return
    const asked = this.#asked.get(index)
    if (!asked || asked.key !== peer.key) return
    this.#refusers.add(peer.key)
    this.#askSomeone(index, asked.tried)
  }

  handlePeerClosed(key: string): void {
    this.#refusers.delete(key)
    for (const [index, asked] of this.#asked) if (asked.key === key) this.#askSomeone(index, asked.tried)
  }

  /** Requests unanswered past HASH_TIMEOUT_MS go to another peer. */
  handleTick(nowMs: number): void {
    for (const [index, asked] of this.#asked) if (asked.key !== undefined && nowMs - asked.atMs > HASH_TIMEOUT_MS) this.#askSomeone(index, asked.tried)
  }

  /** Pieces whose block hashes are known or asked for (for tests and snapshots). */
  get held(): { known: number; asked: number } {
    let asked = 0
    for (const a of this.#asked.values()) if (a.key !== undefined) asked++
    return { known: this.#leaves.size, asked }
  }

  #askSomeone(index: number, tried: Set<string>, preferKey?: string): void {
    const range = this.#rangeOf(index)!
    const eligible = (p: HashPeer | undefined): p is HashPeer =>
      p !== undefined && p.ready && !tried.has(p.key) && !this.#refusers.has(p.key) && p.have.get(index) && this.#speaksHashes(p)
    let peer = preferKey !== undefined ? this.#connections.get(preferKey) : undefined
    if (!eligible(peer)) {
      peer = undefined
      let fewest = Infinity
      const load = new Map<string, number>()
      for (const a of this.#asked.values()) if (a.key !== undefined) load.set(a.key, (load.get(a.key) ?? 0) + 1)
      for (const p of this.#connections.values()) {
        if (!eligible(p)) continue
        const n = load.get(p.key) ?? 0
        if (n < fewest) [peer, fewest] = [p, n]
      }
    }
    if (!peer) {
      // No one untried to ask now: the next pick of the piece looks again (a peer may have come); until then its blocks wait for the piece check.
      this.#asked.set(index, { key: undefined, atMs: this.#now(), tried })
      return
    }
    tried.add(peer.key)
    this.#asked.set(index, { key: peer.key, atMs: this.#now(), tried })
    peer.sendHashRequest(range)
  }

  /**
   * The hash request for piece `index`'s block hashes, with no uncles (their
   * subtree's root is a hash we hold); undefined when there is nothing to ask:
   * a piece of one block (its hash is the block's), padding, or a piece whose
   * hash we do not know yet.
   */
  #rangeOf(index: number): HashRange | undefined {
    const file = this.#meta.v2 && v2FileOfPiece(this.#meta.v2, index)
    if (!file || !expectedV2Hash(this.#meta, index)) return undefined
    const length = this.#widthOf(file)
    if (length < 2) return undefined
    return { piecesRoot: file.root, baseLayer: 0, index: (index - file.firstPiece) * this.#blocksPerPiece, length, proofLayers: log2(length) - 1 }
  }

  /** Leaves under one piece's hash: a piece's worth, or the whole (padded) tree of a file of one piece. */
  #widthOf(file: V2File): number {
    return file.length > this.#meta.pieceLength ? this.#blocksPerPiece : nextPow2(Math.ceil(file.length / BLOCK_SIZE))
  }

  #pieceOfRange(range: HashRange): number | undefined {
    const file = this.#fileByRoot.get(range.piecesRoot.toString('hex'))
    if (!file || range.baseLayer !== 0 || range.index % this.#blocksPerPiece !== 0) return undefined
    const index = file.firstPiece + range.index / this.#blocksPerPiece
    return index < file.firstPiece + file.pieceCount ? index : undefined
  }
}
