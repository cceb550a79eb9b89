// A lossy UDP relay on 127.0.0.1 for uTP tests: whoever sends to `port` is
// relayed to the target from a second socket, and replies come back. Each
// datagram may be dropped, duplicated or held back behind later ones, drawn
// from a seeded generator so a failing run repeats.
import { createSocket } from 'node:dgram'
import type { Socket } from 'node:dgram'
import { seededRandom } from './seeded-random.ts'

export interface RelayOptions {
  targetPort: number
  dropRate: number
  duplicateRate: number
  /** Chance a datagram is held and released after the next one (reordering). */
  reorderRate: number
  seed: number
  maxDatagramBytes?: number
}

export interface UdpRelay {
  port: number
  stats: { relayed: number; dropped: number; duplicated: number; reordered: number; tooBig: number; largest: number }
  close(): Promise<void>
}

export async function startUdpRelay(opts: RelayOptions): Promise<UdpRelay> {
  const random = seededRandom(opts.seed)
  const front = createSocket('udp4')
  const back = createSocket('udp4')
  const stats = { relayed: 0, dropped: 0, duplicated: 0, reordered: 0, tooBig: 0, largest: 0 }
  let clientPort = 0
  const held: { from: Socket; msg: Buffer; port: number }[] = []
  const timers = new Set<NodeJS.Timeout>()

  const forward = (via: Socket, msg: Buffer, port: number) => {
    if (opts.maxDatagramBytes !== undefined && msg.length > opts.maxDatagramBytes) {
      stats.tooBig++
      return
    }
    stats.largest = Math.max(stats.largest, msg.length)
    if (random() < opts.dropRate) {
      stats.dropped++
      return
    }
    stats.relayed++
    if (random() < opts.reorderRate) {
      stats.reordered++
      held.push({ from: via, msg, port })
      // Released after the next datagram, or soon if none comes.
      const t = setTimeout(() => {
        timers.delete(t)
        const i = held.findIndex((h) => h.msg === msg)
        if (i >= 0) {
          const [h] = held.splice(i, 1)
          h.from.send(h.msg, h.port, '127.0.0.1')
        }
      }, 2)
      timers.add(t)
      return
    }
    via.send(msg, port, '127.0.0.1')
    if (random() < opts.duplicateRate) {
      stats.duplicated++
      via.send(msg, port, '127.0.0.1')
    }
    for (const h of held.splice(0)) h.from.send(h.msg, h.port, '127.0.0.1')
  }
  front.on('message', (msg, rinfo) => {
    clientPort = rinfo.port
    forward(back, msg, opts.targetPort)
  })
  back.on('message', (msg) => {
    if (clientPort) forward(front, msg, clientPort)
  })
  await Promise.all([front, back].map((s) => new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve))))
  return {
    port: front.address().port,
    stats,
    async close() {
      for (const t of timers) clearTimeout(t)
      await Promise.all([front, back].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    },
  }
}
