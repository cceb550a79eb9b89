// Our own client on loopback for tests: a listener on a free port plus a
// Torrent over a folder, announcing to the torrent's trackers (and any other
// sources given), seeding when the data is complete.
import { readFile } from 'node:fs/promises'
import { newPeerId } from '../../src/core/peer-id.ts'
import type { PeerCandidate } from '../../src/core/types.ts'
import type { PeerSource } from '../../src/discovery/peer-source.ts'
import type { LimiterChain } from '../../src/core/token-bucket.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import type { Storage } from '../../src/storage/storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import type { TorrentOptions } from '../../src/torrent/torrent.ts'
import type { Clock } from '../../src/core/clock.ts'
import type { EncryptionPolicy } from '../../src/transport/encryption-policy.ts'

export interface OurPeer {
  torrent: Torrent
  /** The id it gives in its handshakes. */
  peerId: Buffer
  meta: Metainfo
  port: number
  stop(): Promise<void>
}

export interface OurPeerOptions {
  torrentPath: string
  dataDir: string
  useTrackers?: boolean
  peers?: PeerCandidate[]
  /** Built once the listen port is known (e.g. a DhtSource announcing it). */
  sources?: (port: number, meta: Metainfo) => PeerSource[]
  uploadLimiter?: LimiterChain
  /** A FakeClock to drive its timeouts by hand. */
  clock?: Clock
  /** Per-peer and connection limits (default: the Torrent's). */
  limits?: Pick<TorrentOptions, 'maxConnections' | 'maxConnectionsPerIp' | 'connectionSlots' | 'maxPendingRequestsPerPeer' | 'maxBufferedBytesPerPeer'>
  /** MSE for its listener and its dials (default: accept both, dial plaintext). */
  encryption?: EncryptionPolicy
  /** Dial uTP first (TCP after it), as a session does; default TCP only. Incoming uTP is accepted either way. */
  utp?: boolean
  /** Address to listen on (default 127.0.0.1): "::1" for IPv6 loopback, "" for every address of both families (dual-stack). */
  host?: string
  /** Its data somewhere other than files in dataDir: a Storage (e.g. data made on the fly for a long transfer), or one made from the metainfo (e.g. a MemoryStorage holding a payload of 100,000 tiny files). */
  storage?: Storage | ((meta: Metainfo) => Storage)
}

export async function startOurPeer(opts: OurPeerOptions): Promise<OurPeer> {
  const meta = await parseTorrentFile(await readFile(opts.torrentPath))
  const listener = new Listener(undefined, { encryption: opts.encryption })
  const listenHost = opts.host === '' ? undefined : (opts.host ?? '127.0.0.1')
  const port = await listener.listen(0, listenHost)
  const peerId = newPeerId()
  const torrent = new Torrent({
    meta,
    storage: typeof opts.storage === 'function' ? opts.storage(meta) : (opts.storage ?? (await FileStorage.open(meta, opts.dataDir))),
    peerId,
    listenPort: port,
    listenHost,
    useTrackers: opts.useTrackers ?? true,
    sources: opts.sources?.(port, meta),
    uploadLimiter: opts.uploadLimiter,
    clock: opts.clock,
    encryption: opts.encryption,
    ...opts.limits,
    ...(opts.utp && { transports: listener.transports }),
  })
  const unregister = listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
  torrent.addPeers(opts.peers ?? [])
  await torrent.start()
  return {
    torrent,
    peerId,
    meta,
    port,
    async stop() {
      await torrent.stop()
      unregister()
      await listener.close()
    },
  }
}

/** Our peer over complete data; throws if the data does not check out. */
export async function startOurSeeder(opts: OurPeerOptions): Promise<OurPeer> {
  const peer = await startOurPeer(opts)
  if (peer.torrent.state !== 'seeding') {
    await peer.stop()
    throw new Error(`our seeder is ${peer.torrent.state} after checking ${opts.dataDir}, not seeding: is the data complete?`)
  }
  return peer
}
