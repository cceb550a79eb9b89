// The DHT node a session runs when asked to: on the listen port, with its
// routing table kept in the state folder. Loaded only when used
// (bittorrent-dht and its dependencies cost ~16 MB). A DHT that cannot start
// is a warning, never a failure: trackers still work.
import { join } from 'node:path'
import { errorMessage } from '../core/types.ts'
import type { DhtNode } from '../discovery/dht-node.ts'

export interface DhtSettings {
  enabled: boolean
  /** "host:port" nodes to bootstrap from. */
  bootstrap: string[]
  /** The state folder: the routing table is kept there as dht.json. */
  stateDir: string
}

/** `socket`: the listener's UDP port, shared with uTP; without it the DHT binds `port` itself. */
export async function startDht(settings: DhtSettings, port: number, warn: (line: string) => void, socket?: object): Promise<DhtNode | undefined> {
  if (!settings.enabled) return undefined
  const { DhtNode } = await import('../discovery/dht-node.ts')
  const node = new DhtNode({ port, bootstrap: settings.bootstrap, stateFile: join(settings.stateDir, 'dht.json'), socket })
  node.on('warning', (message) => warn(/^DHT\b/.test(message) ? message : `DHT: ${message}`))
  try {
    await node.start()
    return node
  } catch (err) {
    warn(`DHT unavailable, going on with trackers only: ${errorMessage(err)}`)
    return undefined
  }
}
