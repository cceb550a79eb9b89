// Opening outgoing peer sockets, plain or with MSE (src/transport). Reads land
// in one buffer the caller reuses for every socket it dials (each read is
// handled synchronously, one at a time), so a download at hundreds of MB/s
// makes no garbage per read. Whatever a reader keeps of a chunk it must copy
// (PeerConnection.handleData's contract).
//
// With encryption `prefer`, a peer that drops our MSE handshake before its DH
// key arrives is dialled again in plaintext (as aria2c does) and remembered as
// plaintext-only; with `require` it is refused, reported once.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import type { Clock } from '../core/clock.ts'
import { EncryptedSocket } from '../transport/encrypted-socket.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import { MseInitiator } from '../transport/mse-handshake.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'

export interface DialedSocket {
  socket: PeerSocket
  /** Sends this socket's reads (and any that came before) to `sink` from now on. */
  route(sink: (chunk: Buffer) => void): void
}

export interface DialOptions {
  host: string
  port: number
  timeoutMs: number
  readBuffer: Buffer
  clock: Clock
  /** Sockets still connecting, so an owner that stops can destroy them. */
  pending: Set<Socket>
  /** MSE: the policy and the torrent's info hash (SKEY). Without it, plaintext. */
  encryption?: { policy: EncryptionPolicy; infoHash: Buffer }
}

/** The peer took the TCP connection but not our MSE handshake. */
class MseRefused extends Error {}

export async function dialPeer(opts: DialOptions): Promise<DialedSocket> {
  const enc = opts.encryption
  const peer = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`
  if (!enc || !enc.policy.startsWithMse(peer)) return dialPlain(opts)
  try {
    return await dialMse(opts, enc.policy, enc.infoHash)
  } catch (err) {
    if (!(err instanceof MseRefused)) throw err
    if (enc.policy.fallsBack) {
      enc.policy.rememberPlaintextOnly(peer)
      return dialPlain(opts)
    }
    const reason = `refused: no encrypted connection (${err.message}) and encryption is required`
    enc.policy.refused(peer, reason)
    throw new Error(reason)
  }
}

/** A TCP connection whose reads go to `onChunk` (a view of the reused buffer). */
function openSocket(opts: DialOptions, onChunk: (chunk: Buffer) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: opts.host,
      port: opts.port,
      onread: {
        buffer: opts.readBuffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          onChunk(Buffer.from(buffer.buffer, buffer.byteOffset, bytes))
          return true
        },
      },
    })
    opts.pending.add(socket)
    const timer = opts.clock.setTimeout(() => {
      opts.pending.delete(socket)
      socket.destroy()
      reject(new Error(`connect to ${opts.host}:${opts.port} timed out`))
    }, opts.timeoutMs)
    socket.once('connect', () => {
      timer.cancel()
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (err) => {
      timer.cancel()
      opts.pending.delete(socket)
      socket.destroy()
      reject(err)
    })
  })
}

async function dialPlain(opts: DialOptions): Promise<DialedSocket> {
  let sink: ((chunk: Buffer) => void) | undefined
  const early: Buffer[] = []
  const socket = await openSocket(opts, (chunk) => {
    if (sink) sink(chunk)
    else early.push(Buffer.from(chunk))
  })
  opts.pending.delete(socket)
  const route = (to: (chunk: Buffer) => void) => {
    sink = to
    for (const chunk of early.splice(0)) to(chunk)
  }
  return { socket, route }
}

/**
 * Connects and sends Ya and PadA; resolves once the peer's key is in, with an
 * EncryptedSocket that sends the request (our first write as its IA) and
 * finishes the handshake as bytes arrive.
 */
async function dialMse(opts: DialOptions, policy: EncryptionPolicy, infoHash: Buffer): Promise<DialedSocket> {
  const keys = policy.keyPair()
  keys.catch(() => {}) // awaited below unless the connect fails first
  let onChunk: (chunk: Buffer) => void = () => {}
  const socket = await openSocket(opts, (chunk) => onChunk(chunk))
  try {
    const initiator = new MseInitiator({ keys: await keys, skey: infoHash, provide: policy.provide, deferSecret: true })
    await new Promise<void>((resolve, reject) => {
      let settled = false
      let secretQueued = false
      const fail = (why: string) => {
        settled = true
        timer.cancel()
        socket.off('close', onClose)
        socket.off('error', onError)
        onChunk = () => {}
        reject(new MseRefused(why))
      }
      const onClose = () => fail('the peer closed the connection during the encryption handshake')
      const onError = (err: Error) => fail(`socket error during the encryption handshake: ${err.message}`)
      const timer = opts.clock.setTimeout(() => fail(`no encryption handshake from the peer within ${Math.round(opts.timeoutMs / 1000)} s`), opts.timeoutMs)
      socket.on('close', onClose)
      socket.on('error', onError)
      const step = (advance: () => void) => {
        if (settled) return
        try {
          advance()
        } catch (err) {
          settled = true
          fail((err as Error).message)
          return
        }
        if (initiator.needsSecret && !secretQueued) {
          secretQueued = true
          // The DH secret waits its turn, so a burst of handshakes cannot stall the event loop.
          policy.budget.run(() => step(() => initiator.computeSecret()))
        }
        if (!initiator.needsPayload) return
        settled = true
        timer.cancel()
        socket.off('close', onClose)
        socket.off('error', onError)
        resolve()
      }
      onChunk = (chunk) => step(() => initiator.push(chunk))
      // Making Ya exports our key (~0.1 ms): it waits its turn too.
      policy.budget.run(() => {
        if (settled) return
        if (socket.destroyed) fail('the peer closed the connection during the encryption handshake')
        else socket.write(initiator.hello())
      })
    })
    const encrypted = new EncryptedSocket(socket, { initiator, readInner: false })
    onChunk = (chunk) => encrypted.receive(chunk)
    return { socket: encrypted, route: (sink) => encrypted.route(sink) }
  } catch (err) {
    socket.destroy()
    throw err instanceof MseRefused ? err : new MseRefused((err as Error).message)
  } finally {
    opts.pending.delete(socket)
  }
}
