// BEP 52 hash messages for one v2 or hybrid torrent. A v2-only torrent asks
// its peers for the piece layers it lacks (a magnet's metadata has no "piece
// layers", and a .torrent may leave them out) in libtorrent's way: up to 512 piece hashes
// per request with the uncle hashes that prove them against the file's root;
// an answer that does not prove out is dropped and asked of another peer.
// Messages about block hashes (base layer 0) go to its BlockVerifier, which
// asks for them to check each block as it arrives. Answers peers' requests from
// the piece layers we hold, and block hashes from the data of pieces we have
// (read through the uploader's cache, hashed, never kept); hybrids' peers get
// block-hash requests only where libtorrent takes them (see speaksHashes).
// Tells its owner when every layer is known.

import type { Bitfield } from '../core/bitfield.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { BLOCK_SIZE, HASH_SIZE, MerkleTree, blockHashes, log2, nextPow2, padHash, splitHashes, verifyProof } from '../metainfo/merkle.ts'
import type { Metainfo, V2File } from '../metainfo/metainfo.ts'
import { v2FileOfPiece } from '../metainfo/v2-info.ts'
import type { PeerConnection } from '../peer/peer-connection.ts'
import type { HashRange } from '../wire/messages.ts'
import { BlockVerifier } from './block-verifier.ts'

/** libtorrent's chunk of piece hashes per request. */
const CHUNK = 512
/** libtorrent refuses requests for more hashes than this. */
const MAX_HASHES = 8192

interface Wanted {
  file: V2File
  layer: Buffer
  /** Per chunk: the peer asked, or true once proven. */
  chunks: (string | true | undefined)[]
}

export interface HashExchangeEvents {
  /** Every file's piece layer is known: every piece can be verified. */
  layersComplete: []
}

export interface HashExchangeOptions {
  now: () => number
  /** Block hashes are served from the pieces we have (undefined before the check), read with this. */
  withPiece: <T>(index: number, use: (data: Buffer) => T) => Promise<T>
  have: () => Pick<Bitfield, 'get'> | undefined
}

export class HashExchange extends TypedEmitter<HashExchangeEvents> {
  /** Block-level checks (pieces of more than one block only). */
  readonly blocks: BlockVerifier | undefined
  readonly #opts: HashExchangeOptions
  readonly #meta: Metainfo
  readonly #connections: ReadonlyMap<string, PeerConnection>
  readonly #wanted = new Map<string, Wanted>()
  readonly #trees = new Map<string, MerkleTree>()
  readonly #pieceLayer: number

  constructor(meta: Metainfo, connections: ReadonlyMap<string, PeerConnection>, opts: HashExchangeOptions) {
    super()
    this.#meta = meta
    this.#connections = connections
    this.#opts = opts
    this.#pieceLayer = log2(meta.pieceLength / BLOCK_SIZE)
    if (this.#pieceLayer > 0) {
      // A hybrid's connection speaks the hash messages when its handshake named the v2 info hash. On a v1
      // connection libtorrent 2.0 hangs up on one ("invalid message") even when both sides set the v2 bit: it
      // sets that bit on its v1 connections ("can upgrade") and counts only some as v2 (an unencrypted incoming
      // one with the bit; never an encrypted one, nor one it dialled), which the other side cannot tell apart.
      // A v2-only torrent's peers all speak them.
      const v2Hash = meta.v2?.infoHash.subarray(0, 20)
      const speaksHashes = (pc: PeerConnection): boolean => !meta.hasV1 || (v2Hash !== undefined && pc.infoHash.equals(v2Hash))
      this.blocks = new BlockVerifier({ meta, connections, now: opts.now, speaksHashes: (p) => speaksHashes(p as PeerConnection) })
    }
    for (const file of meta.v2?.files ?? []) {
      if (file.length <= meta.pieceLength || file.layer) continue
      this.#wanted.set(file.root.toString('hex'), {
        file,
        layer: Buffer.alloc(file.pieceCount * HASH_SIZE),
        chunks: new Array(Math.ceil(file.pieceCount / CHUNK)).fill(undefined),
      })
    }
  }

  /** Some piece layer is still unknown. */
  get missing(): boolean {
    return this.#wanted.size > 0
  }

  /** A ready peer: its hash messages come here, and it is asked for what we lack. */
  handlePeer(pc: PeerConnection): void {
    pc.on('hashRequest', (range) => this.#serve(pc, range))
    pc.on('hashes', (range, hashes) => {
      if (range.baseLayer === 0 && this.blocks) this.blocks.handleHashes(pc, range, hashes)
      else this.#handleHashes(pc, range, hashes)
    })
    pc.on('hashReject', (range) => {
      if (range.baseLayer === 0 && this.blocks) this.blocks.handleReject(pc, range)
      else this.#release(range, pc.key, true)
    })
    this.#ask(pc)
  }

  handleTick(nowMs: number): void {
    this.blocks?.handleTick(nowMs)
  }

  /** Its unanswered requests go to other peers. */
  handlePeerClosed(key: string): void {
    this.blocks?.handlePeerClosed(key)
    for (const wanted of this.#wanted.values()) {
      wanted.chunks.forEach((asked, i) => {
        if (asked === key) wanted.chunks[i] = undefined
      })
    }
    this.#askAll(key)
  }

  #askAll(except?: string): void {
    for (const pc of this.#connections.values()) if (pc.key !== except && pc.ready) this.#ask(pc)
  }

  #ask(pc: PeerConnection): void {
    // A hybrid needs no layers to download (SHA-1 checks its pieces), and libtorrent hangs
    // up on a hash request over a connection it counts as v1: only v2-only torrents ask.
    if (this.#meta.hasV1) return
    for (const wanted of this.#wanted.values()) {
      wanted.chunks.forEach((asked, i) => {
        if (asked !== undefined) return
        wanted.chunks[i] = pc.key
        pc.sendHashRequest(this.#chunkRange(wanted.file, i))
      })
    }
  }

  /** Chunk i of a file's piece layer, with the proof up to its root (libtorrent's hash_picker::pick_hashes). */
  #chunkRange(file: V2File, i: number): HashRange {
    const height = log2(nextPow2(file.pieceCount))
    return {
      piecesRoot: file.root,
      baseLayer: this.#pieceLayer,
      index: i * CHUNK,
      length: Math.min(CHUNK, nextPow2(file.pieceCount - i * CHUNK)),
      proofLayers: height - 1,
    }
  }

  #handleHashes(pc: PeerConnection, range: HashRange, hashes: Buffer): void {
    const wanted = this.#wanted.get(range.piecesRoot.toString('hex'))
    if (!wanted || range.baseLayer !== this.#pieceLayer || range.index % CHUNK !== 0) return
    const chunk = range.index / CHUNK
    if (wanted.chunks[chunk] === true) return
    const expected = this.#chunkRange(wanted.file, chunk)
    const all = splitHashes(hashes)
    if (range.length !== expected.length || all.length < expected.length) return this.#release(range, pc.key, true)
    const own = all.slice(0, expected.length)
    if (!verifyProof(own, range.baseLayer, range.index, all.slice(expected.length), wanted.file.root)) {
      // A hashes answer that does not prove out: ask someone else.
      return this.#release(range, pc.key, true)
    }
    const real = Math.min(expected.length, wanted.file.pieceCount - range.index)
    Buffer.concat(own.slice(0, real)).copy(wanted.layer, range.index * HASH_SIZE)
    wanted.chunks[chunk] = true
    if (wanted.chunks.every((c) => c === true)) {
      wanted.file.layer = wanted.layer
      this.#wanted.delete(range.piecesRoot.toString('hex'))
      if (this.#wanted.size === 0) this.emit('layersComplete')
    }
  }

  #release(range: HashRange, key: string, askOthers: boolean): void {
    const wanted = this.#wanted.get(range.piecesRoot.toString('hex'))
    const chunk = range.index / CHUNK
    if (!wanted || wanted.chunks[chunk] !== key) return
    wanted.chunks[chunk] = undefined
    if (askOthers) this.#askAll(key)
  }

  /** libtorrent's validate_hash_request, then the hashes from our piece layer (and the uncles above them). */
  #serve(pc: PeerConnection, range: HashRange): void {
    if (range.baseLayer === 0 && this.#pieceLayer > 0) {
      void this.#serveBlocks(range).then((hashes) => (hashes ? pc.sendHashes(range, hashes) : pc.sendHashReject(range)))
      return
    }
    const tree = this.#treeOf(range.piecesRoot)
    const { baseLayer: base, index, length, proofLayers } = range
    const valid = tree !== undefined &&
      base >= this.#pieceLayer && base < tree.topLayer &&
      length > 0 && length <= MAX_HASHES && (length & (length - 1)) === 0 && index % length === 0 &&
      index + length <= tree.width >> (base - this.#pieceLayer) &&
      proofLayers < tree.topLayer - base
    if (!valid) {
      pc.sendHashReject(range)
      return
    }
    pc.sendHashes(range, Buffer.concat(tree.hashes(base, index, length, proofLayers)))
  }

  /**
   * Block hashes (base layer 0) within one piece we have, from its bytes: the
   * piece's own subtree below its piece-layer hash, our piece layer's tree
   * above it. Undefined (a reject) for anything else.
   */
  async #serveBlocks(range: HashRange): Promise<Buffer | undefined> {
    const file = this.#meta.v2?.files.find((f) => f.root.equals(range.piecesRoot))
    if (!file) return undefined
    const { index, length, proofLayers } = range
    const bpp = 1 << this.#pieceLayer
    const big = file.length > this.#meta.pieceLength
    const width = big ? bpp : nextPow2(Math.ceil(file.length / BLOCK_SIZE))
    const above = big ? this.#treeOf(file.root) : undefined
    const top = big ? above?.topLayer : log2(width)
    if (top === undefined || length < 1 || length > width || (length & (length - 1)) !== 0 || index % length !== 0 || proofLayers >= top) return undefined
    const piece = file.firstPiece + Math.floor(index / width)
    if (piece >= file.firstPiece + file.pieceCount) return undefined
    if (!this.#opts.have()?.get(piece) || v2FileOfPiece(this.#meta.v2!, piece) !== file) return undefined
    const fileEnd = this.#meta.files[file.fileIndex].offset + file.length
    let leaves: Buffer[]
    try {
      leaves = await this.#opts.withPiece(piece, (data) => blockHashes(data.subarray(0, Math.min(data.length, fileEnd - piece * this.#meta.pieceLength))))
    } catch {
      return undefined
    }
    while (leaves.length < width) leaves.push(padHash(0))
    const below = new MerkleTree(leaves)
    const first = index - (piece - file.firstPiece) * width
    const out = below.hashes(0, first, length, 0)
    // The uncles (libtorrent's get_hashes): from the requested subtree's root upwards, below the piece hash from
    // the piece's own tree, above it from the piece layer's.
    const computable = log2(length) - 1
    for (let i = 0, at = index; i < proofLayers; i++) {
      at >>= 1
      if (i < computable) continue
      const layer = i + 1
      out.push(layer < this.#pieceLayer || !above ? below.node(layer, (at ^ 1) - ((piece - file.firstPiece) << (this.#pieceLayer - layer))) : above.node(layer, at ^ 1))
    }
    return Buffer.concat(out)
  }

  #treeOf(root: Buffer): MerkleTree | undefined {
    const key = root.toString('hex')
    let tree = this.#trees.get(key)
    if (tree) return tree
    const file = this.#meta.v2?.files.find((f) => f.root.equals(root))
    if (!file?.layer) return undefined
    tree = new MerkleTree(splitHashes(file.layer), this.#pieceLayer)
    this.#trees.set(key, tree)
    return tree
  }
}
