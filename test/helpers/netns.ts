// Network namespaces a test makes and deletes: a small home network of a
// router namespace with a LAN veth to one or two client namespaces and a WAN
// veth to an empty "internet" namespace, or two hosts on one LAN segment.
// The addresses (10.x inside, a public-looking one on the router's WAN side,
// which miniupnpd requires) live only inside these namespaces. Names carry
// the branch and a tag so parallel tests never collide; delete() removes all
// of them (and with them every veth and route), also after a failed set-up.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await exec(cmd, args, { timeout: 20_000 })
    return stdout
  }
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)))
    child.stdin?.end(input)
  })
}

/** Runs a command inside namespace `ns`. */
export function inNs(ns: string, cmd: string, args: string[], input?: string): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input)
}

/** Whether this machine lets us make namespaces (root and `ip netns`). */
export async function canMakeNamespaces(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false
  try {
    await run('ip', ['netns', 'list'])
    return true
  } catch {
    return false
  }
}

export class Namespaces {
  readonly #names: string[] = []

  /** Makes `name` (deleting a stale one of the same name first) with lo up. */
  async add(name: string): Promise<string> {
    await run('ip', ['netns', 'del', name]).catch(() => {})
    await run('ip', ['netns', 'add', name])
    this.#names.push(name)
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    return name
  }

  /** A veth pair from `a` (named `ifA`) to `b` (named `ifB`), both up with the given CIDR addresses. */
  async link(a: string, ifA: string, addrA: string, b: string, ifB: string, addrB: string): Promise<void> {
    await run('ip', ['-n', a, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b])
    await run('ip', ['-n', a, 'addr', 'add', addrA, 'dev', ifA])
    await run('ip', ['-n', b, 'addr', 'add', addrB, 'dev', ifB])
    await run('ip', ['-n', a, 'link', 'set', ifA, 'up'])
    await run('ip', ['-n', b, 'link', 'set', ifB, 'up'])
  }

  async delete(): Promise<void> {
    for (const name of this.#names.splice(0)) await run('ip', ['netns', 'del', name]).catch(() => {})
  }
}

export interface HomeNetwork {
  router: string
  client: string
  wan: string
  routerLan: string
  clientAddress: string
  routerWan: string
}

/**
 * router (lan0 10.77.0.1, wan0 5.6.7.1) ── client (eth0 10.77.0.2, default via the router)
 *                                  └──── wan (eth0 5.6.7.2): the "internet", for checking a forwarded port.
 */
export async function homeNetwork(ns: Namespaces, tag: string): Promise<HomeNetwork> {
  const router = await ns.add(`ft-natlsd-${tag}-router`)
  const client = await ns.add(`ft-natlsd-${tag}-client`)
  const wan = await ns.add(`ft-natlsd-${tag}-wan`)
  await ns.link(router, 'lan0', '10.77.0.1/24', client, 'eth0', '10.77.0.2/24')
  await ns.link(router, 'wan0', '5.6.7.1/24', wan, 'eth0', '5.6.7.2/24')
  await run('ip', ['-n', client, 'route', 'add', 'default', 'via', '10.77.0.1'])
  await inNs(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  return { router, client, wan, routerLan: '10.77.0.1', clientAddress: '10.77.0.2', routerWan: '5.6.7.1' }
}

/**
 * The nftables chains miniupnpd fills (Debian's nft_init.sh does not run as
 * shipped): one inet table for filter and NAT, as miniupnpd.conf names it.
 */
export const MINIUPNPD_NFT = `table inet filter {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`

export function miniupnpdConfig(opts: { upnp: boolean; natpmp: boolean; lan: string }): string {
  return [
    'ext_ifname=wan0',
    'listening_ip=lan0',
    'port=0',
    `enable_upnp=${opts.upnp ? 'yes' : 'no'}`,
    `enable_natpmp=${opts.natpmp ? 'yes' : 'no'}`,
    'secure_mode=yes',
    'system_uptime=yes',
    'upnp_table_name=filter',
    'upnp_nat_table_name=filter',
    'upnp_forward_chain=miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    'uuid=3c5f2f8e-6a1b-4d7e-9b1a-0a7a15d00001',
    `allow 1024-65535 ${opts.lan} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n')
}
