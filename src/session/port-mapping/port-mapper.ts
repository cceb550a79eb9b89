// Port forwarding for the session's listen port: asks the router for the same
// port outside, over TCP and UDP, by UPnP IGD and NAT-PMP at once, keeps each
// mapping that succeeds renewed before its lease ends, and deletes them on
// close. It never blocks the session: start() returns at once, every request
// has a deadline, and a router that answers neither costs one log line.
// The status it reports (method, external address and ports) is the first
// mapping that succeeded.
import type { Clock, TimerHandle } from '../../core/clock.ts'
import { systemClock } from '../../core/clock.ts'
import { TypedEmitter } from '../../core/typed-emitter.ts'
import { errorMessage } from '../../core/types.ts'
import { defaultGateway } from './default-gateway.ts'
import { IgdClient } from './igd.ts'
import type { Mapped, MappingMethod } from './mapping-method.ts'
import { NatPmpClient } from './nat-pmp.ts'
import { searchGateways } from './ssdp.ts'

/** The stable shape of `status --json`'s `portForwarding`. */
export interface PortMappingStatus {
  state: 'off' | 'searching' | 'mapped' | 'failed'
  method: 'UPnP' | 'NAT-PMP' | null
  externalAddress: string | null
  externalTcpPort: number | null
  externalUdpPort: number | null
}

export interface PortMapperEvents {
  /** A mapping was made (or the last one failed to renew): one line for the log. */
  log: [line: string]
  /** Neither method got a mapping: one line. */
  warning: [line: string]
}

export interface PortMapperOptions {
  internalPort: number
  clock?: Clock
  /** UPnP lease asked for (libtorrent asks an hour); renewed at half. */
  upnpLeaseSec?: number
  /** NAT-PMP lifetime asked for (RFC 6886 §3.3 recommends 7200 s); renewed at half. */
  natPmpLifetimeSec?: number
  ssdpTimeoutMs?: number
  /** Where NAT-PMP asks (default: the default gateway; tests point it elsewhere). */
  gateway?: () => Promise<string | undefined>
  natPmpPort?: number
  natPmpAttempts?: number
  /** Search for a UPnP gateway too (default true; tests on loopback turn it off: SSDP is multicast). */
  upnp?: boolean
}

const DEFAULT_UPNP_LEASE_SEC = 3600
const DEFAULT_NAT_PMP_LIFETIME_SEC = 7200
const DEFAULT_SSDP_TIMEOUT_MS = 3000
const RETRY_RENEW_MS = 60_000
const MIN_RENEW_MS = 30_000
const CLOSE_TIMEOUT_MS = 3000

export const PORT_MAPPING_OFF: PortMappingStatus = { state: 'off', method: null, externalAddress: null, externalTcpPort: null, externalUdpPort: null }

interface Active {
  method: MappingMethod
  mapped: Mapped
  renew?: TimerHandle
}

export class PortMapper extends TypedEmitter<PortMapperEvents> {
  readonly #opts: PortMapperOptions
  readonly #clock: Clock
  readonly #methods: MappingMethod[] = []
  readonly #active: Active[] = []
  /** Ends the search and the description fetch, which belong to no method yet. */
  readonly #abort = new AbortController()
  #state: PortMappingStatus['state'] = 'off'
  #closed = false
  #started: Promise<void> | undefined

  constructor(opts: PortMapperOptions) {
    super()
    this.#opts = opts
    this.#clock = opts.clock ?? systemClock
  }

  /** Starts both methods in the background; resolves at once. */
  start(): void {
    if (this.#started) return
    this.#state = 'searching'
    this.#started = this.#run()
  }

  status(): PortMappingStatus {
    const first = this.#active[0]
    if (!first) return { ...PORT_MAPPING_OFF, state: this.#state }
    return { state: 'mapped', method: first.method.name, externalAddress: first.mapped.externalAddress, externalTcpPort: first.mapped.tcpPort, externalUdpPort: first.mapped.udpPort }
  }

  /** The external TCP port peers should be told of (the listen port until a mapping says otherwise). */
  get announcePort(): number {
    return this.#active[0]?.mapped.tcpPort ?? this.#opts.internalPort
  }

  /** Ends requests in flight and deletes every mapping made, within a few seconds whatever the router does. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#abort.abort()
    for (const m of this.#methods) m.cancel()
    for (const a of this.#active) a.renew?.cancel()
    await this.#started?.catch(() => {})
    let timer: TimerHandle | undefined
    await Promise.race([
      Promise.allSettled(this.#active.map((a) => a.method.unmap())),
      new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, CLOSE_TIMEOUT_MS))),
    ])
    timer?.cancel()
    this.#active.length = 0
  }

  async #run(): Promise<void> {
    const port = this.#opts.internalPort
    const reasons = await Promise.all([this.#tryUpnp(port), this.#tryNatPmp(port)])
    if (this.#closed) return
    if (this.#active.length === 0) {
      this.#state = 'failed'
      this.emit('warning', `port forwarding: no router mapped port ${port} (${reasons.filter(Boolean).join('; ')}); peers outside reach us only if the port is forwarded by hand`)
    }
  }

  /** Maps through the first gateway SSDP finds; returns why not, or undefined. */
  async #tryUpnp(port: number): Promise<string | undefined> {
    if (this.#opts.upnp === false) return 'UPnP: not tried'
    try {
      const signal = this.#abort.signal
      const locations = await searchGateways({ timeoutMs: this.#opts.ssdpTimeoutMs ?? DEFAULT_SSDP_TIMEOUT_MS, first: true, clock: this.#clock, signal })
      if (locations.length === 0) return 'UPnP: no gateway answered the search'
      const igd = await IgdClient.fromLocation(locations[0], signal)
      this.#methods.push(igd)
      return await this.#mapWith(igd, port, this.#opts.upnpLeaseSec ?? DEFAULT_UPNP_LEASE_SEC)
    } catch (err) {
      return errorMessage(err)
    }
  }

  async #tryNatPmp(port: number): Promise<string | undefined> {
    const gateway = await (this.#opts.gateway ?? defaultGateway)()
    if (!gateway) return 'NAT-PMP: no default gateway'
    if (this.#closed) return undefined
    const client = new NatPmpClient({ gateway, port: this.#opts.natPmpPort, clock: this.#clock, attempts: this.#opts.natPmpAttempts })
    this.#methods.push(client)
    try {
      return await this.#mapWith(client, port, this.#opts.natPmpLifetimeSec ?? DEFAULT_NAT_PMP_LIFETIME_SEC)
    } catch (err) {
      return errorMessage(err)
    }
  }

  async #mapWith(method: MappingMethod, port: number, lifetimeSec: number): Promise<undefined> {
    const mapped = await method.map(port, lifetimeSec)
    if (this.#closed) {
      await method.unmap()
      return undefined
    }
    const active: Active = { method, mapped }
    this.#active.push(active)
    this.emit('log', `port forwarding: ${method.name} maps ${mapped.externalAddress}:${mapped.tcpPort} (TCP) and :${mapped.udpPort} (UDP) to port ${port}${mapped.lifetimeSec ? `, renewed every ${Math.round(mapped.lifetimeSec / 2 / 60)} min` : ''}`)
    this.#scheduleRenewal(active, port, lifetimeSec, mapped.lifetimeSec * 500)
    return undefined
  }

  #scheduleRenewal(active: Active, port: number, lifetimeSec: number, afterMs: number): void {
    if (this.#closed || afterMs <= 0) return
    active.renew = this.#clock.setTimeout(() => {
      active.method.map(port, lifetimeSec).then(
        (mapped) => {
          active.mapped = mapped
          this.#scheduleRenewal(active, port, lifetimeSec, Math.max(MIN_RENEW_MS, mapped.lifetimeSec * 500))
        },
        (err: unknown) => {
          if (this.#closed) return
          this.emit('log', `port forwarding: ${active.method.name} renewal failed, trying again in a minute: ${errorMessage(err)}`)
          this.#scheduleRenewal(active, port, lifetimeSec, RETRY_RENEW_MS)
        },
      )
    }, Math.max(MIN_RENEW_MS, afterMs))
  }
}
