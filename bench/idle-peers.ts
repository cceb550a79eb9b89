// Holds many peer connections open to a session on loopback, for the
// dashboard-peers and load benches: raw wire clients (test/helpers/wire-peer.ts),
// each from its own 127.0.x.y address (so the per-address limit never
// refuses one), saying the handshake, `interested` and a keep-alive every
// 30 s so the session keeps them as connected peers. They request nothing.
import { ControlClient } from '../src/cli/control-client.ts'
import { controlSocketPath } from '../src/cli/session-control.ts'
import { parseTorrentFile } from '../src/metainfo/metainfo.ts'
import { encode } from '../src/wire/index.ts'
import { connectWirePeer } from '../test/helpers/wire-peer.ts'
import type { WireClient } from '../test/helpers/wire-peer.ts'
import { sleep } from './measure.ts'

const KEEP_ALIVE_MS = 30_000
const CONNECTED_TIMEOUT_MS = 30_000

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

export interface PeersOnSession {
  peers: IdlePeers
  /** The session's control connection (closed by close()). */
  client: ControlClient
  /** What the session's `status` counts as connected peers now. */
  connectedPeers(): Promise<number>
  close(): void
}

/**
 * `peerCount` idle peers on the first five of `torrents` (half on the first, the rest
 * spread over the next four), resolved once the session (its control socket in
 * `stateDir`) counts them all connected; throws after 30 s.
 */
export async function holdPeersOnSession(port: number, stateDir: string, torrents: Buffer[], peerCount: number): Promise<PeersOnSession> {
  const busiest = Math.ceil(peerCount / 2)
  const rest = peerCount - busiest
  const counts = [busiest, ...[0, 1, 2, 3].map((i) => Math.floor(rest / 4) + (i < rest % 4 ? 1 : 0))]
  const hashes = await Promise.all(torrents.slice(0, counts.length).map(async (t) => Buffer.from((await parseTorrentFile(t)).infoHashHex, 'hex')))
  const peers = await connectIdlePeers(port, hashes, counts)
  const client = await ControlClient.connect(controlSocketPath(stateDir))
  if (!client) {
    peers.close()
    throw new Error('the session does not answer on its control socket')
  }
  const close = () => {
    client.close()
    peers.close()
  }
  const connectedPeers = async () => ((await client.call('status', {})) as { connectedPeers: number }).connectedPeers
  try {
    for (const end = Date.now() + CONNECTED_TIMEOUT_MS; (await connectedPeers()) < peerCount; await sleep(200))
      if (Date.now() > end) throw new Error(`the session has ${await connectedPeers()} of ${peerCount} peers connected after 30 s (${peers.open()} still open here)`)
  } catch (err) {
    close()
    throw err
  }
  return { peers, client, connectedPeers, close }
}
