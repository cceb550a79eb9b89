// The composition root: parses the command line and runs a command.
// Every error a person can act on reaches stderr as one line, exit code 1.
import { errorMessage, FriendError } from '../core/types.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { ADD_USAGE, runAdd } from './add-command.ts'
import type { CliIo } from './io.ts'

const USAGE = `usage: friendtorrent <command> [options]

commands:
  add <file.torrent>   download a torrent in the foreground
  help                 this text
  version              print the version

${ADD_USAGE}`

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'add':
        return await runAdd(rest, io)
      case 'version':
      case '--version':
        io.out(CLIENT_VERSION)
        return 0
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE)
        return 0
      case undefined:
        io.err('friendtorrent: the dashboard is not available yet; use `friendtorrent add <file.torrent>`')
        return 2
      default:
        io.err(`friendtorrent: unknown command "${command}"; see friendtorrent help`)
        return 2
    }
  } catch (err) {
    const known = err instanceof FriendError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    io.err(`friendtorrent: ${errorMessage(err)}`)
    if (!known && io.env.FRIENDTORRENT_DEBUG) io.err(String((err as Error).stack))
    return 1
  }
}
