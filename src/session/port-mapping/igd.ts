// A UPnP Internet Gateway Device's WAN connection service (WANIPConnection:1
// or :2, or WANPPPConnection:1), found in its description XML, and the three
// SOAP actions we need of it: GetExternalIPAddress, AddPortMapping and
// DeletePortMapping. Each request is one HTTP/1.1 exchange on its own
// connection with a timeout and a size limit; the XML is read with a few
// anchored patterns, never evaluated. A refusal becomes one line naming the
// router and its UPnP error (718 ConflictInMappingEntry, 725 OnlyPermanentLeasesSupported, …).
import { createSocket } from 'node:dgram'
import { httpModule } from '../../discovery/http-modules.ts'
import type { MappingMethod, Mapped } from './mapping-method.ts'

const MAX_BODY_BYTES = 256 * 1024
const REQUEST_TIMEOUT_MS = 5000
const UNMAP_TIMEOUT_MS = 2000
const SERVICE_TYPES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
]
const DESCRIPTION = 'friendtorrent'
/** UPnP errors that change what we try next. */
const CONFLICT_IN_MAPPING_ENTRY = 718
const ONLY_PERMANENT_LEASES_SUPPORTED = 725
const OTHER_PORT_TRIES = 3

export class UpnpError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message)
  }
}

export interface WanService {
  serviceType: string
  controlUrl: string
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([^<]*)</(?:[\\w-]+:)?${name}>`).exec(xml)
  return m ? unescapeXml(m[1].trim()) : undefined
}

/** The best WAN connection service in a description, its control URL made absolute against `location` (or URLBase). */
export function findWanService(xml: string, location: string): WanService | undefined {
  const base = tag(xml, 'URLBase') || location
  const services = [...xml.matchAll(/<service>([\s\S]*?)<\/service>/g)].map((m) => ({ serviceType: tag(m[1], 'serviceType'), controlUrl: tag(m[1], 'controlURL') }))
  for (const type of SERVICE_TYPES) {
    const s = services.find((x) => x.serviceType === type && x.controlUrl)
    if (!s) continue
    try {
      const url = new URL(s.controlUrl!, base)
      if (url.protocol === 'http:') return { serviceType: type, controlUrl: url.href }
    } catch {
      // a control URL that is no URL: look for another service
    }
  }
  return undefined
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

export function soapEnvelope(serviceType: string, action: string, args: [string, string | number][]): string {
  const body = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('')
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${serviceType}">${body}</u:${action}></s:Body></s:Envelope>\r\n`
}

/** One HTTP request on its own connection: status and body (at most MAX_BODY_BYTES). */
async function request(url: string, opts: { method: string; headers?: Record<string, string>; body?: string; signal: AbortSignal }): Promise<{ status: number; body: string }> {
  // Node's http module is loaded at the first router that answers the search.
  const http = await httpModule()
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, agent: false, headers: { connection: 'close', ...opts.headers }, timeout: REQUEST_TIMEOUT_MS, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`answer over ${MAX_BODY_BYTES} bytes`))
        else chunks.push(c)
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)))
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** The address of ours the router sees (the source of a UDP "connection" toward it; nothing is sent). */
export function localAddressToward(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4')
    s.on('error', (err) => {
      s.close()
      reject(err)
    })
    s.connect(1900, host, () => {
      const { address } = s.address()
      s.close()
      resolve(address)
    })
  })
}

export class IgdClient implements MappingMethod {
  readonly name = 'UPnP'
  readonly #service: WanService
  readonly #host: string
  readonly #abort = new AbortController()
  #mapped: { tcpPort: number; udpPort: number } | undefined
  #internalClient: string | undefined

  private constructor(service: WanService) {
    this.#service = service
    this.#host = new URL(service.controlUrl).host
  }

  /** Reads the description at `location` and finds its WAN connection service. */
  static async fromLocation(location: string, signal?: AbortSignal): Promise<IgdClient> {
    const host = new URL(location).host
    let res: { status: number; body: string }
    try {
      res = await request(location, { method: 'GET', signal: signal ?? new AbortController().signal })
    } catch (err) {
      throw new UpnpError(`UPnP gateway ${host}: cannot read its description: ${(err as Error).message}`)
    }
    if (res.status !== 200) throw new UpnpError(`UPnP gateway ${host}: its description answered HTTP ${res.status}`)
    const service = findWanService(res.body, location)
    if (!service) throw new UpnpError(`UPnP device ${host} offers no WANIPConnection or WANPPPConnection service`)
    return new IgdClient(service)
  }

  get service(): WanService {
    return this.#service
  }

  async externalAddress(): Promise<string> {
    const body = await this.#call('GetExternalIPAddress', [])
    const address = tag(body, 'NewExternalIPAddress')
    if (!address) throw new UpnpError(`UPnP gateway ${this.#host} gave no external address`)
    return address
  }

  /** Maps TCP then UDP, each on the internal port if free there, else on another (a conflict with another host: 718). */
  async map(internalPort: number, lifetimeSec: number): Promise<Mapped> {
    this.#internalClient ??= await localAddressToward(new URL(this.#service.controlUrl).hostname)
    const externalAddress = await this.externalAddress()
    let lease = lifetimeSec
    const mapOne = async (protocol: 'TCP' | 'UDP', preferred: number): Promise<number> => {
      const candidates = [preferred, ...Array.from({ length: OTHER_PORT_TRIES }, () => 1024 + Math.floor(Math.random() * (65535 - 1024)))]
      let last: unknown
      for (const external of candidates) {
        try {
          await this.#add(protocol, external, internalPort, lease)
          return external
        } catch (err) {
          last = err
          if (err instanceof UpnpError && err.code === ONLY_PERMANENT_LEASES_SUPPORTED && lease !== 0) {
            lease = 0
            await this.#add(protocol, external, internalPort, lease)
            return external
          }
          if (!(err instanceof UpnpError && err.code === CONFLICT_IN_MAPPING_ENTRY)) throw err
        }
      }
      throw last
    }
    const tcpPort = await mapOne('TCP', this.#mapped?.tcpPort ?? internalPort)
    this.#mapped = { tcpPort, udpPort: this.#mapped?.udpPort ?? tcpPort }
    const udpPort = await mapOne('UDP', this.#mapped.udpPort)
    this.#mapped = { tcpPort, udpPort }
    return { externalAddress, tcpPort, udpPort, lifetimeSec: lease }
  }

  async unmap(): Promise<void> {
    const mapped = this.#mapped
    if (!mapped) return
    this.#mapped = undefined
    // Its own short deadline: cancel() may have ended the map calls, and a stop must not wait long.
    const signal = AbortSignal.timeout(UNMAP_TIMEOUT_MS)
    await Promise.allSettled([
      this.#call('DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', mapped.tcpPort], ['NewProtocol', 'TCP']], signal),
      this.#call('DeletePortMapping', [['NewRemoteHost', ''], ['NewExternalPort', mapped.udpPort], ['NewProtocol', 'UDP']], signal),
    ])
  }

  cancel(): void {
    this.#abort.abort()
  }

  #add(protocol: 'TCP' | 'UDP', externalPort: number, internalPort: number, leaseSec: number): Promise<string> {
    return this.#call('AddPortMapping', [
      ['NewRemoteHost', ''],
      ['NewExternalPort', externalPort],
      ['NewProtocol', protocol],
      ['NewInternalPort', internalPort],
      ['NewInternalClient', this.#internalClient!],
      ['NewEnabled', 1],
      ['NewPortMappingDescription', DESCRIPTION],
      ['NewLeaseDuration', leaseSec],
    ])
  }

  async #call(action: string, args: [string, string | number][], signal: AbortSignal = this.#abort.signal): Promise<string> {
    const { serviceType, controlUrl } = this.#service
    let res: { status: number; body: string }
    try {
      res = await request(controlUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset="utf-8"', soapaction: `"${serviceType}#${action}"` },
        body: soapEnvelope(serviceType, action, args),
        signal,
      })
    } catch (err) {
      throw new UpnpError(`UPnP gateway ${this.#host}: ${action} failed: ${(err as Error).message}`)
    }
    if (res.status === 200) return res.body
    const code = Number(tag(res.body, 'errorCode'))
    const description = tag(res.body, 'errorDescription')
    throw new UpnpError(
      `UPnP gateway ${this.#host} refused ${action}: ${Number.isFinite(code) && code > 0 ? `error ${code}` : `HTTP ${res.status}`}${description ? ` ${description}` : ''}`,
      Number.isFinite(code) ? code : undefined,
    )
  }
}
