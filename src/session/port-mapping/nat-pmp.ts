// A NAT-PMP (RFC 6886) client for one gateway: asks its external address,
// maps our listen port over TCP and UDP, renews and deletes (lifetime 0).
// Each request has its own UDP socket, closed when it ends, and follows
// §3.1's schedule: sent again after 250 ms, the wait doubling each time, for
// at most `attempts` sends; answers from any address but the gateway's are
// ignored, and a closed port (ICMP unreachable) ends it at once. Renewal timing is the port mapper's, not this module's.
import { createSocket } from 'node:dgram'
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { systemClock } from '../../core/clock.ts'
import {
  NAT_PMP_PORT,
  decodeErrorReply,
  decodeExternalAddressReply,
  decodeMapReply,
  encodeExternalAddressRequest,
  encodeMapRequest,
  resultText,
} from './nat-pmp-codec.ts'
import type { NatPmpProtocol } from './nat-pmp-codec.ts'
import type { MappingMethod, Mapped } from './mapping-method.ts'

const FIRST_WAIT_MS = 250
/** §3.1: up to 9 sends, about 2 minutes in all. */
export const RFC_ATTEMPTS = 9

export class NatPmpError extends Error {}

export interface NatPmpOptions {
  gateway: string
  port?: number
  clock?: Clock
  /** Sends per request at start (default 9, as §3.1 says). */
  attempts?: number
}

export class NatPmpClient implements MappingMethod {
  readonly name = 'NAT-PMP'
  readonly #gateway: string
  readonly #port: number
  readonly #clock: Clock
  readonly #attempts: number
  readonly #open = new Set<(err: Error) => void>()
  #mapped: { internalPort: number; protocols: NatPmpProtocol[] } | undefined

  constructor(opts: NatPmpOptions) {
    this.#gateway = opts.gateway
    this.#port = opts.port ?? NAT_PMP_PORT
    this.#clock = opts.clock ?? systemClock
    this.#attempts = opts.attempts ?? RFC_ATTEMPTS
  }

  async externalAddress(attempts = this.#attempts): Promise<string> {
    const reply = await this.#exchange(encodeExternalAddressRequest(), decodeExternalAddressReply, attempts)
    if (reply.resultCode !== 0) throw new NatPmpError(`NAT-PMP gateway ${this.#gateway} refused the external address request: ${resultText(reply.resultCode)}`)
    return reply.address
  }

  /** Maps `internalPort` over TCP and UDP, asking for the same external port. */
  async map(internalPort: number, lifetimeSec: number): Promise<Mapped> {
    const address = await this.externalAddress()
    const ports: Partial<Record<NatPmpProtocol, number>> = {}
    let granted = lifetimeSec
    for (const protocol of ['tcp', 'udp'] as const) {
      const reply = await this.#exchange(encodeMapRequest(protocol, internalPort, internalPort, lifetimeSec), (b) => {
        const r = decodeMapReply(b)
        return r && r.protocol === protocol && r.internalPort === internalPort ? r : undefined
      }, this.#attempts)
      if (reply.resultCode !== 0) throw new NatPmpError(`NAT-PMP gateway ${this.#gateway} refused to map ${protocol.toUpperCase()} port ${internalPort}: ${resultText(reply.resultCode)}`)
      ports[protocol] = reply.externalPort
      granted = Math.min(granted, reply.lifetimeSec)
    }
    this.#mapped = { internalPort, protocols: ['tcp', 'udp'] }
    return { externalAddress: address, tcpPort: ports.tcp!, udpPort: ports.udp!, lifetimeSec: granted }
  }

  /** §3.4: lifetime 0 and external port 0 delete the mapping; a few quick tries only, as this runs while stopping. */
  async unmap(attempts = 3): Promise<void> {
    const mapped = this.#mapped
    if (!mapped) return
    this.#mapped = undefined
    await Promise.allSettled(
      mapped.protocols.map((protocol) =>
        this.#exchange(encodeMapRequest(protocol, mapped.internalPort, 0, 0), (b) => {
          const r = decodeMapReply(b)
          return r && r.protocol === protocol && r.internalPort === mapped.internalPort ? r : undefined
        }, attempts),
      ),
    )
  }

  /** Ends every request in flight (each rejects) and closes its socket. */
  cancel(): void {
    for (const end of [...this.#open]) end(new NatPmpError('NAT-PMP: cancelled'))
  }

  /** Sends `request` until `match` accepts an answer from the gateway, or the schedule ends. */
  #exchange<T>(request: Buffer, match: (b: Buffer) => T | undefined, attempts: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const socket = createSocket('udp4')
      let timer: TimerHandle | undefined
      let sent = 0
      const end = (err: Error | undefined, value?: T) => {
        if (!this.#open.delete(end)) return
        timer?.cancel()
        socket.close()
        if (err) reject(err)
        else resolve(value as T)
      }
      this.#open.add(end)
      const send = () => {
        if (sent === attempts) return end(new NatPmpError(`NAT-PMP gateway ${this.#gateway} did not answer (${attempts} tries)`))
        const waitMs = FIRST_WAIT_MS * 2 ** sent
        sent++
        socket.send(request, (err) => {
          if (err) end(new NatPmpError(`NAT-PMP gateway ${this.#gateway} unreachable: ${err.message}`))
        })
        timer = this.#clock.setTimeout(send, waitMs)
      }
      // Connected, so a gateway without NAT-PMP (ICMP port unreachable) fails the request at once instead of after every retry.
      socket.on('error', (err) => {
        const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED'
        end(new NatPmpError(refused ? `NAT-PMP: gateway ${this.#gateway} does not speak it (port ${this.#port} closed)` : `NAT-PMP: ${err.message}`))
      })
      socket.on('message', (msg, rinfo) => {
        if (rinfo.address !== this.#gateway || rinfo.port !== this.#port) return
        const value = match(msg)
        if (value !== undefined) return end(undefined, value)
        const code = decodeErrorReply(msg)
        if (code !== undefined && code !== 0 && msg.length < 12) end(new NatPmpError(`NAT-PMP gateway ${this.#gateway}: ${resultText(code)}`))
      })
      socket.connect(this.#port, this.#gateway, () => send())
    })
  }
}
