// Local Service Discovery between two of our clients, for real: each runs in
// its own network namespace, the two joined by one veth pair (a LAN with a
// multicast route), with no tracker and no DHT. One seeds (`add --seed`), the
// other downloads (`add`), and the only way it can learn the seeder's address
// is the seeder's BEP 14 announce. The download is compared byte for byte
// with the bytes the torrent was made from; the same with libtorrent (qBittorrent's
// engine) as the seeder with its LSD on; a private torrent is never announced.
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CLI_PATH, describeRun, isolatedEnv, REPO_ROOT } from '../helpers/cli.ts'
import { ManagedProcess, exitWithin } from '../helpers/managed-process.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'
import { canMakeNamespaces, inNs, Namespaces, run } from '../helpers/netns.ts'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import bencode from 'bencode'

const skip = (await canMakeNamespaces()) ? false : 'needs root and ip netns'

/** Two hosts on one LAN segment: 10.78.0.1 and 10.78.0.2, multicast routed onto the link. */
async function lan(ns: Namespaces, tag: string): Promise<[string, string]> {
  const a = await ns.add(`ft-natlsd-${tag}-a`)
  const b = await ns.add(`ft-natlsd-${tag}-b`)
  await ns.link(a, 'eth0', '10.78.0.1/24', b, 'eth0', '10.78.0.2/24')
  for (const n of [a, b]) await run('ip', ['-n', n, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'])
  return [a, b]
}

function home(root: string, name: string): string {
  const dir = join(root, name)
  mkdirSync(join(dir, '.config', 'friendtorrent'), { recursive: true })
  writeFileSync(join(dir, '.config', 'friendtorrent', 'config.json'), JSON.stringify({ dht: false, portForwarding: false, lsd: true, listenPort: 6881 }))
  return dir
}

function cliIn(ns: string, name: string, homeDir: string, args: string[]): ManagedProcess {
  return new ManagedProcess(name, 'ip', ['netns', 'exec', ns, process.execPath, CLI_PATH, ...args], { env: isolatedEnv(homeDir), cwd: REPO_ROOT })
}

test('LSD: a leecher with no tracker and no DHT finds our seeder on the LAN and downloads byte for byte', { skip, timeout: 180_000 }, async () => {
  const ns = new Namespaces()
  const work = tempDir('natlsd-lsd')
  const procs: ManagedProcess[] = []
  try {
    const [a, b] = await lan(ns, 'lsd')
    const built = buildTorrent({ name: 'lan.bin', files: 3 * 1024 * 1024 + 123, pieceLength: 256 * 1024, seed: 14 })
    const torrentPath = join(work.path, 'lan.torrent')
    writeFileSync(torrentPath, built.torrent)
    const seedData = join(work.path, 'seed-data')
    mkdirSync(seedData)
    writeFileSync(join(seedData, 'lan.bin'), built.payload)
    const out = join(work.path, 'out')

    const seeder = cliIn(a, 'seeder', home(work.path, 'a'), ['add', torrentPath, '-o', seedData, '--seed'])
    procs.push(seeder)
    await waitUntil(() => /seeding/i.test(seeder.logs()) || !seeder.running, 30_000, `the seeder to seed:\n${seeder.tail()}`)
    assert.ok(seeder.running, seeder.tail())

    const leecher = cliIn(b, 'leecher', home(work.path, 'b'), ['add', torrentPath, '-o', out])
    procs.push(leecher)
    const code = await exitWithin(leecher.exited, 120_000)
    assert.equal(code, 0, `the leecher finished: ${leecher.tail(30)}\n${seeder.tail()}`)
    const got = await readFile(join(out, 'lan.bin'))
    assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(built.payload).digest('hex'), 'byte for byte')
    assert.equal(got.length, built.payload.length)
  } finally {
    for (const p of procs) await p.stop()
    await ns.delete()
    await work.cleanup()
  }
})

/** Every BEP 14 message heard in namespace `ns` on 6771, one JSON line each (a plain listener, not our code). */
function sniffer(ns: string): ManagedProcess {
  const script = `
    const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true })
    s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, text: m.toString('latin1') }) + '\\n'))
    s.bind(6771, () => { s.addMembership('239.192.152.143'); process.stdout.write('listening\\n') })`
  return new ManagedProcess('sniffer', 'ip', ['netns', 'exec', ns, process.execPath, '-e', script], { env: process.env, cwd: REPO_ROOT })
}

test('LSD: a private torrent is never announced; a public one beside it is', { skip, timeout: 120_000 }, async () => {
  const ns = new Namespaces()
  const work = tempDir('natlsd-lsdpriv')
  const procs: ManagedProcess[] = []
  try {
    const [a, b] = await lan(ns, 'lsdp')
    const pub = buildTorrent({ name: 'pub.bin', files: 100_000, pieceLength: 16384, seed: 3 })
    const privInfo = { ...(bencode.decode(buildTorrent({ name: 'priv.bin', files: 100_000, pieceLength: 16384, seed: 4 }).torrent) as { info: Record<string, unknown> }).info, private: 1 }
    const privHash = createHash('sha1').update(bencode.encode(privInfo)).digest('hex')
    const data = join(work.path, 'data')
    mkdirSync(data)
    writeFileSync(join(data, 'pub.bin'), pub.payload)
    writeFileSync(join(data, 'priv.bin'), buildTorrent({ name: 'priv.bin', files: 100_000, pieceLength: 16384, seed: 4 }).payload)
    writeFileSync(join(work.path, 'pub.torrent'), pub.torrent)
    writeFileSync(join(work.path, 'priv.torrent'), bencode.encode({ info: privInfo }))
    const sniff = sniffer(b)
    procs.push(sniff)
    await waitUntil(() => /listening/.test(sniff.logs()), 10_000, `the sniffer:\n${sniff.tail()}`)

    const priv = cliIn(a, 'private seeder', home(work.path, 'priv'), ['add', join(work.path, 'priv.torrent'), '-o', data, '--seed'])
    procs.push(priv)
    await waitUntil(() => /seeding/i.test(priv.logs()) || !priv.running, 30_000, `the private seeder:\n${priv.tail()}`)
    assert.ok(priv.running, priv.tail())
    const pubSeed = cliIn(a, 'public seeder', home(work.path, 'pub'), ['add', join(work.path, 'pub.torrent'), '-o', data, '--seed'])
    procs.push(pubSeed)
    const pubHash = pub.infoHash.toString('hex')
    await waitUntil(() => sniff.logs().includes(`Infohash: ${pubHash}`), 30_000, `the public torrent's announce:\n${sniff.tail()}`)
    const heard = sniff.logs()
    assert.match(heard, /BT-SEARCH \* HTTP\/1\.1\\r\\nHost: 239\.192\.152\.143:6771\\r\\nPort: \d+\\r\\n/, 'a BEP 14 announce')
    assert.ok(!heard.includes(privHash), `the private torrent was announced:\n${heard}`)
  } finally {
    for (const p of procs) await p.stop()
    await ns.delete()
    await work.cleanup()
  }
})

/** libtorrent (qBittorrent's engine, Debian's python3-libtorrent) seeding `torrentPath` from `dataDir` with LSD on and DHT, UPnP, NAT-PMP off. */
function libtorrentSeeder(ns: string, torrentPath: string, dataDir: string): ManagedProcess {
  const script = [
    'import libtorrent as lt, sys, time',
    "s = lt.session({'listen_interfaces': '0.0.0.0:6881', 'enable_dht': False, 'enable_lsd': True, 'enable_upnp': False, 'enable_natpmp': False,",
    "  'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.peer_notification})",
    `h = s.add_torrent({'ti': lt.torrent_info(${JSON.stringify(torrentPath)}), 'save_path': ${JSON.stringify(dataDir)}})`,
    'while True:',
    '    st = h.status()',
    "    print('state', st.state, 'seeding' if st.is_seeding else '', 'peers', st.num_peers, 'lsd peers', sum(1 for p in h.get_peer_info() if p.source & lt.peer_info.lsd), flush=True)",
    '    for a in s.pop_alerts(): print(a.message(), flush=True)',
    '    time.sleep(0.5)',
  ].join('\n')
  return new ManagedProcess('libtorrent seeder', 'ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', script], { env: process.env, cwd: REPO_ROOT })
}

const noLibtorrent = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import libtorrent'], { stdio: 'ignore' })
    return false
  } catch {
    return 'needs python3-libtorrent'
  }
})()

test('LSD with libtorrent (qBittorrent\'s engine, LSD on): it seeds, our leecher with no tracker or DHT finds it and downloads byte for byte', { skip: skip || noLibtorrent, timeout: 180_000 }, async () => {
  const ns = new Namespaces()
  const work = tempDir('natlsd-lsdlt')
  const procs: ManagedProcess[] = []
  try {
    const [a, b] = await lan(ns, 'lsdlt')
    const built = buildTorrent({ name: 'lt.bin', files: 2 * 1024 * 1024 + 77, pieceLength: 256 * 1024, seed: 41 })
    const torrentPath = join(work.path, 'lt.torrent')
    writeFileSync(torrentPath, built.torrent)
    const seedData = join(work.path, 'seed-data')
    mkdirSync(seedData)
    writeFileSync(join(seedData, 'lt.bin'), built.payload)
    const seeder = libtorrentSeeder(a, torrentPath, seedData)
    procs.push(seeder)
    await waitUntil(() => / seeding /.test(seeder.logs()) || !seeder.running, 30_000, `libtorrent to seed:\n${seeder.tail()}`)
    assert.ok(seeder.running, seeder.tail())

    const out = join(work.path, 'out')
    const leecher = cliIn(b, 'leecher', home(work.path, 'b'), ['add', torrentPath, '-o', out])
    procs.push(leecher)
    const code = await exitWithin(leecher.exited, 120_000)
    assert.equal(code, 0, `the leecher finished: ${leecher.tail(30)}\n${seeder.tail()}`)
    const got = await readFile(join(out, 'lt.bin'))
    assert.equal(createHash('sha1').update(got).digest('hex'), createHash('sha1').update(built.payload).digest('hex'), 'byte for byte')
  } finally {
    for (const p of procs) await p.stop()
    await ns.delete()
    await work.cleanup()
  }
})
