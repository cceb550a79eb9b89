// The `encryption` setting and what it means on each side of a connection:
// `prefer` tries MSE first and falls back to plaintext (remembering, per peer,
// that only plaintext worked), `require` never speaks plaintext, `off` never
// speaks MSE. Refusals are reported once per peer address ('refused'), for
// one log line. One policy is shared by a session's listener and dialers, and
// so is its budget for the DH work of their handshakes.
import { TypedEmitter } from '../core/typed-emitter.ts'
import { generateDhKeyPair } from './mse-crypto.ts'
import type { DhKeyPair } from './mse-crypto.ts'
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from './mse-handshake.ts'
import { TurnBudget } from './turn-budget.ts'

export const ENCRYPTION_MODES = ['prefer', 'require', 'off'] as const
export type EncryptionMode = (typeof ENCRYPTION_MODES)[number]

/** Peers remembered as plaintext-only, and peers already reported, at most this many each (oldest forgotten first). */
const MAX_REMEMBERED = 10_000

export interface EncryptionPolicyEvents {
  /** A peer refused (or refusing us) for encryption's sake, the first time for its address. */
  refused: [peer: string, reason: string]
}

export class EncryptionPolicy extends TypedEmitter<EncryptionPolicyEvents> {
  readonly mode: EncryptionMode
  /** Handshake steps that compute a DH secret go through this, so a burst cannot stall the event loop. */
  readonly budget = new TurnBudget()
  readonly #plaintextOnly = new Set<string>()
  readonly #reported = new Set<string>()

  constructor(mode: EncryptionMode) {
    super()
    this.mode = mode
  }

  /** A DH key pair for one handshake; even asking the thread pool for one costs ~0.15 ms, so it waits its turn. */
  keyPair(): Promise<DhKeyPair> {
    return new Promise((resolve, reject) => this.budget.run(() => generateDhKeyPair().then(resolve, reject)))
  }

  /** Outgoing: open with an MSE handshake (else plain BitTorrent). */
  startsWithMse(peer: string): boolean {
    return this.mode === 'require' || (this.mode === 'prefer' && !this.#plaintextOnly.has(peer))
  }

  /** Outgoing: after an MSE attempt failed, whether to redial in plaintext. */
  get fallsBack(): boolean {
    return this.mode === 'prefer'
  }

  /** Outgoing crypto_provide: RC4 only when required, else RC4 or plaintext. */
  get provide(): number {
    return this.mode === 'require' ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT
  }

  /** Incoming crypto_select for the initiator's crypto_provide; 0 refuses. */
  select(provide: number): number {
    if (this.mode === 'off') return 0
    if (provide & CRYPTO_RC4) return CRYPTO_RC4
    return this.mode === 'prefer' ? provide & CRYPTO_PLAINTEXT : 0
  }

  get acceptsPlaintext(): boolean {
    return this.mode !== 'require'
  }

  get acceptsMse(): boolean {
    return this.mode !== 'off'
  }

  rememberPlaintextOnly(peer: string): void {
    remember(this.#plaintextOnly, peer)
  }

  /** A connection refused for encryption's sake: reported the first time for each peer. */
  refused(peer: string, reason: string): void {
    if (this.#reported.has(peer)) return
    remember(this.#reported, peer)
    this.emit('refused', peer, reason)
  }
}

function remember(set: Set<string>, key: string): void {
  set.delete(key)
  set.add(key)
  if (set.size > MAX_REMEMBERED) set.delete(set.values().next().value as string)
}
