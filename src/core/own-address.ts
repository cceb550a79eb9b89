// Which peer addresses are this very client: our listen port on an address
// our listener accepts on. Candidates from any source (trackers list us too,
// PEX and LSD may echo us back) are checked against it before they are
// dialled, so no connection to ourselves is ever made. Reads the machine's
// interface list (os.networkInterfaces); no sockets.
import { isIPv4, isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { canonicalHost } from './address.ts'

/** Answers whether `host:port` is where we accept peers. */
export type OwnAddressCheck = (host: string, port: number) => boolean

/**
 * `listenHost` is the address the listener is bound to: undefined, '', 0.0.0.0
 * or :: mean every address of this machine (loopback included: all of
 * 127.0.0.0/8 reaches us). `listenPort` 0 means we accept no one: nothing is us.
 */
export function ownAddressCheck(listenPort: number, listenHost?: string): OwnAddressCheck {
  if (!listenPort) return () => false
  const bound = listenHost ? canonicalHost(listenHost) : ''
  const everywhere = bound === '' || bound === '0.0.0.0' || bound === '::'
  return (host, port) => {
    if (port !== listenPort) return false
    const h = canonicalHost(host)
    if (!everywhere) return h === bound
    return isLocalAddress(h)
  }
}

/** An address of one of this machine's interfaces, or any loopback address. */
export function isLocalAddress(host: string): boolean {
  if (isIPv4(host) && host.startsWith('127.')) return true
  if (host === '::1' || host === '0.0.0.0' || host === '::') return true
  if (!isIPv4(host) && !isIPv6(host)) return false
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (canonicalHost(a.address.replace(/%.*$/, '')) === host) return true
  }
  return false
}
