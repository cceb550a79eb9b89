// Holds many peer connections open to a session on loopback, for the
// dashboard's 200-peer bench: raw wire clients (test/helpers/wire-peer.ts),
// each from its own 127.0.x.y address (so the per-address limit never
// refuses one), saying the handshake, `interested` and a keep-alive every
// 30 s so the session keeps them as connected peers. They request nothing.
import { encode } from '../src/wire/index.ts'
import { connectWirePeer } from '../test/helpers/wire-peer.ts'
import type { WireClient } from '../test/helpers/wire-peer.ts'

const KEEP_ALIVE_MS = 30_000

export interface IdlePeers {
  clients: WireClient[]
  /** Connections still open. */
  open(): number
  close(): void
}

/** `counts[i]` connections to torrent `infoHashes[i]` of the session listening on 127.0.0.1:`port`. */
export async function connectIdlePeers(port: number, infoHashes: Buffer[], counts: number[]): Promise<IdlePeers> {
  const clients: WireClient[] = []
  const close = () => {
    clearInterval(timer)
    for (const c of clients) c.close()
  }
  const timer = setInterval(() => {
    for (const c of clients) if (!c.closed) c.send(encode({ type: 'keepAlive' }))
  }, KEEP_ALIVE_MS)
  try {
    let n = 0
    for (const [i, infoHash] of infoHashes.entries()) {
      // A few at a time: the session takes at most maxHalfOpenConnections handshakes at once.
      for (let k = 0; k < counts[i]; k += 8) {
        const batch = Array.from({ length: Math.min(8, counts[i] - k) }, () => {
          n++
          return connectWirePeer({ port, infoHash, localAddress: `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`, extended: true })
        })
        for (const c of await Promise.all(batch)) {
          clients.push(c)
          c.send(encode({ type: 'interested' }))
        }
      }
    }
  } catch (err) {
    close()
    throw err
  }
  return { clients, open: () => clients.filter((c) => !c.closed).length, close }
}
