// The session's one BEP 5 DHT node (bittorrent-dht over one UDP port): binds,
// restores and saves the routing table (its file: dht-state.ts), and runs
// get_peers lookups and announce_peer for the torrents' DhtSources. It answers BEP 51
// sample_infohashes from the hashes announced to it, and sends single
// find_node, get_peers and sample_infohashes queries for the index's crawler.
// Knows no torrent; never connects to a peer; never contacts a node the
// caller did not give or the DHT taught it.
import DHT, { type DHTNodeInfo } from 'bittorrent-dht'
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts'
import { TypedEmitter } from '../core/typed-emitter.ts'
import { errorMessage, FriendError, parseAddress, type PeerAddress } from '../core/types.ts'
import { loadDhtState, saveDhtState, type SavedState } from './dht-state.ts'
import { AnnouncedHashes, decodeNodes, decodePeerValues, decodeSampleReply, sampleReplyFields, type NodeContact, type SampleReply } from './bep51.ts'

export interface DhtNodeOptions {
  /** UDP port (the session's port); 0 picks a free one. */
  port: number
  /** Address to bind; all IPv4 interfaces when omitted. */
  host?: string
  /** "host:port" nodes to bootstrap from; an empty list relies on the saved routing table alone. */
  bootstrap: string[]
  /** Where the routing table is kept between runs (JSON). */
  stateFile?: string
  clock?: Clock
  /**
   * An already-bound, dgram-like socket to run on instead of binding `port`:
   * the listener's UDP port, shared with uTP (k-rpc-socket's `socket` option).
   */
  socket?: object
  /** BEP 51: the `interval` our sample_infohashes replies ask for (default 300 s). */
  sampleIntervalSeconds?: number
  /** Queries in flight at once (bittorrent-dht's default 16; the crawler wants more). */
  concurrency?: number
}

export type DhtNodeEvents = {
  /** The bootstrap walk ended (attach before start()). */
  ready: []
  error: [message: string]
  warning: [message: string]
}

const NODE_ID_BYTES = 20
const INFO_HASH_BYTES = 20
/** A crash loses at most this much of the routing table's history. */
const SAVE_INTERVAL_MS = 30 * 60_000
const DEFAULT_SAMPLE_INTERVAL_SECONDS = 300
/** sample_infohashes answers per asking IP per window: a reply is ~10× its query, so a spoofed flood must not make us a reflector. */
const SAMPLE_ANSWERS_PER_WINDOW = 20
const SAMPLE_WINDOW_MS = 10_000
/** Nodes sent beside a sample (BEP 51: "nodes" as in find_node). */
const SAMPLE_REPLY_NODES = 8

/** The parts of k-rpc (bittorrent-dht's `_rpc`) used for queries it has no method for. */
interface KRpc {
  id: Buffer
  nodes: { closest(id: Uint8Array, n?: number): DHTNodeInfo[] }
  query(node: { host: string; port: number }, message: { q: string; a: Record<string, unknown> }, cb: (err: Error | null, res?: { r?: unknown }) => void): void
  response(peer: RemoteInfo, query: unknown, r: Record<string, unknown>, nodes?: DHTNodeInfo[]): void
  error(peer: RemoteInfo, query: unknown, error: [number, string]): void
  on(event: 'query', listener: (query: { q?: unknown; a?: unknown }, peer: RemoteInfo) => void): void
}

interface RemoteInfo {
  address: string
  port: number
}

/** What a get_peers reply to one node held. */
export interface GetPeersReply {
  peers: PeerAddress[]
  nodes: NodeContact[]
}

export type { NodeContact, SampleReply } from './bep51.ts'

/** A pending lookup or announce; stop() settles it, since bittorrent-dht drops their callbacks on destroy. */
type Settle = (err?: Error) => void

export class DhtNode extends TypedEmitter<DhtNodeEvents> {
  readonly #requestedPort: number
  readonly #host: string | undefined
  readonly #bootstrap: PeerAddress[]
  readonly #stateFile: string | undefined
  readonly #clock: Clock
  readonly #socket: object | undefined
  #dht: DHT | undefined
  #bound = false
  #dhtReady = false
  #startPromise: Promise<void> | undefined
  #stopPromise: Promise<void> | undefined
  #saveTimer: TimerHandle | undefined
  #saveChain: Promise<void> = Promise.resolve()
  readonly #pending = new Set<Settle>()
  readonly #sampleIntervalSeconds: number
  readonly #concurrency: number | undefined
  readonly #announced = new AnnouncedHashes()
  #samplesAnswered = 0
  /** Asking IP → [window start, answers in it]; cleared when it grows past 10,000 addresses. */
  readonly #sampleAnswers = new Map<string, [number, number]>()

  constructor(opts: DhtNodeOptions) {
    super()
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new FriendError(`DHT port must be 0-65535, got ${opts.port}`)
    }
    this.#requestedPort = opts.port
    this.#host = opts.host
    this.#bootstrap = opts.bootstrap.map((text) => {
      try {
        return parseAddress(text.trim())
      } catch (err) {
        throw new FriendError(`DHT bootstrap node ${errorMessage(err)}`)
      }
    })
    this.#stateFile = opts.stateFile
    this.#clock = opts.clock ?? systemClock
    this.#socket = opts.socket
    this.#sampleIntervalSeconds = opts.sampleIntervalSeconds ?? DEFAULT_SAMPLE_INTERVAL_SECONDS
    this.#concurrency = opts.concurrency
  }

  /** Binds the UDP port and begins bootstrapping (from the saved table and the bootstrap list); rejects if the port cannot be bound. */
  start(): Promise<void> {
    if (this.#stopPromise) return Promise.reject(new FriendError('this DHT node was stopped; create a new one'))
    this.#startPromise ??= this.#start()
    return this.#startPromise
  }

  /** Saves the routing table, then closes the socket and every timer. Never rejects. */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop()
    return this.#stopPromise
  }

  /** Writes the routing table to the state file (temp file, fsync, rename). An empty table is not written over a saved one. */
  save(): Promise<void> {
    const run = this.#saveChain.then(() => this.#save())
    this.#saveChain = run.catch(() => {})
    return run
  }

  get nodeCount(): number {
    return this.#dht ? this.#dht.nodes.count() : 0
  }

  /** The bound UDP port (the requested one before start()). */
  get port(): number {
    return this.#dht && this.#bound ? this.#dht.address().port : this.#requestedPort
  }

  /** BEP 5 get_peers walk toward `infoHash`; `onPeer` gets every address as it arrives (repeats included). */
  lookup(infoHash: Buffer, onPeer: (peer: PeerAddress) => void): Promise<void> {
    const dht = this.#running()
    if (!dht) return Promise.reject(notRunning())
    if (infoHash.length !== INFO_HASH_BYTES) {
      return Promise.reject(new FriendError(`info hash must be ${INFO_HASH_BYTES} bytes, got ${infoHash.length}`))
    }
    return new Promise<void>((resolve) => {
      // bittorrent-dht reports every lookup's peers through one 'peer' event, tagged with the info hash.
      const handlePeer = (peer: PeerAddress, hash: Buffer): void => {
        if (infoHash.equals(hash)) onPeer({ host: peer.host, port: peer.port })
      }
      const settle: Settle = () => {
        if (!this.#pending.delete(settle)) return
        dht.off('peer', handlePeer)
        resolve()
      }
      this.#pending.add(settle)
      dht.on('peer', handlePeer)
      dht.lookup(infoHash, () => settle())
    })
  }

  /** BEP 5 announce_peer to the nodes closest to `infoHash` (bittorrent-dht first runs a lookup unless one ran in the last 5 min). */
  announce(infoHash: Buffer, port: number): Promise<void> {
    const dht = this.#running()
    if (!dht) return Promise.reject(notRunning())
    if (infoHash.length !== INFO_HASH_BYTES) {
      return Promise.reject(new FriendError(`info hash must be ${INFO_HASH_BYTES} bytes, got ${infoHash.length}`))
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return Promise.reject(new FriendError(`announce port must be 1-65535, got ${port}`))
    }
    return new Promise<void>((resolve, reject) => {
      const settle: Settle = (err) => {
        if (!this.#pending.delete(settle)) return
        if (err) reject(err)
        else resolve()
      }
      this.#pending.add(settle)
      dht.announce(infoHash, port, (err) => settle(err ? new FriendError(announceFailure(err)) : undefined))
    })
  }

  /** Info hashes announced to us and still held (what our BEP 51 replies sample from). */
  get announcedCount(): number {
    return this.#announced.count(this.#clock.now())
  }

  /** BEP 51 sample_infohashes queries we have answered. */
  get samplesAnswered(): number {
    return this.#samplesAnswered
  }

  /** The routing table's nodes, for a crawler to start its walk from. */
  routingNodes(): NodeContact[] {
    const dht = this.#running()
    if (!dht) return []
    return dht.nodes.toArray().map((n) => ({ id: Buffer.from(n.id), host: n.host, port: n.port }))
  }

  /** BEP 5 find_node to one node: the nodes it knows closest to `target`. */
  async findNode(to: PeerAddress, target: Buffer): Promise<NodeContact[]> {
    checkId(target, 'find_node target')
    const r = await this.#query(to, 'find_node', { target })
    return decodeNodes(r.nodes)
  }

  /** BEP 5 get_peers to one node: the peers it holds for `infoHash`, or nodes closer to it. */
  async getPeers(to: PeerAddress, infoHash: Buffer): Promise<GetPeersReply> {
    checkId(infoHash, 'info hash')
    const r = await this.#query(to, 'get_peers', { info_hash: infoHash })
    return { peers: decodePeerValues(r.values), nodes: decodeNodes(r.nodes) }
  }

  /** BEP 51 sample_infohashes to one node; rejects when the reply is no usable sample (see bep51.ts). */
  async sampleInfohashes(to: PeerAddress, target: Buffer): Promise<SampleReply> {
    checkId(target, 'sample_infohashes target')
    const r = await this.#query(to, 'sample_infohashes', { target })
    return decodeSampleReply(r)
  }

  /** One query, settled on reply, KRPC error, timeout (k-rpc's ~2 s) or stop(). */
  #query(to: PeerAddress, q: string, a: Record<string, unknown>): Promise<Record<string, unknown>> {
    const dht = this.#running()
    if (!dht) return Promise.reject(notRunning())
    const rpc = krpcOf(dht)
    return new Promise((resolve, reject) => {
      const settle: Settle = (err) => {
        if (!this.#pending.delete(settle)) return
        reject(err ?? new FriendError('the DHT node stopped before the query was answered'))
      }
      this.#pending.add(settle)
      rpc.query({ host: to.host, port: to.port }, { q, a: { id: rpc.id, ...a } }, (err, res) => {
        if (!this.#pending.delete(settle)) return
        if (err) {
          // k-rpc gives a KRPC error reply (BEP 5 "e", e.g. 204 Method Unknown) as an error with a numeric code.
          const code = (err as { code?: unknown }).code
          const why = typeof code === 'number' && code > 0 ? `the node answered error ${err.message}` : err.message
          return reject(new FriendError(`${q} to ${to.host}:${to.port}: ${why}`))
        }
        const r = res?.r
        if (typeof r !== 'object' || r === null) return reject(new FriendError(`${q} to ${to.host}:${to.port}: reply without an "r" dictionary`))
        resolve(r as Record<string, unknown>)
      })
    })
  }

  /** BEP 51: answers from the hashes announced to us; a malformed query gets KRPC error 203. */
  #handleQuery(rpc: KRpc, query: { q?: unknown; a?: unknown }, peer: RemoteInfo): void {
    if (!(query.q instanceof Uint8Array) || Buffer.from(query.q).toString() !== 'sample_infohashes') return
    const a = query.a as { target?: unknown } | undefined
    const target = a?.target
    if (!(target instanceof Uint8Array) || target.length !== NODE_ID_BYTES) {
      rpc.error(peer, query, [203, 'sample_infohashes needs a 20-byte "target"'])
      return
    }
    const now = this.#clock.now()
    if (!this.#allowSampleAnswer(peer.address, now)) return
    const fields = sampleReplyFields(this.#announced, now, this.#sampleIntervalSeconds)
    this.#samplesAnswered++
    rpc.response(peer, query, { id: rpc.id, ...fields }, rpc.nodes.closest(target, SAMPLE_REPLY_NODES))
  }

  #allowSampleAnswer(ip: string, now: number): boolean {
    if (this.#sampleAnswers.size > 10_000) this.#sampleAnswers.clear()
    const entry = this.#sampleAnswers.get(ip)
    if (!entry || now - entry[0] >= SAMPLE_WINDOW_MS) {
      this.#sampleAnswers.set(ip, [now, 1])
      return true
    }
    entry[1]++
    return entry[1] <= SAMPLE_ANSWERS_PER_WINDOW
  }

  #running(): DHT | undefined {
    return this.#dht && this.#bound && !this.#stopPromise ? this.#dht : undefined
  }

  async #start(): Promise<void> {
    const saved = await this.#load()
    const dht = new DHT({
      // Always explicit: bittorrent-dht falls back to the public routers when this is omitted.
      bootstrap: this.#bootstrap.map((a) => ({ host: a.host, port: a.port })),
      ...(saved?.nodeId && { nodeId: saved.nodeId }),
      ...(this.#socket && { socket: this.#socket }),
      ...(this.#concurrency && { concurrency: this.#concurrency }),
    } as ConstructorParameters<typeof DHT>[0])
    this.#dht = dht
    // Every running lookup listens for 'peer'; a crawler runs dozens at once.
    dht.setMaxListeners(0)
    const rpc = krpcOf(dht)
    rpc.on('query', (query, peer) => this.#handleQuery(rpc, query, peer))
    // Emitted only for an announce_peer whose token checked out.
    dht.on('announce_peer', (infoHash: unknown) => {
      if (infoHash instanceof Uint8Array) this.#announced.add(infoHash, this.#clock.now())
    })
    dht.on('warning', (err: unknown) => this.#handleWarning(err))
    dht.on('error', (err: unknown) => this.#handleError(err))
    dht.on('ready', () => this.#handleReady())

    const bound = new Promise<void>((resolve, reject) => {
      const onListening = (): void => {
        dht.off('error', onError)
        resolve()
      }
      const onError = (err: unknown): void => {
        dht.off('listening', onListening)
        reject(err)
      }
      dht.once('listening', onListening)
      dht.once('error', onError)
    })
    // Synchronously after the constructor: its bootstrap walk starts on the next tick, and
    // dgram would bind a random port for that first query if the socket were not binding yet.
    dht.listen(this.#requestedPort, this.#host)
    for (const node of saved?.nodes ?? []) dht.addNode(node)

    try {
      await bound
    } catch (err) {
      await new Promise<void>((resolve) => dht.destroy(() => resolve()))
      this.#dht = undefined
      const where = `${this.#host ?? '0.0.0.0'}:${this.#requestedPort}`
      throw new FriendError(`DHT could not listen on UDP ${where} (${errorMessage(err)}); choose another port or stop the program using it`)
    }
    this.#bound = true
    if (this.#dhtReady) this.#emitReady()
    if (this.#stateFile) {
      this.#saveTimer = this.#clock.setInterval(() => {
        this.save().catch((err: unknown) => this.emit('warning', errorMessage(err)))
      }, SAVE_INTERVAL_MS)
    }
  }

  async #stop(): Promise<void> {
    if (this.#startPromise) await this.#startPromise.catch(() => {})
    this.#saveTimer?.cancel()
    this.#saveTimer = undefined
    const dht = this.#dht
    if (!dht) return
    if (this.#stateFile) {
      try {
        await this.save()
      } catch (err) {
        this.emit('warning', errorMessage(err))
      }
    }
    for (const settle of [...this.#pending]) settle(new FriendError('the DHT node stopped before the announce finished'))
    await new Promise<void>((resolve) => dht.destroy(() => resolve()))
    this.#bound = false
  }

  #handleReady(): void {
    this.#dhtReady = true
    if (this.#bound) this.#emitReady()
  }

  #emitReady(): void {
    if (this.nodeCount === 0) {
      this.emit(
        'warning',
        'DHT bootstrap reached no nodes (no saved routing table answered and no bootstrap node replied); check the network and the DHT bootstrap list',
      )
    }
    this.emit('ready')
  }

  /**
   * Socket-level trouble only. k-rpc also warns about every late reply and
   * malformed packet from remote nodes; on the public DHT that is routine
   * traffic no one can act on, so those are dropped here.
   */
  #handleWarning(err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code
    if (typeof code === 'string') this.emit('warning', `DHT socket: ${errorMessage(err)}`)
  }

  #handleError(err: unknown): void {
    if (!this.#bound) return // start() reports bind failures
    // An 'error' with no listener would throw inside a socket callback and take the process down.
    const message = `DHT socket failed: ${errorMessage(err)}`
    if (this.listenerCount('error') > 0) this.emit('error', message)
    else this.emit('warning', message)
  }

  /** The saved table, or undefined when there is none or it cannot be used (with a warning). */
  async #load(): Promise<SavedState | undefined> {
    if (!this.#stateFile) return undefined
    return loadDhtState(this.#stateFile, (message) => this.emit('warning', message))
  }

  async #save(): Promise<void> {
    const file = this.#stateFile
    const dht = this.#dht
    if (!file || !dht || dht.destroyed) return
    await saveDhtState(file, dht)
  }
}

function krpcOf(dht: DHT): KRpc {
  return (dht as unknown as { _rpc: KRpc })._rpc
}

function checkId(id: Buffer, what: string): void {
  if (!Buffer.isBuffer(id) || id.length !== NODE_ID_BYTES) throw new FriendError(`${what} must be ${NODE_ID_BYTES} bytes, got ${id?.length}`)
}

function notRunning(): FriendError {
  return new FriendError('the DHT node is not running; start() it first (a stopped node cannot be restarted)')
}

function announceFailure(err: Error): string {
  if (err.message === 'No nodes to query') return 'DHT announce found no nodes near the torrent (the routing table is empty; check the network and bootstrap list)'
  if (err.message === 'All queries failed') return 'DHT announce: every node near the torrent refused or ignored it'
  if (err.message === 'dht is destroyed') return 'the DHT node stopped before the announce finished'
  return `DHT announce failed: ${err.message}`
}
