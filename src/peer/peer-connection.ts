// One connection to one remote peer for one torrent: the socket, the wire
// codec, choke/interest state both ways, what the peer has, the requests we
// have outstanding at it (kept by outstanding-requests.ts), keep-alive and idle
// timeouts, and rate meters; peer-connection-types.ts holds its options, events and limits.
// The only module that reads or writes peer sockets. It decides nothing about
// which blocks to fetch or whom to upload to: it reports, the torrent decides.
import { transportOf } from '../transport/peer-socket.ts'
import type { PeerSocket, TransportKind, WriteDone } from '../transport/peer-socket.ts'
import { Bitfield } from '../core/bitfield.ts'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { RateMeter } from '../core/rate-meter.ts'
import { canonicalHost } from '../core/address.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import type { BlockRef } from '../core/types.ts'
import { Decoder, WireError } from '../wire/decoder.ts'
import type { DecodedItem } from '../wire/decoder.ts'
import { OutstandingRequests } from './outstanding-requests.ts'
import { DEFAULT_PEER_REQQ, HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, KEEP_ALIVE_MS, MAX_MESSAGE_LENGTH, MESSAGE_TIMEOUT_MS, SELF_CONNECTION } from './peer-connection-types.ts'
import type { PeerConnectionEvents, PeerConnectionOptions } from './peer-connection-types.ts'
import { encodeExtended, decodeExtendedHandshake, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID } from '../wire/extension.ts'
import type { ExtendedHandshake } from '../wire/extension.ts'
import { encodeHandshake, supportsExtensionProtocol, supportsV2 } from '../wire/handshake.ts'
import type { Handshake } from '../wire/handshake.ts'
import { encode, encodePieceHeader } from '../wire/messages.ts'
import type { HashRange, Message } from '../wire/messages.ts'

export { DEFAULT_PEER_REQQ, MESSAGE_TIMEOUT_MS, SELF_CONNECTION } from './peer-connection-types.ts'
export type { PeerConnectionEvents, PeerConnectionOptions } from './peer-connection-types.ts'

export class PeerConnection extends TypedEmitter<PeerConnectionEvents> {
  readonly outgoing: boolean
  /** TCP or uTP, for the peers view. */
  readonly transport: TransportKind
  readonly remoteAddress: string
  readonly remotePort: number
  /** `host:port` (`[v6]:port`): the peer's name in the picker, the choker and the logs. */
  readonly key: string
  readonly downloadMeter: RateMeter
  readonly uploadMeter: RateMeter
  readonly connectedAtMs: number

  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false
  /** No block for a long while despite outstanding requests. */
  snubbed = false
  /** Hash failures of pieces this peer contributed to. */
  strikes = 0
  remotePeerId: Buffer | undefined
  /** BEP 52: the peer set the v2 bit (support for v2; libtorrent sets it on a hybrid's v1 connections too). */
  peerV2 = false
  remoteExtensions: ExtendedHandshake | undefined
  readonly have: Bitfield
  lastBlockAtMs: number

  /** The info hash of our handshake: a hybrid torrent's connection is v2 when it is the (truncated) v2 one. */
  get infoHash(): Buffer {
    return this.#infoHash
  }

  readonly #socket: PeerSocket
  readonly #clock: Clock
  #infoHash: Buffer
  readonly #otherInfoHash: Buffer | undefined
  readonly #v2: boolean
  readonly #ourPeerId: Buffer
  readonly #ourExtended: ExtendedHandshake
  readonly #pieceCount: number | undefined
  #decoder: Decoder
  #handshakeDone = false
  #closed = false
  #readingPaused = false
  readonly #outstanding = new OutstandingRequests()
  #lastSentAtMs: number
  #lastReceivedAtMs: number
  readonly #messageTimeoutMs: number
  /** When the message the decoder is part-way through began arriving; undefined between messages. */
  #partialSinceMs: number | undefined
  #timer: TimerHandle | undefined
  #handshakeTimer: TimerHandle | undefined

  constructor(opts: PeerConnectionOptions) {
    super()
    this.#socket = opts.socket
    this.#clock = opts.clock ?? systemClock
    this.#infoHash = opts.infoHash
    if (opts.otherInfoHash && opts.incoming?.handshake.infoHash.equals(opts.otherInfoHash)) this.#infoHash = opts.otherInfoHash
    this.#otherInfoHash = opts.otherInfoHash
    this.#v2 = opts.v2 ?? false
    this.#ourPeerId = opts.ourPeerId
    this.#ourExtended = opts.extendedHandshake
    this.#pieceCount = opts.pieceCount
    this.#messageTimeoutMs = opts.messageTimeoutMs ?? MESSAGE_TIMEOUT_MS
    this.outgoing = opts.outgoing
    this.transport = transportOf(opts.socket)
    this.remoteAddress = canonicalHost(opts.socket.remoteAddress ?? '?')
    this.remotePort = opts.socket.remotePort ?? 0
    // Made once: the key is asked for on every block, and a new string each time was promoted garbage.
    this.key = this.remoteAddress.includes(':') ? `[${this.remoteAddress}]:${this.remotePort}` : `${this.remoteAddress}:${this.remotePort}`
    this.have = new Bitfield(opts.pieceCount ?? 0)
    this.downloadMeter = new RateMeter(5, this.#clock)
    this.uploadMeter = new RateMeter(5, this.#clock)
    const now = this.#clock.now()
    this.connectedAtMs = now
    this.lastBlockAtMs = now
    this.#lastSentAtMs = now
    this.#lastReceivedAtMs = now
    this.#decoder = opts.incoming?.decoder ?? new Decoder({ maxMessageLength: MAX_MESSAGE_LENGTH, expectHandshake: true, reuseBuffers: true })
    if (this.#decoder.bufferedBytes > 0) this.#partialSinceMs = now

    this.#socket.setNoDelay(true)
    this.#socket.on('data', (chunk: Buffer) => this.handleData(chunk))
    this.#socket.on('error', (err) => this.close(`socket error: ${err.message}`))
    this.#socket.on('close', () => this.close('connection closed by peer'))
    this.#socket.on('end', () => this.close('connection closed by peer'))
  }

  /** Starts the exchange: sends our handshake, then processes anything already received. */
  start(): void {
    this.#send(encodeHandshake(this.#infoHash, this.#ourPeerId, { extended: true, v2: this.#v2 }))
    this.#handshakeTimer = this.#clock.setTimeout(() => {
      if (!this.#handshakeDone) this.close('no handshake within 15 s')
    }, HANDSHAKE_TIMEOUT_MS)
    this.#timer = this.#clock.setInterval(() => this.#tick(), 5_000)
    this.#socket.resume()
  }

  /** For incoming connections: hand over what the listener decoded before routing. */
  startIncoming(handshake: Handshake, rest: DecodedItem[]): void {
    this.start()
    this.#handleItems([{ type: 'handshake', ...handshake }, ...rest])
  }

  get closed(): boolean {
    return this.#closed
  }

  get ready(): boolean {
    return this.#handshakeDone && !this.#closed
  }

  /** How many requests the peer will queue (BEP 10 `reqq`). */
  get maxRequests(): number {
    const reqq = this.remoteExtensions?.reqq
    return reqq && reqq > 0 ? Math.min(reqq, 2000) : DEFAULT_PEER_REQQ
  }

  get outstandingCount(): number {
    return this.#outstanding.size
  }

  /** Bytes queued in the socket but not yet handed to the kernel. */
  get writeBacklogBytes(): number {
    return this.#socket.writableLength
  }

  get readingPaused(): boolean {
    return this.#readingPaused
  }

  /** Stops reading (the disk is behind): what the peer sends waits in the kernel, not in our memory. */
  pauseReading(): void {
    if (this.#readingPaused || this.#closed) return
    this.#readingPaused = true
    this.#socket.pause()
  }

  resumeReading(): void {
    if (!this.#readingPaused) return
    this.#readingPaused = false
    if (!this.#closed) this.#socket.resume()
  }

  /** Resolves once the socket has room for more writes (or the connection closed). */
  drained(): Promise<void> {
    if (this.#closed || !this.#socket.writableNeedDrain) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done)
        this.#socket.off('close', done)
        resolve()
      }
      this.#socket.on('drain', done)
      this.#socket.on('close', done)
    })
  }

  /** The remote client's extension id for `name` (BEP 10), or undefined. */
  remoteExtensionId(name: string): number | undefined {
    const id = this.remoteExtensions?.m[name]
    return id && id > 0 ? id : undefined
  }

  // --- sending -------------------------------------------------------------

  sendBitfield(bitfield: Bitfield): void {
    if (bitfield.hasNone()) return
    this.#send(encode({ type: 'bitfield', bitfield: bitfield.toBuffer() }))
  }

  sendHave(index: number): void {
    this.#send(encode({ type: 'have', index }))
  }

  /** BEP 52 */
  sendHashRequest(range: HashRange): void {
    this.#send(encode({ type: 'hashRequest', ...range }))
  }

  sendHashes(range: HashRange, hashes: Buffer): void {
    this.#send(encode({ type: 'hashes', ...range, hashes }))
  }

  sendHashReject(range: HashRange): void {
    this.#send(encode({ type: 'hashReject', ...range }))
  }

  setInterested(interested: boolean): void {
    if (this.amInterested === interested) return
    this.amInterested = interested
    this.#send(encode({ type: interested ? 'interested' : 'notInterested' }))
  }

  setChoking(choking: boolean): void {
    if (this.amChoking === choking) return
    this.amChoking = choking
    this.#send(encode({ type: choking ? 'choke' : 'unchoke' }))
  }

  /** Sends requests in one write; each is remembered until its block, a reject, a cancel or a choke. */
  request(blocks: BlockRef[]): void {
    if (blocks.length === 0 || this.#closed) return
    this.#send(this.#outstanding.add(blocks, this.#clock.now()))
  }

  /** Cancels an outstanding request (endgame: another peer delivered it). */
  cancel(block: BlockRef): void {
    if (this.#outstanding.delete(block)) this.#send(encode({ type: 'cancel', ...block }))
  }

  /** Cancels every outstanding request (the peer is snubbed); returns them for others to fetch. */
  cancelAll(): BlockRef[] {
    const blocks = this.clearOutstanding()
    for (const b of blocks) this.#send(encode({ type: 'cancel', ...b }))
    return blocks
  }

  /** Forgets every outstanding request without telling the peer (after a choke, BEP 3 drops them). */
  clearOutstanding(): BlockRef[] {
    return this.#outstanding.clear()
  }

  /** How long nothing has arrived from the peer (a silent connection may be dead at its end). */
  silentForMs(): number {
    return this.#clock.now() - this.#lastReceivedAtMs
  }

  /** Oldest outstanding request's age, for timeouts. */
  oldestRequestAgeMs(): number {
    return this.#outstanding.oldestAgeMs(this.#clock.now())
  }

  /**
   * Uploads one block: header and data go out corked, the block is not copied.
   * `done` runs once the transport holds no reference to `data` (see PeerSocket.write),
   * at once when the connection is closed; err when the block did not go out.
   */
  sendBlock(index: number, begin: number, data: Buffer, done?: WriteDone): void {
    if (this.#closed) {
      if (done) process.nextTick(done, new Error('connection closed'))
      return
    }
    this.#socket.cork()
    this.#send(encodePieceHeader(index, begin, data.length))
    this.#send(data, done)
    process.nextTick(() => this.#socket.uncork())
    this.uploadMeter.add(data.length)
  }

  sendExtended(name: string, payload: Buffer): boolean {
    const id = this.remoteExtensionId(name)
    if (id === undefined) return false
    this.#send(encodeExtended(id, payload))
    return true
  }

  close(reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#timer?.cancel()
    this.#handshakeTimer?.cancel()
    this.#outstanding.clear()
    this.#socket.destroy()
    this.emit('close', reason)
    this.removeAllListeners()
  }

  // --- receiving -----------------------------------------------------------

  /**
   * Bytes from the socket. Sockets made with `onread` feed this directly from a
   * reused buffer, so nothing here may keep a view of `chunk` after returning:
   * whatever outlives the call is copied (bitfield, extension payloads), and
   * block data is copied by the torrent in its `block` handler.
   */
  handleData(chunk: Buffer): void {
    if (this.#closed) return
    const now = this.#clock.now()
    this.#lastReceivedAtMs = now
    let items: DecodedItem[]
    try {
      items = this.#decoder.push(chunk)
    } catch (err) {
      this.close(err instanceof WireError ? `protocol error: ${err.message}` : `decoder failed: ${String(err)}`)
      return
    }
    // A message completed in this chunk means whatever is buffered now began in it.
    if (this.#decoder.bufferedBytes === 0) this.#partialSinceMs = undefined
    else if (items.length > 0 || this.#partialSinceMs === undefined) this.#partialSinceMs = now
    // What answering one chunk sends (a request refilled per block, haves, cancels) goes out in one write, not one each.
    if (items.length < 2) return this.#handleItems(items)
    this.#socket.cork()
    try {
      this.#handleItems(items)
    } finally {
      this.#socket.uncork()
    }
  }

  #handleItems(items: DecodedItem[]): void {
    for (const item of items) {
      if (this.#closed) return
      if (item.type === 'handshake') {
        this.#handleHandshake(item)
        continue
      }
      if (!this.#handshakeDone) {
        this.close('message before handshake')
        return
      }
      this.#handleMessage(item)
    }
  }

  #handleHandshake(h: Handshake): void {
    if (this.#handshakeDone) {
      this.close('second handshake')
      return
    }
    // libtorrent answers a hybrid's v1 handshake that carries the v2 bit under the v2 hash.
    if (!h.infoHash.equals(this.#infoHash) && !(this.#otherInfoHash && h.infoHash.equals(this.#otherInfoHash))) {
      this.close('peer answered for another torrent')
      return
    }
    if (h.peerId.equals(this.#ourPeerId)) {
      this.close(SELF_CONNECTION)
      return
    }
    this.#handshakeDone = true
    this.#handshakeTimer?.cancel()
    this.remotePeerId = h.peerId
    this.peerV2 = supportsV2(h.reserved)
    if (supportsExtensionProtocol(h.reserved)) {
      this.#send(encodeExtended(EXTENDED_HANDSHAKE_ID, encodeExtendedHandshake(this.#ourExtended)))
    }
    this.emit('ready')
  }

  #handleMessage(msg: Message): void {
    if (this.#pieceCount === undefined && (msg.type === 'have' || msg.type === 'bitfield' || msg.type === 'haveAll')) return
    const pieceCount = this.#pieceCount ?? 0
    switch (msg.type) {
      case 'keepAlive':
        return
      case 'choke':
        this.peerChoking = true
        this.emit('choke')
        return
      case 'unchoke':
        this.peerChoking = false
        this.emit('unchoke')
        return
      case 'interested':
        this.peerInterested = true
        this.emit('interested')
        return
      case 'notInterested':
        this.peerInterested = false
        this.emit('notInterested')
        return
      case 'have':
        if (msg.index >= pieceCount) return this.close(`have for piece ${msg.index}, torrent has ${pieceCount}`)
        if (this.have.get(msg.index)) return
        this.have.set(msg.index)
        this.emit('have', msg.index)
        return
      case 'bitfield': {
        const expected = Math.ceil(pieceCount / 8)
        if (msg.bitfield.length !== expected) return this.close(`bitfield of ${msg.bitfield.length} bytes, expected ${expected}`)
        if (Bitfield.hasSpareBits(msg.bitfield, pieceCount)) return this.close('bitfield has spare bits set')
        const bf = new Bitfield(pieceCount, msg.bitfield)
        for (let i = 0; i < pieceCount; i++) if (bf.get(i)) this.have.set(i)
        this.emit('bitfield', this.have)
        return
      }
      case 'haveAll':
        for (let i = 0; i < pieceCount; i++) this.have.set(i)
        this.emit('haveAll')
        return
      case 'haveNone':
        return
      case 'request':
        this.emit('request', { index: msg.index, begin: msg.begin, length: msg.length })
        return
      case 'cancel':
        this.emit('cancel', { index: msg.index, begin: msg.begin, length: msg.length })
        return
      case 'piece':
        return this.#handlePiece(msg.index, msg.begin, msg.block)
      case 'reject': {
        const block = this.#outstanding.take(msg.index, msg.begin)
        if (block) this.emit('reject', block)
        return
      }
      case 'extended':
        return this.#handleExtended(msg.extId, msg.payload)
      case 'hashRequest':
      case 'hashReject': {
        const { type, ...range } = msg
        this.emit(type, { ...range, piecesRoot: Buffer.from(range.piecesRoot) })
        return
      }
      case 'hashes': {
        const { type: _type, hashes, ...range } = msg
        this.emit('hashes', { ...range, piecesRoot: Buffer.from(range.piecesRoot) }, Buffer.from(hashes))
        return
      }
      case 'port':
      case 'suggest':
      case 'allowedFast':
      case 'unknown':
        return
    }
  }

  #handlePiece(index: number, begin: number, data: Buffer): void {
    const block = this.#outstanding.take(index, begin, data.length)
    this.downloadMeter.add(data.length)
    if (!block) {
      this.emit('unexpectedBlock', { index, begin, length: data.length })
      return
    }
    this.lastBlockAtMs = this.#clock.now()
    this.snubbed = false
    this.emit('block', block, data)
  }

  #handleExtended(extId: number, payload: Buffer): void {
    if (extId === EXTENDED_HANDSHAKE_ID) {
      try {
        this.remoteExtensions = decodeExtendedHandshake(payload)
      } catch (err) {
        this.close(`bad extension handshake: ${(err as Error).message}`)
        return
      }
      this.emit('extendedHandshake', this.remoteExtensions)
      return
    }
    // BEP 10: the id in a message TO us is the one WE assigned in our `m`.
    for (const [name, id] of Object.entries(this.#ourExtended.m)) {
      if (id === extId) {
        this.emit('extended', name, Buffer.from(payload))
        return
      }
    }
  }

  // --- housekeeping --------------------------------------------------------

  #send(data: Buffer, done?: WriteDone): void {
    if (this.#closed) return
    this.#lastSentAtMs = this.#clock.now()
    this.#socket.write(data, done)
  }

  #tick(): void {
    const now = this.#clock.now()
    if (now - this.#lastReceivedAtMs > IDLE_TIMEOUT_MS) return this.close('peer silent for 3 minutes')
    if (this.#partialSinceMs !== undefined && now - this.#partialSinceMs > this.#messageTimeoutMs) {
      return this.close(`message not finished within ${Math.round(this.#messageTimeoutMs / 1000)} s (${this.#decoder.bufferedBytes} bytes of it received)`)
    }
    if (this.#handshakeDone && now - this.#lastSentAtMs > KEEP_ALIVE_MS) this.#send(encode({ type: 'keepAlive' }))
  }
}
