// What a peer connection needs of its byte stream: a net.Socket has all of it,
// and so has every transport wrapper (MSE's EncryptedSocket, uTP's UtpSocket),
// so everything above the transport runs unchanged over either.
// 'data' chunks may be views of a reused buffer: copy what outlives the call.

export type TransportKind = 'tcp' | 'utp'

export interface PeerSocket {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  /** 'utp' for a uTP stream (and a wrapper over one); a net.Socket has none: TCP. */
  readonly transport?: TransportKind
  /** Bytes accepted by write() but not yet handed to the kernel. */
  readonly writableLength: number
  readonly writableNeedDrain: boolean
  readonly destroyed?: boolean
  write(data: Uint8Array): boolean
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
