// The uTP section of `npm run bench`, each figure beside its reference of the same run:
//  - a byte stream ours → ours on loopback over uTP against the same over TCP,
//    the receiver in a process of its own as a second client would be (MB/s,
//    CPU seconds per GiB of both ends together, peak RSS of each end);
//  - a torrent from qBittorrent-nox in uTP-only mode (Session\BTProtocol=UTP)
//    into our Torrent, against qBittorrent → qBittorrent over uTP.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { newPeerId } from '../src/core/peer-id.ts'
import { parseTorrentFile } from '../src/metainfo/metainfo.ts'
import { Listener } from '../src/session/listener.ts'
import { FileStorage } from '../src/storage/file-storage.ts'
import { Torrent } from '../src/torrent/torrent.ts'
import { UtpManager } from '../src/transport/utp/utp-manager.ts'
import type { UtpSocket } from '../src/transport/utp/utp-socket.ts'
import { buildTorrent } from '../test/helpers/make-torrent.ts'
import { tempDir } from '../test/helpers/net.ts'
import { hasBinary, startQbittorrent, startQbittorrentSeeder } from '../test/helpers/real-clients.ts'
import { MIB, fixed, formatTable, oneLine, sleep } from './measure.ts'

export interface UtpRow {
  what: string
  ok: boolean
  mbPerSec?: number
  cpuSecPerGiB?: number
  peakRssMB?: number
  /** The other end's, where it is a process of its own. */
  peerPeakRssMB?: number
  /** What the transfer ended with, for the note column (uTP: packet size, packets sent). */
  note?: string
  error?: string
}

/** What a transfer measured beyond its wall time: the seconds of the transfer alone, the other process's CPU and peak RSS. */
interface RunResult {
  seconds?: number
  peerCpuSeconds?: number
  peerPeakRssBytes?: number
  note?: string
}

const CHUNK = Buffer.alloc(64 * 1024, 7)

/** Writes `bytes` into `to` with backpressure. */
async function pump(to: Duplex, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; sent += CHUNK.length) {
    if (!to.write(CHUNK)) await new Promise((r) => to.once('drain', r))
  }
}

/** `run` may return the seconds of the transfer alone (set-up excluded); otherwise its whole wall time counts. */
async function measure(what: string, bytes: number, run: () => Promise<number | RunResult | void>): Promise<UtpRow> {
  // rss() alone: the whole memoryUsage() every 50 ms costs measurable CPU.
  let peak = process.memoryUsage.rss()
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  try {
    const ran = await run()
    const result: RunResult = typeof ran === 'number' ? { seconds: ran } : (ran ?? {})
    const seconds = result.seconds ?? (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6 + (result.peerCpuSeconds ?? 0)
    return {
      what, ok: true, mbPerSec: bytes / 1e6 / seconds, cpuSecPerGiB: cpuSeconds * ((1024 * MIB) / bytes), peakRssMB: peak / 1e6,
      ...(result.peerPeakRssBytes ? { peerPeakRssMB: result.peerPeakRssBytes / 1e6 } : {}),
      ...(result.note ? { note: result.note } : {}),
    }
  } catch (err) {
    return { what, ok: false, error: oneLine(err) }
  } finally {
    clearInterval(sampler)
  }
}

const RECEIVER = fileURLToPath(new URL('./stream-receiver.ts', import.meta.url))

/** Sends `bytes` over uTP or TCP to a receiver in a child process; resolves with its figures once it has them all. */
async function streamToProcess(transport: 'utp' | 'tcp', bytes: number): Promise<RunResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', RECEIVER, transport, String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, number>> => {
    const line = await lines.next()
    if (line.done) throw new Error(`the ${transport} receiver exited early`)
    return JSON.parse(line.value) as Record<string, number>
  }
  let manager: UtpManager | undefined
  let socket: Duplex | undefined
  try {
    const { port } = await next()
    if (transport === 'utp') {
      manager = await UtpManager.open(0, '127.0.0.1')
      socket = manager.connect('127.0.0.1', port)
    } else {
      socket = createConnection({ port, host: '127.0.0.1' })
    }
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', resolve)
      socket!.once('error', reject)
    })
    const t0 = performance.now()
    const done = next()
    await pump(socket, bytes)
    const figures = await done
    const seconds = (performance.now() - t0) / 1000
    const stats = manager && (socket as UtpSocket).stats
    const note = stats ? `${stats.packetsSent} packets, ${(socket as UtpSocket).packetBytes.floorBytes} bytes each at the end, ${stats.resends} resent` : undefined
    return { seconds, peerCpuSeconds: figures.cpuSeconds, peerPeakRssBytes: figures.peakRssBytes, ...(note ? { note } : {}) }
  } finally {
    socket?.destroy()
    await manager?.close()
    if (child.exitCode === null) child.kill()
  }
}

/** qBittorrent (uTP only) seeds; `into` downloads; resolves when it has everything. */
async function fromQbittorrent(sizeBytes: number, timeoutMs: number, into: 'friendtorrent' | 'qbittorrent'): Promise<number> {
  const work = tempDir('bench-utp')
  try {
    const b = buildTorrent({ name: 'utp-bench.bin', files: sizeBytes, pieceLength: 1024 * 1024, seed: 11 })
    const seedDir = join(work.path, 'seed')
    mkdirSync(seedDir, { recursive: true })
    writeFileSync(join(seedDir, 'utp-bench.bin'), b.payload)
    const torrentPath = join(work.path, 'x.torrent')
    writeFileSync(torrentPath, b.torrent)
    const seeder = await startQbittorrentSeeder({ torrentPath, dataDir: seedDir, protocol: 'UTP' })
    try {
      if (into === 'qbittorrent') {
        const leecher = await startQbittorrent({ protocol: 'UTP' })
        try {
          const out = join(work.path, 'qb-out')
          mkdirSync(out)
          const infoHash = await leecher.addTorrent(torrentPath, out)
          const t0 = performance.now()
          await fetch(`http://127.0.0.1:${leecher.webPort}/api/v2/torrents/addPeers`, { method: 'POST', body: new URLSearchParams({ hashes: infoHash, peers: `127.0.0.1:${seeder.port}` }) })
          await leecher.waitComplete(infoHash, timeoutMs)
          return (performance.now() - t0) / 1000
        } finally {
          await leecher.stop()
        }
      }
      const listener = new Listener(undefined, { utp: true, tcp: false })
      const port = await listener.listen(0, '127.0.0.1')
      const meta = await parseTorrentFile(b.torrent)
      const torrent = new Torrent({ meta, storage: await FileStorage.open(meta, join(work.path, 'ours')), peerId: newPeerId(), listenPort: port, useTrackers: false, transports: listener.transports })
      try {
        const done = new Promise<void>((resolve, reject) => {
          torrent.once('complete', () => resolve())
          torrent.once('error', (m) => reject(new Error(m)))
          setTimeout(() => reject(new Error(`not complete within ${timeoutMs / 1000} s`)), timeoutMs).unref()
        })
        await torrent.start()
        const t0 = performance.now()
        torrent.addPeers([{ host: '127.0.0.1', port: seeder.port, source: 'manual' }])
        await done
        return (performance.now() - t0) / 1000
      } finally {
        await torrent.stop()
        await listener.close()
      }
    } finally {
      await seeder.stop()
    }
  } finally {
    await work.cleanup()
  }
}

export async function runUtpSection(options: { sizeMiB: number; timeoutMs: number }): Promise<UtpRow[]> {
  const bytes = options.sizeMiB * MIB
  const rows: UtpRow[] = []
  // TCP first, then uTP: the RSS peak of the second includes what the first left behind, which favours TCP.
  rows.push(await measure('stream ours → ours, TCP', bytes, () => streamToProcess('tcp', bytes)))
  await sleep(200)
  rows.push(await measure('stream ours → ours, uTP', bytes, () => streamToProcess('utp', bytes)))
  if (!hasBinary('qbittorrent-nox')) {
    rows.push({ what: 'qBittorrent uTP → …', ok: false, error: 'qbittorrent-nox is not installed' })
    return rows
  }
  // From the moment the leecher learns of the seeder to complete (qBittorrent: polled every 100 ms, as it reports progress 1).
  rows.push(await measure('torrent qBittorrent uTP → qBittorrent uTP', bytes, () => fromQbittorrent(bytes, options.timeoutMs, 'qbittorrent')))
  rows.push(await measure('torrent qBittorrent uTP → friendtorrent', bytes, () => fromQbittorrent(bytes, options.timeoutMs, 'friendtorrent')))
  return rows
}

export function formatUtpSection(rows: UtpRow[], sizeBytes: number): string {
  const table = formatTable(
    `uTP (${fixed(sizeBytes / MIB, 0)} MiB on loopback)`,
    ['what', 'MB/s', 'CPU s/GiB (our processes)', 'peak RSS MB (this process)', 'peak RSS MB (receiver)', 'note'],
    rows.map((r) => [r.what, fixed(r.mbPerSec, 1), fixed(r.cpuSecPerGiB, 2), fixed(r.peakRssMB, 0), fixed(r.peerPeakRssMB, 0), r.ok ? (r.note ?? '') : (r.error ?? 'failed')]),
  )
  const by = (what: string) => rows.find((r) => r.what === what && r.ok)?.mbPerSec
  const lines: string[] = []
  const utp = by('stream ours → ours, uTP')
  const tcp = by('stream ours → ours, TCP')
  if (utp && tcp) lines.push(`ours over uTP / ours over TCP: ${fixed(utp / tcp, 2)} (goal ≥ 0.5; and ≥ 100 MB/s)`)
  const u = rows.find((r) => r.what === 'stream ours → ours, uTP' && r.ok)
  const t = rows.find((r) => r.what === 'stream ours → ours, TCP' && r.ok)
  if (u?.cpuSecPerGiB && t?.cpuSecPerGiB) lines.push(`CPU s/GiB uTP / TCP: ${fixed(u.cpuSecPerGiB / t.cpuSecPerGiB, 2)}`)
  if (u?.peerPeakRssMB && t?.peerPeakRssMB) lines.push(`receiver peak RSS uTP − TCP: ${fixed(u.peerPeakRssMB - t.peerPeakRssMB, 1)} MB (goal ≤ 10)`)
  const ours = by('torrent qBittorrent uTP → friendtorrent')
  const qb = by('torrent qBittorrent uTP → qBittorrent uTP')
  if (ours && qb) lines.push(`qBittorrent→friendtorrent / qBittorrent→qBittorrent over uTP: ${fixed(ours / qb, 2)} (goal ≥ 2)`)
  return [table, ...(lines.length ? ['', ...lines] : [])].join('\n')
}
