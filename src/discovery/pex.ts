// Per-torrent BEP 11 peer exchange state: which of our connected peers each
// recipient has been told about, when it may hear from us next, and which
// incoming ut_pex peers are worth trying. Pure: no sockets, no timers (the
// caller passes `nowMs`), and never sends or accepts anything for a private torrent (BEP 27).
import { isIPv4, isIPv6 } from 'node:net'
import { canonicalHost, ipv6ToBytes } from '../core/address.ts'
import { addressKey, type PeerAddress, type PeerCandidate } from '../core/types.ts'
import { PEX_FLAG_REACHABLE, PEX_FLAG_SEED, PEX_FLAG_UTP, type PexMessage } from '../wire/ut-pex.ts'

export interface PexOptions {
  /** BEP 27: a private torrent neither sends nor accepts PEX. */
  private: boolean
  minIntervalMs?: number
  maxAddedPerMessage?: number
  maxDroppedPerMessage?: number
  /** Candidates accepted from one incoming message; the rest are ignored. */
  maxCandidatesPerMessage?: number
}

/** BEP 11: a peer should not send PEX messages more often than once a minute. */
export const PEX_MIN_INTERVAL_MS = 60_000
/** BEP 11: added and dropped lists hold at most 50 entries each (what common clients send and accept). */
export const PEX_MAX_PEERS_PER_LIST = 50
/** Incoming messages closer together than this are ignored: half BEP 11's minute tolerates jitter, not floods. */
export const PEX_MIN_INCOMING_INTERVAL_MS = 30_000

interface ConnectedPeer {
  addr: PeerAddress
  flags: number
}

interface RecipientState {
  lastSentMs: number
  /** Keys of the peers this recipient was told about in `added` and not yet in `dropped`. */
  advertised: Map<string, PeerAddress>
}

export class PexState {
  readonly #private: boolean
  readonly #minIntervalMs: number
  readonly #maxAdded: number
  readonly #maxDropped: number
  readonly #maxCandidates: number
  readonly #connected = new Map<string, ConnectedPeer>()
  readonly #recipients = new Map<string, RecipientState>()
  readonly #lastReceivedMs = new Map<string, number>()

  constructor(opts: PexOptions) {
    this.#private = opts.private
    this.#minIntervalMs = nonNegative(opts.minIntervalMs ?? PEX_MIN_INTERVAL_MS, 'minIntervalMs')
    this.#maxAdded = nonNegative(opts.maxAddedPerMessage ?? PEX_MAX_PEERS_PER_LIST, 'maxAddedPerMessage')
    this.#maxDropped = nonNegative(opts.maxDroppedPerMessage ?? PEX_MAX_PEERS_PER_LIST, 'maxDroppedPerMessage')
    this.#maxCandidates = nonNegative(opts.maxCandidatesPerMessage ?? PEX_MAX_PEERS_PER_LIST, 'maxCandidatesPerMessage')
  }

  /**
   * Our connected peers changed (their listen addresses: for incoming peers the caller
   * passes host + the `p` port from their BEP 10 handshake, or nothing if unknown).
   * Calling it again for a connected peer updates its flags.
   */
  handleConnected(addr: PeerAddress, flags: { seed?: boolean; reachable?: boolean; utp?: boolean } = {}): void {
    const peer = exchangeable(addr)
    if (!peer) return
    let bits = 0
    if (flags.seed) bits |= PEX_FLAG_SEED
    if (flags.reachable) bits |= PEX_FLAG_REACHABLE
    if (flags.utp) bits |= PEX_FLAG_UTP
    this.#connected.set(addressKey(peer), { addr: peer, flags: bits })
  }

  handleDisconnected(addr: PeerAddress): void {
    this.#connected.delete(addressKey({ host: canonicalHost(addr.host), port: addr.port }))
  }

  /**
   * The message to send to `peer` now, or undefined: never for a private torrent (BEP 27),
   * at most once per minIntervalMs per peer, the first one lists current peers (capped),
   * later ones the added/dropped since that peer's last message. Never the recipient
   * itself: `recipient` holds every address it is known by (the one its connection comes
   * from and the listen address it told us), none of which it is sent. Only peers given
   * to handleConnected are listed: fully connected, at a known listen address.
   * Peers left out by a cap are sent in a later message. Nothing to say → undefined, and
   * the minute has not started: a peer that hears nothing now hears the first news.
   */
  messageFor(peer: string, recipient: readonly PeerAddress[], nowMs: number): PexMessage | undefined {
    if (this.#private) return undefined
    const state = this.#recipients.get(peer)
    if (state && nowMs - state.lastSentMs < this.#minIntervalMs) return undefined
    const advertised = state?.advertised ?? new Map<string, PeerAddress>()
    const recipientKeys = new Set(recipient.map((a) => addressKey({ host: canonicalHost(a.host), port: a.port })))

    const message: PexMessage = { added: [], addedFlags: [], dropped: [], added6: [], dropped6: [] }
    const addedKeys: string[] = []
    const addedAddrs: PeerAddress[] = []
    for (const [key, { addr, flags }] of this.#connected) {
      if (addedKeys.length >= this.#maxAdded) break
      if (advertised.has(key) || key === peer || recipientKeys.has(key)) continue
      addedKeys.push(key)
      addedAddrs.push(addr)
      if (isIPv6(addr.host)) {
        // ut-pex.ts carries no "added6.f", so IPv6 peers go without flags.
        message.added6.push(addr)
      } else {
        message.added.push(addr)
        message.addedFlags.push(flags)
      }
    }
    const droppedKeys: string[] = []
    for (const [key, addr] of advertised) {
      if (droppedKeys.length >= this.#maxDropped) break
      if (this.#connected.has(key)) continue
      droppedKeys.push(key)
      if (isIPv6(addr.host)) message.dropped6.push(addr)
      else message.dropped.push(addr)
    }
    if (addedKeys.length === 0 && droppedKeys.length === 0) return undefined

    addedKeys.forEach((key, i) => advertised.set(key, addedAddrs[i]))
    for (const key of droppedKeys) advertised.delete(key)
    if (state) state.lastSentMs = nowMs
    else this.#recipients.set(peer, { lastSentMs: nowMs, advertised })
    return message
  }

  /** The connection to `peer` is gone: its next connection starts from a full first message. */
  forgetPeer(peer: string): void {
    this.#recipients.delete(peer)
    this.#lastReceivedMs.delete(peer)
  }

  /**
   * An incoming ut_pex payload's peers as candidates (source 'pex'): private → [];
   * over maxCandidatesPerMessage → the rest ignored; a peer sending more often than
   * every 30 s → ignored (rate-limited); port 0, 0.0.0.0, multicast/broadcast and
   * our own listen address (`self`) skipped. Dropped peers are not acted on.
   */
  handleMessage(fromPeer: string, message: PexMessage, nowMs: number, self?: PeerAddress): PeerCandidate[] {
    if (this.#private) return []
    const last = this.#lastReceivedMs.get(fromPeer)
    if (last !== undefined && nowMs - last < PEX_MIN_INCOMING_INTERVAL_MS) return []
    this.#lastReceivedMs.set(fromPeer, nowMs)

    const selfKey = self ? addressKey({ host: canonicalHost(self.host), port: self.port }) : undefined
    const seen = new Set<string>()
    const out: PeerCandidate[] = []
    for (const list of [message.added, message.added6]) {
      for (const [i, addr] of list.entries()) {
        if (out.length >= this.#maxCandidates) return out
        const host = canonicalHost(addr.host)
        if (!dialable(host, addr.port)) continue
        const key = addressKey({ host, port: addr.port })
        if (key === selfKey || seen.has(key)) continue
        seen.add(key)
        // Only "added" carries flags (ut-pex.ts reads no "added6.f").
        const flags = list === message.added ? message.addedFlags[i] : undefined
        out.push(flags === undefined ? { host, port: addr.port, source: 'pex' } : { host, port: addr.port, source: 'pex', utp: (flags & PEX_FLAG_UTP) !== 0 })
      }
    }
    return out
  }
}

/** A peer we can put in a compact list: an IP literal with a listen port. */
function exchangeable(addr: PeerAddress): PeerAddress | undefined {
  const host = canonicalHost(addr.host)
  if (!isIPv4(host) && !isIPv6(host)) return undefined
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) return undefined
  return { host, port: addr.port }
}

/** Whether a PEX-learnt address could be a peer's listen address at all. */
function dialable(host: string, port: number): boolean {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false
  if (isIPv4(host)) {
    const first = Number(host.slice(0, host.indexOf('.')))
    // 0.0.0.0/8 is "this network", 224/4 multicast, 240/4 reserved including 255.255.255.255 broadcast.
    return first !== 0 && first < 224
  }
  if (isIPv6(host)) {
    const bytes = ipv6ToBytes(host)
    if (bytes[0] === 0xff) return false
    return bytes.some((b) => b !== 0)
  }
  return false
}

function nonNegative(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`PexOptions.${name} must be a whole number ≥ 0, got ${value}`)
  return value
}
