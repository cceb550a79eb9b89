// `friendtorrent ban|unban|bans|peer`: the library's ban list and a running
// torrent's peers. Sent to the running session over its control socket (a ban
// closes the address's connections at once); with no session running the ban
// list in the library is changed directly and the next session applies it.
// Adding or disconnecting a peer needs a running session.
import { FriendError } from '../core/types.ts'
import { parseCommandLine } from './command-line.ts'
import type { CliIo } from './io.ts'
import { inSession, openStore } from './library-commands.ts'

export const PEER_USAGE = `usage: friendtorrent ban <ip>        ban an address in every torrent (kept in the library)
       friendtorrent unban <ip>
       friendtorrent bans [--json]
       friendtorrent peer <torrent> add <HOST:PORT>…
       friendtorrent peer <torrent> disconnect <HOST:PORT>`

function parse(command: string, argv: string[]) {
  return parseCommandLine(command, { args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
}

export async function runBanCommand(command: 'ban' | 'unban' | 'bans', argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(command, argv)
  if (values.help) {
    io.out(PEER_USAGE)
    return 0
  }
  if (command === 'bans') {
    if (positionals.length > 0) throw new FriendError('bans takes no arguments; see friendtorrent bans --help')
    const bans = ((await inSession(io, 'bans', {})) as string[] | undefined) ?? (await openStore(io)).bans()
    if (values.json) io.out(JSON.stringify(bans))
    else if (bans.length === 0) io.out('no banned addresses')
    else for (const b of bans) io.out(b)
    return 0
  }
  if (positionals.length !== 1) throw new FriendError(`usage: friendtorrent ${command} <ip>`)
  const address = positionals[0]
  const result = await inSession(io, command, { address })
  if (result !== undefined) {
    if (command === 'ban') {
      const r = result as { address: string; closed: number }
      io.out(`banned ${r.address}${r.closed ? `; closed ${r.closed} connection${r.closed === 1 ? '' : 's'}` : ''}`)
    } else io.out((result as { wasBanned: boolean }).wasBanned ? `unbanned ${address}` : `${address} was not banned`)
    return 0
  }
  const store = await openStore(io)
  if (command === 'ban') io.out(`banned ${await store.ban(address)} (no session running: the library is updated)`)
  else io.out((await store.unban(address)) ? `unbanned ${address} (no session running: the library is updated)` : `${address} was not banned`)
  await store.flush()
  return 0
}

export async function runPeer(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('peer', argv)
  if (values.help) {
    io.out(PEER_USAGE)
    return 0
  }
  const [id, action, ...addresses] = positionals
  if (!id || (action !== 'add' && action !== 'disconnect') || addresses.length === 0 || (action === 'disconnect' && addresses.length > 1)) {
    throw new FriendError('usage: friendtorrent peer <torrent> add <HOST:PORT>… | peer <torrent> disconnect <HOST:PORT>')
  }
  const result = action === 'add' ? await inSession(io, 'add-peers', { id, peers: addresses }) : await inSession(io, 'disconnect', { id, peer: addresses[0] })
  if (result === undefined) throw new FriendError(`no session is running: peers can only be ${action === 'add' ? 'added to' : 'disconnected from'} a running torrent (friendtorrent add --peer HOST:PORT starts one with them)`)
  io.out(action === 'add' ? `added ${addresses.length} peer${addresses.length === 1 ? '' : 's'} to ${id}` : `disconnected ${addresses[0]}`)
  return 0
}
