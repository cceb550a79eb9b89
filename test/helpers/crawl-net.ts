// A loopback DHT for crawler tests and the bench: `nodes` of our DhtNodes,
// each on its own address 127.0.0.(base+i) (so per-IP limits mean something),
// each also a seeding host: one Listener on that address serving its share of
// `torrents` real torrents (our Torrent over files written to a temp folder),
// every torrent announced to the DHT from its host's node. Our nodes answer
// BEP 51, so the DHT can be sampled. Nothing reaches beyond 127.0.0.0/8.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { newPeerId } from '../../src/core/peer-id.ts'
import { DhtNode } from '../../src/discovery/dht-node.ts'
import { parseTorrentFile } from '../../src/metainfo/metainfo.ts'
import { Listener } from '../../src/session/listener.ts'
import { FileStorage } from '../../src/storage/file-storage.ts'
import { Torrent } from '../../src/torrent/torrent.ts'
import { buildTorrent } from './make-torrent.ts'
import { waitUntil } from './net.ts'

export interface CrawlFixture {
  infoHash: string
  name: string
  sizeBytes: number
  /** Paths relative to the torrent, '/'-joined, in torrent order. */
  files: { path: string; sizeBytes: number }[]
}

export interface CrawlNet {
  nodes: DhtNode[]
  /** "HOST:PORT" of the first node. */
  bootstrap: string[]
  torrents: CrawlFixture[]
  /** Announces every torrent from its host's node (done at start unless `deferAnnounce`), spread over `overMs` if given. */
  announce(overMs?: number): Promise<void>
  close(): Promise<void>
}

const WORDS = ['amber', 'basalt', 'cobalt', 'delta', 'ember', 'fjord', 'garnet', 'harbor', 'indigo', 'juniper', 'kestrel', 'lagoon']

export interface CrawlNetOptions {
  nodes: number
  torrents: number
  dir: string
  /** The interval our nodes' BEP 51 replies ask for. */
  sampleIntervalSeconds: number
  /** Third octet base of the nodes' addresses: 127.0.<subnet>.<1+i> (pick one per test file). */
  subnet: number
  /** Leave the announces to the caller (CrawlNet.announce), e.g. until crawlers are running. */
  deferAnnounce?: boolean
}

export async function startCrawlNet(opts: CrawlNetOptions): Promise<CrawlNet> {
  const nodes: DhtNode[] = []
  const listeners: Listener[] = []
  const torrents: Torrent[] = []
  const close = async () => {
    await Promise.all(torrents.map((t) => t.stop()))
    await Promise.all(listeners.map((l) => l.close()))
    await Promise.all(nodes.map((n) => n.stop()))
  }
  try {
    const hostOf = (i: number) => `127.0.${opts.subnet}.${1 + i}`
    const first = new DhtNode({ port: 0, host: hostOf(0), bootstrap: [], sampleIntervalSeconds: opts.sampleIntervalSeconds })
    first.on('warning', () => {})
    nodes.push(first)
    await first.start()
    const bootstrap = [`${hostOf(0)}:${first.port}`]
    for (let i = 1; i < opts.nodes; i++) {
      const node = new DhtNode({ port: 0, host: hostOf(i), bootstrap, sampleIntervalSeconds: opts.sampleIntervalSeconds })
      node.on('warning', () => {})
      nodes.push(node)
    }
    await Promise.all(nodes.slice(1).map((n) => new Promise<void>((resolve, reject) => {
      n.once('ready', resolve)
      n.start().catch(reject)
    })))
    // Every node knows every other before anything is announced (a small DHT converges fast).
    await waitUntil(() => nodes.every((n) => n.nodeCount >= Math.min(opts.nodes - 1, 8)), 30_000, 'the loopback DHT to converge')

    const fixtures: CrawlFixture[] = []
    const ports: number[] = []
    for (let i = 0; i < opts.nodes; i++) {
      const listener = new Listener(undefined, { utp: false })
      listeners.push(listener)
      ports.push(await listener.listen(0, hostOf(i)))
    }
    const announces: (() => Promise<void>)[] = []
    for (let t = 0; t < opts.torrents; t++) {
      const host = t % opts.nodes
      const name = `crawl fixture ${t} ${WORDS[t % WORDS.length]}`
      const fileCount = 1 + (t % 3)
      const files = Array.from({ length: fileCount }, (_, f) => ({ path: fileCount === 1 ? [] : [`part-${f}.bin`], length: 700 + ((t * 37 + f * 101) % 3000) }))
      const built = fileCount === 1
        ? buildTorrent({ name, files: files[0].length, pieceLength: 16384, seed: t + 1 })
        : buildTorrent({ name, files: files.map((f) => ({ path: f.path, length: f.length })), pieceLength: 16384, seed: t + 1 })
      const dataDir = join(opts.dir, `host-${host}`)
      await mkdir(fileCount === 1 ? dataDir : join(dataDir, name), { recursive: true })
      let off = 0
      for (const f of files) {
        const path = fileCount === 1 ? join(dataDir, name) : join(dataDir, name, ...f.path)
        await writeFile(path, built.payload.subarray(off, off + f.length))
        off += f.length
      }
      const meta = await parseTorrentFile(built.torrent)
      const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, dataDir), peerId: newPeerId(), listenPort: ports[host], useTrackers: false })
      torrents.push(torrent)
      listeners[host].register(meta.infoHash, (socket, decoder, handshake, rest) => torrent.handleIncoming(socket, decoder, handshake, rest))
      await torrent.start()
      if (torrent.state !== 'seeding') throw new Error(`fixture torrent ${name} is ${torrent.state}, not seeding`)
      fixtures.push({
        infoHash: meta.infoHashHex,
        name,
        sizeBytes: meta.length,
        files: files.map((f) => ({ path: fileCount === 1 ? name : f.path.join('/'), sizeBytes: f.length })),
      })
      announces.push(() => nodes[host].announce(meta.infoHash, ports[host]))
    }
    const announce = async (overMs = 0) => {
      if (overMs === 0) return void (await Promise.all(announces.map((a) => a())))
      // A workload paced over time (torrents appearing while crawlers run), not a wait for an event.
      const started: Promise<void>[] = []
      for (const [i, a] of announces.entries()) {
        started.push(a())
        await new Promise((resolve) => setTimeout(resolve, overMs / announces.length))
        if (i === announces.length - 1) break
      }
      await Promise.all(started)
    }
    if (!opts.deferAnnounce) await announce()
    return { nodes, bootstrap, torrents: fixtures, announce, close }
  } catch (err) {
    await close()
    throw err
  }
}
