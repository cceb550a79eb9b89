// What a peer connection needs of its byte stream: a net.Socket has all of it,
// and so has every transport wrapper (MSE's EncryptedSocket, uTP's UtpSocket),
// so everything above the transport runs unchanged over either.
// 'data' chunks may be views of a reused buffer: copy what outlives the call.

export type TransportKind = 'tcp' | 'utp'

/** A write's callback: the transport holds no reference to the written bytes any more (err: they were not all sent). */
export type WriteDone = (err?: Error | null) => void

export interface PeerSocket {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  /** 'utp' for a uTP stream (and a wrapper over one); a net.Socket has none: TCP. */
  readonly transport?: TransportKind
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly writableLength: number
  readonly writableNeedDrain: boolean
  readonly destroyed?: boolean
  /**
   * `done`, when given, runs once the transport no longer holds `data` (sent to
   * the kernel, copied into packets, or dropped with an error), so a pooled
   * buffer may be reused then; a net.Socket's write callback is exactly that.
   */
  write(data: Uint8Array, done?: WriteDone): boolean
  cork(): void
  uncork(): void
  setNoDelay(noDelay?: boolean): unknown
  pause(): unknown
  resume(): unknown
  destroy(): unknown
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'close' | 'end' | 'drain', listener: () => void): unknown
  off(event: 'data', listener: (chunk: Buffer) => void): unknown
  off(event: 'error', listener: (err: Error) => void): unknown
  off(event: 'close' | 'end' | 'drain', listener: () => void): unknown
}

export function transportOf(socket: PeerSocket): TransportKind {
  return socket.transport ?? 'tcp'
}
