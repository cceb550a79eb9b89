// A small DHT of plain bittorrent-dht nodes on 127.0.0.1 for tests. Every node
// gets an explicit loopback bootstrap list, so none ever reaches the public routers.
import { once } from 'node:events'
import DHT from 'bittorrent-dht'

export const LOOPBACK = '127.0.0.1'

/** One plain node on loopback; resolves once bound (and bootstrapped, when given a list). */
export async function plainDhtNode(bootstrap: string[]): Promise<DHT> {
  const dht = new DHT({ bootstrap })
  dht.on('warning', () => {})
  const ready = bootstrap.length > 0 ? once(dht, 'ready') : Promise.resolve()
  dht.listen(0, LOOPBACK)
  await once(dht, 'listening')
  await ready
  return dht
}

export interface LocalDht {
  nodes: DHT[]
  /** "127.0.0.1:PORT" of the first node, which the others joined through. */
  bootstrap: string[]
  close(): Promise<void>
}

export async function startLocalDht(size: number): Promise<LocalDht> {
  const first = await plainDhtNode([])
  const bootstrap = [`${LOOPBACK}:${first.address().port}`]
  const nodes = [first, ...(await Promise.all(Array.from({ length: size - 1 }, () => plainDhtNode(bootstrap))))]
  return {
    nodes,
    bootstrap,
    close: () => Promise.all(nodes.map((d) => new Promise<void>((resolve) => d.destroy(() => resolve())))).then(() => undefined),
  }
}
