// Port forwarding for real, against Debian's miniupnpd in namespaces made here:
// our `seed` runs in a client namespace behind a router namespace running
// miniupnpd, with an empty "internet" namespace on the router's WAN side.
// UPnP IGD: the mapping (TCP and UDP, to our listen port) is in `upnpc -l`
// and in the router's nftables while we run, a connection from the internet to
// the external address reaches our listener, `status --json` names the
// external address, and SIGTERM deletes the mapping. NAT-PMP the same with
// miniupnpd's UPnP off. A router that answers neither costs one log line and
// never delays the session.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type { StatusReport } from '../../src/cli/status-command.ts'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT, runCli } from '../helpers/cli.ts'
import { ManagedProcess } from '../helpers/managed-process.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import type { TempDir } from '../helpers/net.ts'
import { canMakeNamespaces, homeNetwork, inNs, miniupnpdConfig, MINIUPNPD_NFT, Namespaces } from '../helpers/netns.ts'
import type { HomeNetwork } from '../helpers/netns.ts'

const LISTEN_PORT = 6881
const skip = (await canMakeNamespaces()) ? false : 'needs root and ip netns'

interface Rig {
  ns: Namespaces
  net: HomeNetwork
  work: TempDir
  home: string
  router?: ManagedProcess
  seed?: ManagedProcess
}

async function makeRig(tag: string, router: { upnp: boolean; natpmp: boolean } | undefined): Promise<Rig> {
  const ns = new Namespaces()
  const work = tempDir(`natlsd-${tag}`)
  const rig: Rig = { ns, work, home: join(work.path, 'home'), net: undefined as unknown as HomeNetwork }
  try {
    rig.net = await homeNetwork(ns, tag)
    if (router) {
      await inNs(rig.net.router, 'nft', ['-f', '-'], MINIUPNPD_NFT)
      const conf = join(work.path, 'miniupnpd.conf')
      writeFileSync(conf, miniupnpdConfig({ ...router, lan: '10.77.0.0/24' }))
      rig.router = new ManagedProcess('miniupnpd', 'ip', ['netns', 'exec', rig.net.router, 'miniupnpd', '-f', conf, '-d', '-P', join(work.path, 'miniupnpd.pid')], { env: process.env, cwd: work.path })
      const ready = router.natpmp ? /Listening for NAT-PMP/ : /HTTP listening on port/
      await waitUntil(() => ready.test(rig.router!.logs()), 10_000, `miniupnpd to start:\n${rig.router.tail()}`)
    }
    mkdirSync(join(rig.home, '.config', 'friendtorrent'), { recursive: true })
    writeFileSync(join(rig.home, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, lsd: false, portForwarding: true, listenPort: LISTEN_PORT }))
  } catch (err) {
    await dropRig(rig)
    throw err
  }
  return rig
}

async function dropRig(rig: Rig): Promise<void> {
  await rig.seed?.stop()
  await rig.router?.stop()
  await rig.ns.delete()
  await rig.work.cleanup()
}

function startSeed(rig: Rig): ManagedProcess {
  rig.seed = new ManagedProcess('friendtorrent seed', 'ip', ['netns', 'exec', rig.net.client, process.execPath, CLI_PATH, 'seed'], { env: isolatedEnv(rig.home), cwd: REPO_ROOT })
  return rig.seed
}

async function status(rig: Rig): Promise<StatusReport> {
  const run = await runCli(['status', '--json'], { timeoutMs: 20_000, homeDir: rig.home })
  assert.equal(run.code, 0, describeRun(run))
  return JSON.parse(run.stdout) as StatusReport
}

/** The router's DNAT rules for our client, as nftables lists them. */
async function natRules(rig: Rig): Promise<string> {
  return inNs(rig.net.router, 'nft', ['list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd'])
}

/** miniupnpd writes the IP protocol number as a raw match: `@nh,72,8 0x6` is TCP, `0x11` UDP. */
function forwards(rules: string, protocol: 'tcp' | 'udp', port: number): boolean {
  const number = protocol === 'tcp' ? '0x6' : '0x11'
  return new RegExp(`@nh,72,8 ${number} th dport ${port} dnat (ip )?to 10\\.77\\.0\\.2:${LISTEN_PORT}\\b`).test(rules)
}

/** A TCP connection from the internet namespace to the router's external address reaches our listener. */
async function reachableFromOutside(rig: Rig, port: number): Promise<boolean> {
  try {
    await inNs(rig.net.wan, 'timeout', ['5', 'bash', '-c', `exec 3<>/dev/tcp/${rig.net.routerWan}/${port}`])
    return true
  } catch {
    return false
  }
}

/** Runs `fn` on a fresh rig, always dropped after (namespaces, miniupnpd, our seed), pass or fail. */
async function withRig(tag: string, router: { upnp: boolean; natpmp: boolean } | undefined, fn: (rig: Rig) => Promise<void>): Promise<void> {
  const rig = await makeRig(tag, router)
  try {
    await fn(rig)
  } finally {
    await dropRig(rig)
  }
}

describe('port forwarding against miniupnpd', { skip, concurrency: false }, () => {
  test('UPnP IGD: mapped over TCP and UDP while we run (upnpc -l, nftables, a connection from outside, status), deleted on SIGTERM', { timeout: 120_000 }, async () => {
    await withRig('upnp', { upnp: true, natpmp: false }, async (rig) => {
      assert.equal(await reachableFromOutside(rig, LISTEN_PORT), false, 'nothing is forwarded before we run')
      const seed = startSeed(rig)
      await waitUntil(() => /port forwarding: UPnP maps/.test(seed.logs()), 30_000, `the UPnP mapping:\n${seed.tail()}`)
      assert.match(seed.logs(), new RegExp(`UPnP maps 5\\.6\\.7\\.1:${LISTEN_PORT} \\(TCP\\) and :${LISTEN_PORT} \\(UDP\\) to port ${LISTEN_PORT}`))

      const listed = await inNs(rig.net.client, 'upnpc', ['-l'])
      assert.match(listed, new RegExp(`TCP\\s+${LISTEN_PORT}->10\\.77\\.0\\.2:${LISTEN_PORT}\\s+'friendtorrent'`), listed)
      assert.match(listed, new RegExp(`UDP\\s+${LISTEN_PORT}->10\\.77\\.0\\.2:${LISTEN_PORT}\\s+'friendtorrent'`), listed)
      assert.match(listed, /ExternalIPAddress = 5\.6\.7\.1/)
      const rules = await natRules(rig)
      assert.ok(forwards(rules, 'tcp', LISTEN_PORT) && forwards(rules, 'udp', LISTEN_PORT), rules)
      assert.equal(await reachableFromOutside(rig, LISTEN_PORT), true, 'a connection to 5.6.7.1 reaches our listener through the mapping')

      const s = await status(rig)
      assert.deepEqual(s.portForwarding, { state: 'mapped', method: 'UPnP', externalAddress: '5.6.7.1', externalTcpPort: LISTEN_PORT, externalUdpPort: LISTEN_PORT })
      const human = await runCli(['status'], { timeoutMs: 20_000, homeDir: rig.home })
      assert.match(human.stdout, /port forwarding: UPnP maps 5\.6\.7\.1:6881 \(TCP\), :6881 \(UDP\)/)

      await seed.stop()
      assert.equal(await seed.exited, 0, seed.tail())
      const afterStop = await inNs(rig.net.client, 'upnpc', ['-l'])
      assert.doesNotMatch(afterStop, /friendtorrent/, afterStop)
      assert.equal(forwards(await natRules(rig), 'tcp', LISTEN_PORT), false)
      assert.doesNotMatch(seed.logs(), /warning: port forwarding/, 'no failure line when a mapping was made')
    })
  })

  test('NAT-PMP (miniupnpd with UPnP off): mapped while we run, reachable from outside, deleted on SIGTERM', { timeout: 120_000 }, async () => {
    await withRig('natpmp', { upnp: false, natpmp: true }, async (rig) => {
      const seed = startSeed(rig)
      await waitUntil(() => /port forwarding: NAT-PMP maps/.test(seed.logs()), 30_000, `the NAT-PMP mapping:\n${seed.tail()}`)
      assert.match(seed.logs(), new RegExp(`NAT-PMP maps 5\\.6\\.7\\.1:${LISTEN_PORT} \\(TCP\\) and :${LISTEN_PORT} \\(UDP\\)`))
      const rules = await natRules(rig)
      assert.ok(forwards(rules, 'tcp', LISTEN_PORT) && forwards(rules, 'udp', LISTEN_PORT), rules)
      assert.equal(await reachableFromOutside(rig, LISTEN_PORT), true)
      const s = await status(rig)
      assert.equal(s.portForwarding?.method, 'NAT-PMP')
      assert.equal(s.portForwarding?.externalAddress, '5.6.7.1')
      await seed.stop()
      assert.equal(await seed.exited, 0, seed.tail())
      const left = await natRules(rig)
      assert.equal(forwards(left, 'tcp', LISTEN_PORT) || forwards(left, 'udp', LISTEN_PORT), false, left)
    })
  })

  test('a router that answers neither: one log line, the session runs and stops at once', { timeout: 120_000 }, async () => {
    await withRig('silent', undefined, async (rig) => {
      const seed = startSeed(rig)
      await waitUntil(() => /session on port/.test(seed.logs()), 20_000, `the session to start:\n${seed.tail()}`)
      await waitUntil(() => /port forwarding/.test(seed.logs()), 30_000, `the port forwarding line:\n${seed.tail()}`)
      const lines = seed.logs().split('\n').filter((l) => /port forwarding/.test(l))
      assert.equal(lines.length, 1, lines.join('\n'))
      assert.match(lines[0], /warning: port forwarding: no router mapped port 6881 \(UPnP: no gateway answered the search; NAT-PMP: gateway 10\.77\.0\.1 does not speak it/)
      assert.equal((await status(rig)).portForwarding?.state, 'failed')
      const stopping = Date.now()
      await seed.stop()
      assert.equal(await seed.exited, 0, seed.tail())
      assert.ok(Date.now() - stopping < 5000, 'stopping is not held up by the router')
    })
  })
})
