// The DHT node a process runs when the config asks for one: on the listen
// port, with its routing table kept in the state folder. Loaded only when
// used (bittorrent-dht and its dependencies cost ~16 MB). A DHT that cannot
// start is a warning, never a failure: trackers still work.
import { join } from 'node:path'
import { errorMessage } from '../core/types.ts'
import type { DhtNode } from '../discovery/dht-node.ts'
import type { Config } from './config.ts'

/** `socket`: the listener's UDP port, shared with uTP; without it the DHT binds `port` itself. */
export async function startConfiguredDht(config: Config, stateDir: string, port: number, warn: (line: string) => void, socket?: object): Promise<DhtNode | undefined> {
  if (!config.dht) return undefined
  const { DhtNode } = await import('../discovery/dht-node.ts')
  const node = new DhtNode({ port, bootstrap: config.dhtBootstrap, stateFile: join(stateDir, 'dht.json'), socket })
  node.on('warning', (message) => warn(`DHT: ${message}`))
  try {
    await node.start()
    return node
  } catch (err) {
    warn(`DHT unavailable, going on with trackers only: ${errorMessage(err)}`)
    return undefined
  }
}
