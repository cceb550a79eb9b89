// SSDP discovery of an Internet Gateway Device (UPnP Device Architecture
// 1.1 §1.3): an M-SEARCH to 239.255.255.250:1900, sent three times, and the
// LOCATION of each answer that names a gateway or its WAN connection
// service. One UDP socket for the search, closed when it ends (after
// `timeoutMs`, or at the first answer when `first` is set). Answers are
// bounded and parsed as text; a location must be http:// on the answering
// host itself, so a neighbour cannot point us at another machine.
import { createSocket } from 'node:dgram'
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { systemClock } from '../../core/clock.ts'

export const SSDP_ADDRESS = '239.255.255.250'
export const SSDP_PORT = 1900
const SEARCH_TARGETS = ['urn:schemas-upnp-org:device:InternetGatewayDevice:1', 'urn:schemas-upnp-org:device:InternetGatewayDevice:2']
const MAX_ANSWER_BYTES = 2048
const RESEND_MS = 1000

export function searchMessage(target: string): Buffer {
  return Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ${target}\r\n\r\n`)
}

/** The LOCATION of an SSDP answer from `from`, if it is an HTTP 200 about a gateway and points at `from` itself. */
export function parseSearchAnswer(msg: Buffer, from: string): string | undefined {
  if (msg.length > MAX_ANSWER_BYTES) return undefined
  const lines = msg.toString('latin1').split('\r\n')
  if (!/^HTTP\/1\.[01] 200\b/.test(lines[0] ?? '')) return undefined
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  const st = headers.get('st') ?? ''
  if (!/InternetGatewayDevice|WANIPConnection|WANPPPConnection/.test(st)) return undefined
  let url: URL
  try {
    url = new URL(headers.get('location') ?? '')
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' || url.hostname !== from) return undefined
  return url.href
}

/** Locations of gateways' descriptions heard within `timeoutMs` (none is not an error). */
export function searchGateways(opts: { timeoutMs: number; first?: boolean; clock?: Clock; signal?: AbortSignal }): Promise<string[]> {
  const clock = opts.clock ?? systemClock
  return new Promise((resolve) => {
    const found: string[] = []
    const socket = createSocket({ type: 'udp4' })
    const timers: TimerHandle[] = []
    let done = false
    const finish = () => {
      if (done) return
      done = true
      for (const t of timers) t.cancel()
      opts.signal?.removeEventListener('abort', finish)
      socket.close()
      resolve(found)
    }
    opts.signal?.addEventListener('abort', finish)
    if (opts.signal?.aborted) return finish()
    socket.on('error', finish)
    socket.on('message', (msg, rinfo) => {
      const location = parseSearchAnswer(msg, rinfo.address)
      if (location && !found.includes(location)) {
        found.push(location)
        if (opts.first) finish()
      }
    })
    const send = () => {
      if (done) return
      for (const target of SEARCH_TARGETS) socket.send(searchMessage(target), SSDP_PORT, SSDP_ADDRESS, () => {})
    }
    socket.bind(0, () => {
      if (done) return
      try {
        socket.setMulticastTTL(2)
      } catch {
        // some sandboxes refuse: the default TTL of 1 reaches the router anyway
      }
      send()
      for (let at = RESEND_MS; at < opts.timeoutMs; at += RESEND_MS) timers.push(clock.setTimeout(send, at))
      timers.push(clock.setTimeout(finish, opts.timeoutMs))
    })
  })
}
