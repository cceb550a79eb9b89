// Shared vocabulary of the whole client. No I/O here.

/** BEP 3: blocks are requested in 16 KiB units. */
export const BLOCK_SIZE = 16 * 1024

/** A span of one piece: `length` bytes from `begin`. */
export interface BlockRef {
  index: number
  begin: number
  length: number
}

/** Where a candidate peer was learnt from (shown in the UI). */
export type PeerSourceKind = 'tracker' | 'dht' | 'pex' | 'lsd' | 'incoming' | 'manual'

export interface PeerAddress {
  host: string
  port: number
}

export interface PeerCandidate extends PeerAddress {
  source: PeerSourceKind
  /** BEP 11 flag 0x04 as a PEX sender told it: whether the peer speaks uTP (undefined: not told). */
  utp?: boolean
}

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

/** Parses "host:port" or "[v6]:port"; throws with a one-line message otherwise. */
export function parseAddress(text: string): PeerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text)
  if (!m) throw new Error(`"${text}" is not HOST:PORT`)
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`"${text}": port must be 1-65535`)
  return { host: m[1], port }
}

/** The error every module throws for a problem a person must act on. */
export class FriendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'FriendError'
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
