// One of our own torrents seeding on loopback for tests: a listener on a free
// port plus a Torrent over complete data, announcing to the torrent's trackers.
import { readFile } from 'node:fs/promises'
import { newPeerId } from '../../src/core/peer-id.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'

export interface OurSeeder {
  torrent: Torrent
  meta: Metainfo
  port: number
  stop(): Promise<void>
}

export async function startOurSeeder(opts: { torrentPath: string; dataDir: string; useTrackers?: boolean }): Promise<OurSeeder> {
  const meta = await parseTorrentFile(await readFile(opts.torrentPath))
  const listener = new Listener()
  const port = await listener.listen(0, '127.0.0.1')
  const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, opts.dataDir), peerId: newPeerId(), listenPort: port, useTrackers: opts.useTrackers ?? true })
  const unregister = listener.register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
  await torrent.start()
  if (torrent.state !== 'seeding') {
    await torrent.stop()
    await listener.close()
    throw new Error(`our seeder is ${torrent.state} after checking ${opts.dataDir}, not seeding: is the data complete?`)
  }
  return {
    torrent,
    meta,
    port,
    async stop() {
      await torrent.stop()
      unregister()
      await listener.close()
    },
  }
}
