// Decides whom we upload to: BEP 3 tit-for-tat regular slots plus one rotating
// optimistic unchoke (libtorrent-style, seeding ranks by our upload to them).
// Pure: peers are plain stats passed in; it never sets a timer or touches a
// socket. The owner calls rechoke() every rechokeIntervalMs and applies the result.

export interface ChokerPeer {
  id: string
  interested: boolean
  /** bytes/s it gives us */
  downloadRate: number
  /** bytes/s we give it */
  uploadRate: number
  connectedAtMs: number
  snubbed?: boolean
}

export interface ChokerOptions {
  regularSlots?: number
  rechokeIntervalMs?: number
  optimisticIntervalMs?: number
  newPeerWindowMs?: number
  rng?: () => number
}

export interface ChokeDecision {
  /** Every peer to keep unchoked, the optimistic one included. */
  unchoked: Set<string>
  optimistic: string | undefined
}

// BitTorrent spec (wiki.theory.org): newly connected peers are three times as
// likely to be the optimistic unchoke, so they get a chance to earn a regular slot.
const NEW_PEER_WEIGHT = 3

export class Choker {
  readonly regularSlots: number
  readonly rechokeIntervalMs: number
  readonly optimisticIntervalMs: number
  readonly newPeerWindowMs: number
  readonly #rng: () => number
  #optimistic: string | undefined
  #optimisticSinceMs = 0

  constructor(opts: ChokerOptions = {}) {
    this.regularSlots = nonNegativeInt('regularSlots', opts.regularSlots ?? 4)
    this.rechokeIntervalMs = positive('rechokeIntervalMs', opts.rechokeIntervalMs ?? 10_000)
    this.optimisticIntervalMs = positive('optimisticIntervalMs', opts.optimisticIntervalMs ?? 30_000)
    this.newPeerWindowMs = nonNegative('newPeerWindowMs', opts.newPeerWindowMs ?? 60_000)
    this.#rng = opts.rng ?? Math.random
  }

  /** Called by the owner every rechokeIntervalMs (and when a slot frees); `seeding` switches the ranking to our upload rate to them. */
  rechoke(peers: ChokerPeer[], nowMs: number, seeding: boolean): ChokeDecision {
    const ranked: { peer: ChokerPeer; rate: number; tieKey: number }[] = []
    for (const peer of peers) {
      if (!peer.interested || peer.snubbed) continue
      const rate = seeding ? peer.uploadRate : peer.downloadRate
      ranked.push({ peer, rate: Number.isFinite(rate) ? rate : 0, tieKey: this.#rng() })
    }
    ranked.sort((a, b) => b.rate - a.rate || a.tieKey - b.tieKey)

    const unchoked = new Set<string>()
    for (let i = 0; i < ranked.length && i < this.regularSlots; i++) unchoked.add(ranked[i].peer.id)

    const rest: ChokerPeer[] = []
    for (const peer of peers) if (peer.interested && !unchoked.has(peer.id)) rest.push(peer)

    const optimistic = this.#chooseOptimistic(rest, nowMs)
    if (optimistic !== undefined) unchoked.add(optimistic)
    return { unchoked, optimistic }
  }

  #chooseOptimistic(rest: ChokerPeer[], nowMs: number): string | undefined {
    if (rest.length === 0) {
      this.#optimistic = undefined
      return undefined
    }
    const current = this.#optimistic
    const currentStillEligible = current !== undefined && rest.some((p) => p.id === current)
    if (currentStillEligible && nowMs - this.#optimisticSinceMs < this.optimisticIntervalMs) return current

    // Rotation means someone else gets the turn, when there is anyone else.
    const pool = currentStillEligible && rest.length > 1 ? rest.filter((p) => p.id !== current) : rest
    let totalWeight = 0
    for (const p of pool) totalWeight += this.#weight(p, nowMs)
    let r = this.#rng() * totalWeight
    let chosen = pool[pool.length - 1]
    for (const p of pool) {
      r -= this.#weight(p, nowMs)
      if (r < 0) {
        chosen = p
        break
      }
    }
    this.#optimistic = chosen.id
    this.#optimisticSinceMs = nowMs
    return chosen.id
  }

  #weight(peer: ChokerPeer, nowMs: number): number {
    return nowMs - peer.connectedAtMs < this.newPeerWindowMs ? NEW_PEER_WEIGHT : 1
  }
}

function nonNegativeInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`choker ${name} must be a whole number ≥ 0, got ${value}`)
  return value
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`choker ${name} must be a number > 0, got ${value}`)
  return value
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`choker ${name} must be a number ≥ 0, got ${value}`)
  return value
}
