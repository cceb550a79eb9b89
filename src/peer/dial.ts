// Opening outgoing peer connections, plain or with MSE (src/transport), over
// whichever transport connect.ts reaches the peer by (uTP or TCP). Whatever a
// reader keeps of a chunk it must copy (PeerConnection.handleData's contract).
//
// With encryption `prefer`, a peer that drops or botches our MSE handshake at
// any step (before its DH key, or after it, before its crypto_select) is
// dialled again in plaintext once (as aria2c does) and remembered as
// plaintext-only; with `require` it is refused, reported once. So `prefer`
// settles the whole MSE handshake before handing the socket over: its request
// offers plaintext, so its initial payload is empty anyway (see
// EncryptedSocket) and waiting costs no round trip. `require` sends the
// BitTorrent handshake inside the request (IA) and settles on the way.
import { EncryptedSocket } from '../transport/encrypted-socket.ts'
import type { EncryptionPolicy } from '../transport/encryption-policy.ts'
import { MseInitiator } from '../transport/mse-handshake.ts'
import type { PeerSocket } from '../transport/peer-socket.ts'
import { connectTransport } from './connect.ts'
import type { DialOptions } from './connect.ts'

export { TransportPolicy, UTP_HEAD_START_MS } from './connect.ts'
export type { DialOptions } from './connect.ts'

export interface DialedSocket {
  socket: PeerSocket
  /**
   * Sends this socket's reads (and any that came before, at once) to `sink`
   * from now on. Call it after writing our handshake: with `prefer`, a peer's
   * handshake may already have come with its crypto_select (Transmission 3.00
   * sends both in one write), and answering it first puts our extended
   * handshake ahead of our BitTorrent one.
   */
  route(sink: (chunk: Buffer) => void): void
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

async function dialPlain(opts: DialOptions): Promise<DialedSocket> {
  let sink: ((chunk: Buffer) => void) | undefined
  const early: Buffer[] = []
  const { socket, kind } = await connectTransport(opts, (chunk) => {
    if (sink) sink(chunk)
    else early.push(Buffer.from(chunk))
  })
  // A uTP stream keeps its reads until PeerConnection listens for 'data'.
  if (kind === 'utp') return { socket, route: () => {} }
  const route = (to: (chunk: Buffer) => void) => {
    sink = to
    for (const chunk of early.splice(0)) to(chunk)
  }
  return { socket, route }
}

/**
 * Connects and sends Ya and PadA. With `require`, resolves once the peer's key
 * is in, with an EncryptedSocket that sends the request (our first write as
 * its IA) and finishes the handshake as bytes arrive. With `prefer`, sends the
 * request with an empty IA itself and resolves once the peer's crypto_select
 * is in, so any failure before that is an MseRefused (and a plaintext redial).
 */
async function dialMse(opts: DialOptions, policy: EncryptionPolicy, infoHash: Buffer): Promise<DialedSocket> {
  const keys = policy.keyPair()
  keys.catch(() => {}) // awaited below unless the connect fails first
  let onChunk: (chunk: Buffer) => void = () => {}
  const { socket, kind } = await connectTransport(opts, (chunk) => onChunk(chunk))
  opts.pending.add(socket)
  if (kind === 'utp') socket.on('data', (chunk) => onChunk(chunk))
  try {
    const initiator = new MseInitiator({ keys: await keys, skey: infoHash, provide: policy.provide, deferSecret: true })
    const settleFirst = policy.fallsBack
    /** Reads after the handshake settled and before the EncryptedSocket takes over. */
    const late: Buffer[] = []
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
        if (settleFirst && initiator.needsPayload) socket.write(initiator.request())
        if (settleFirst ? !initiator.result : !initiator.needsPayload) return
        settled = true
        timer.cancel()
        socket.off('close', onClose)
        socket.off('error', onError)
        onChunk = (chunk) => late.push(Buffer.from(chunk))
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
    const result = initiator.result
    const encrypted = result
      ? new EncryptedSocket(socket, { ciphers: { encrypt: result.encrypt, decrypt: result.decrypt }, readInner: false })
      : new EncryptedSocket(socket, { initiator, readInner: false })
    onChunk = (chunk) => encrypted.receive(chunk)
    if (result && result.rest.length > 0) encrypted.receive(result.rest)
    for (const chunk of late.splice(0)) encrypted.receive(chunk)
    return { socket: encrypted, route: (sink) => encrypted.route(sink) }
  } catch (err) {
    socket.destroy()
    throw err instanceof MseRefused ? err : new MseRefused((err as Error).message)
  } finally {
    opts.pending.delete(socket)
  }
}
