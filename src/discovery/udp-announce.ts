// One announce to a UDP tracker (BEP 15): connect, announce, read the reply;
// the connect-then-request exchange is shared with the scrape.
// The socket is connected to the tracker so an ICMP "port unreachable" fails
// the call at once instead of waiting for a timeout. Never schedules, retries
// or sets a timer: the caller cancels.
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns'
import { randomBytes } from 'node:crypto'
import { decodeCompactPeers } from './compact-peers.ts'
import { errorMessage, FriendError } from '../core/types.ts'
import {
  describeNetworkError,
  settleOnce,
  type AnnounceCall,
  type AnnounceEvent,
  type AnnounceRequest,
  type AnnounceResponse,
  type TrackerCall,
} from './tracker-announce.ts'

// BEP 15: the magic constant a connect request carries as its connection id.
const PROTOCOL_ID = 0x41727101980n
const ACTION_CONNECT = 0
const ACTION_ANNOUNCE = 1
const ACTION_ERROR = 3
const CONNECT_REQUEST_BYTES = 16
const CONNECT_RESPONSE_BYTES = 16
const ANNOUNCE_REQUEST_BYTES = 98
const ANNOUNCE_RESPONSE_HEADER_BYTES = 20
const EVENT_IDS: Record<AnnounceEvent, number> = { update: 0, completed: 1, started: 2, stopped: 3 }
const MAX_UINT64 = 2n ** 64n - 1n

export function udpAnnounce(url: string, request: AnnounceRequest): AnnounceCall {
  return udpTrackerExchange<AnnounceResponse>(url, {
    action: ACTION_ANNOUNCE,
    name: 'announce',
    request: (connectionId, transactionId) => announcePacket(connectionId, transactionId, request),
    parse: (msg, peerFamily, where) => {
      if (msg.length < ANNOUNCE_RESPONSE_HEADER_BYTES) throw new FriendError(`${where} sent a malformed announce reply (${msg.length} bytes)`)
      let peers
      try {
        // BEP 15: the reply's address family (that of our socket) decides the entry size.
        peers = decodeCompactPeers(msg.subarray(ANNOUNCE_RESPONSE_HEADER_BYTES), peerFamily)
      } catch (e) {
        throw new FriendError(`${where} sent a bad peer list: ${(e as Error).message}`)
      }
      return { intervalSec: msg.readUInt32BE(8), leechers: msg.readUInt32BE(12), seeders: msg.readUInt32BE(16), peers }
    },
  })
}

/** What follows the connect step: the request to send and how to read its reply. */
export interface UdpTrackerStep<T> {
  /** The action the reply must carry (BEP 15: 1 announce, 2 scrape), and its name for errors. */
  action: number
  name: string
  request(connectionId: Uint8Array, transactionId: number): Buffer
  /** Reads a reply with the right action and transaction; throws a FriendError for a bad one. */
  parse(msg: Buffer, peerFamily: 4 | 6, where: string): T
}

/** BEP 15: connect, then one request (announce or scrape) and its reply. */
export function udpTrackerExchange<T>(url: string, step: UdpTrackerStep<T>): TrackerCall<T> {
  let socket: Socket | undefined
  const { result, isSettled, resolve, fail, cancel } = settleOnce<T>(() => {
    if (!socket) return
    const s = socket
    socket = undefined
    s.removeAllListeners('message')
    s.removeAllListeners('error')
    s.on('error', () => {})
    try {
      s.close()
    } catch {
      // Already closed by an error: nothing left to release.
    }
  })

  let hostname: string
  let port: number
  try {
    const parsed = new URL(url)
    hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
    port = Number(parsed.port)
  } catch {
    fail(`"${url}" is not a valid tracker URL`)
    return { result, cancel }
  }
  if (!hostname || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`UDP tracker URL "${url}" needs a host and a port`)
    return { result, cancel }
  }
  const where = `tracker ${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`

  lookup(hostname, (err, address, family) => {
    if (isSettled()) return
    if (err) return fail(describeNetworkError(err, where))
    const s = createSocket(family === 6 ? 'udp6' : 'udp4')
    socket = s
    const peerFamily = family === 6 ? 6 : 4
    let transactionId = randomBytes(4).readUInt32BE(0)
    let stage: 'connect' | 'request' = 'connect'

    s.on('error', (e) => fail(describeNetworkError(e, where)))
    s.on('message', (msg: Buffer) => {
      if (msg.length < 8 || msg.readUInt32BE(4) !== transactionId) return // a stale or stray datagram
      const action = msg.readUInt32BE(0)
      if (action === ACTION_ERROR) {
        const reason = msg.subarray(8).toString('utf8').replace(/\s+/g, ' ').trim()
        return fail(`tracker refused the ${step.name}: ${reason || '(no reason given)'}`)
      }
      if (stage === 'connect') {
        if (action !== ACTION_CONNECT || msg.length < CONNECT_RESPONSE_BYTES) {
          return fail(`${where} sent a malformed connect reply (action ${action}, ${msg.length} bytes)`)
        }
        stage = 'request'
        transactionId = randomBytes(4).readUInt32BE(0)
        s.send(step.request(msg.subarray(8, 16), transactionId))
        return
      }
      if (action !== step.action) return fail(`${where} sent a malformed ${step.name} reply (action ${action}, ${msg.length} bytes)`)
      try {
        resolve(step.parse(msg, peerFamily, where))
      } catch (e) {
        fail(errorMessage(e))
      }
    })
    s.connect(port, address, () => {
      if (socket !== s) return
      const connect = Buffer.alloc(CONNECT_REQUEST_BYTES)
      connect.writeBigUInt64BE(PROTOCOL_ID, 0)
      connect.writeUInt32BE(ACTION_CONNECT, 8)
      connect.writeUInt32BE(transactionId, 12)
      s.send(connect)
    })
  })

  return { result, cancel }
}

/** BEP 15 announce request, 98 bytes. */
function announcePacket(connectionId: Uint8Array, transactionId: number, request: AnnounceRequest): Buffer {
  const packet = Buffer.alloc(ANNOUNCE_REQUEST_BYTES)
  packet.set(connectionId, 0)
  packet.writeUInt32BE(ACTION_ANNOUNCE, 8)
  packet.writeUInt32BE(transactionId, 12)
  packet.set(request.infoHash.subarray(0, 20), 16)
  packet.set(request.peerId.subarray(0, 20), 36)
  packet.writeBigUInt64BE(uint64(request.downloaded), 56)
  packet.writeBigUInt64BE(uint64(request.left), 64)
  packet.writeBigUInt64BE(uint64(request.uploaded), 72)
  packet.writeUInt32BE(EVENT_IDS[request.event], 80)
  packet.writeUInt32BE(0, 84) // IP: 0 = the address the packet came from
  packet.writeUInt32BE(request.key >>> 0, 88)
  packet.writeInt32BE(Math.min(request.numWant, 0x7fffffff), 92)
  packet.writeUInt16BE(request.port, 96)
  return packet
}

function uint64(n: number): bigint {
  const v = BigInt(Math.max(0, Math.floor(n)))
  return v > MAX_UINT64 ? MAX_UINT64 : v
}
