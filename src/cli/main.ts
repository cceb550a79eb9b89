// The composition root: parses the command line and runs a command.
// Every error a person can act on reaches stderr as one line, exit code 1,
// a mistyped command or option included (README: Exit codes).
import { errorMessage, FriendError } from '../core/types.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { optimizeFromNowOn, withoutOptimizer } from '../core/optimizer.ts'
import type { CliIo } from './io.ts'

/** A command's modules, loaded with V8's TurboFan held back (core/optimizer.ts). */
const load = withoutOptimizer

/**
 * The help text. Each command's own usage lives in its module, and main loads a command's
 * module only when that command runs (so `add` does not hold `create`'s code, issue 15):
 * help loads them all.
 */
async function usage(): Promise<string> {
  const [
    { ADD_USAGE },
    { SEED_USAGE },
    { SHARE_USAGE },
    { LIBRARY_USAGE },
    { PEER_USAGE },
    { STATUS_USAGE },
    { INFO_USAGE },
    { CREATE_USAGE },
    { TRACKER_USAGE },
    { CRAWL_USAGE },
  ] = await load(() => Promise.all([
    import('./add-command.ts'),
    import('./seed-command.ts'),
    import('./share-command.ts'),
    import('./library-commands.ts'),
    import('./peer-commands.ts'),
    import('./status-command.ts'),
    import('./info-command.ts'),
    import('./create-command.ts'),
    import('./tracker-command.ts'),
    import('./crawl-command.ts'),
  ]))
  return `usage: friendtorrent [<command>] [options]

  With no command: the dashboard (needs a terminal; ? inside lists the keys)
      --debug          show a log pane
      --mode M         which torrents run in a session the dashboard owns:
                       seeding (complete ones only), downloading, or all (default)
      --path DIR       save folder for torrents added from the dashboard
      --no-mouse       leave clicks and drags to the terminal (config \`mouse\`)

commands:
  add <torrent>        hand a .torrent (file or http(s) link), magnet or info hash to the
                       running session, or download it into the library in the foreground
  seed [--download]    run the library headless (seed; --download also downloads; --pid-file PATH)
  list [--json]        the library, from the running session or the state folder
  status [--json]      the session: rates, limits, peers, DHT nodes, port, free space
  pause|resume|verify|remove|queue <torrent>   act on one torrent
  limit [--up N] [--down N] [<torrent>]        rate limits in KiB/s, now
  files <torrent> [--json]                     its files with their priorities
  info <torrent> [--json]                      what a .torrent, magnet or library torrent holds
  priority <torrent> <N,…|all> skip|low|normal|high   choose what to download
  ban|unban <ip>, bans                         the library's banned peer addresses
  peer <torrent> add|disconnect <HOST:PORT>    a running torrent's peers
  create <path>        make a .torrent of a file or folder and print its magnet link
  share <path>         create it, add it for seeding and print the magnet link
  tracker              run a small HTTP + UDP tracker for friends
  crawl                index the DHT (BEP 51 sampling, metadata fetch) until stopped
  search <words…>      search the index (needs a crawl first; search --help for the options)
  help                 this text
  version              print the version

${ADD_USAGE}

${SEED_USAGE}

${SHARE_USAGE}

${LIBRARY_USAGE}

${PEER_USAGE}

${STATUS_USAGE}
${INFO_USAGE}

${CREATE_USAGE}

${TRACKER_USAGE}

${CRAWL_USAGE}`
}

/** The dashboard loads Ink and React only when it is asked for. */
async function dashboard(argv: string[], io: CliIo): Promise<number> {
  // React's production build: its development checks cost the engine CPU on every redraw.
  process.env.NODE_ENV ??= 'production'
  // Ink draws only a last frame when CI is set (is-in-ci, read as Ink loads). On a real
  // terminal a person is watching, CI or not: a shell inside a CI job gets the dashboard too.
  if (io.isTTY && process.stdin.isTTY) {
    delete process.env.CI
    delete process.env.CONTINUOUS_INTEGRATION
  }
  const { runDashboard } = await import('./dashboard-command.ts')
  return runDashboard(argv, io, main)
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  // Each command's module is import()ed as it runs: `--version` and `list` do not load the
  // session, and `add` not `create`'s code (issue 15, README "Memory").
  try {
    switch (command) {
      case 'add':
        return await (await load(() => import('./add-command.ts'))).runAdd(rest, io)
      case 'seed':
        return await (await load(() => import('./seed-command.ts'))).runSeed(rest, io)
      case 'list':
        return await (await load(() => import('./library-commands.ts'))).runList(rest, io)
      case 'status':
        return await (await load(() => import('./status-command.ts'))).runStatus(rest, io)
      case 'pause':
      case 'resume':
      case 'verify':
      case 'remove':
      case 'queue':
        return await (await load(() => import('./library-commands.ts'))).runLibraryCommand(command, rest, io)
      case 'limit':
        return await (await load(() => import('./library-commands.ts'))).runLimit(rest, io)
      case 'files':
        return await (await load(() => import('./library-commands.ts'))).runFiles(rest, io)
      case 'info':
        return await (await load(() => import('./info-command.ts'))).runInfo(rest, io)
      case 'priority':
        return await (await load(() => import('./library-commands.ts'))).runPriority(rest, io)
      case 'ban':
      case 'unban':
      case 'bans':
        return await (await load(() => import('./peer-commands.ts'))).runBanCommand(command, rest, io)
      case 'peer':
        return await (await load(() => import('./peer-commands.ts'))).runPeer(rest, io)
      case 'create':
        optimizeFromNowOn()
        return await (await load(() => import('./create-command.ts'))).runCreate(rest, io)
      case 'share':
        return await (await load(() => import('./share-command.ts'))).runShare(rest, io)
      case 'tracker':
        optimizeFromNowOn()
        return await (await load(() => import('./tracker-command.ts'))).runTracker(rest, io)
      case 'crawl':
        optimizeFromNowOn()
        return await (await load(() => import('./crawl-command.ts'))).runCrawl(rest, io)
      case 'search': {
        // The index (and its database driver) loads only for the commands that use it.
        optimizeFromNowOn()
        const { runSearch } = await load(() => import('./search-command.ts'))
        return await runSearch(rest, io)
      }
      case 'version':
      case '--version':
        io.out(CLIENT_VERSION)
        return 0
      case 'help':
      case '--help':
      case '-h':
        io.out(await usage())
        return 0
      case undefined:
        return await dashboard(rest, io)
      default:
        if (command.startsWith('-')) return await dashboard(argv, io)
        io.err(`friendtorrent: unknown command "${command}"; see friendtorrent help`)
        return 1
    }
  } catch (err) {
    const known = err instanceof FriendError
    // An unexpected error's message may run over several lines; a person gets one.
    io.err(`friendtorrent: ${errorMessage(err).replace(/\s*\n\s*/g, ' ')}`)
    if (!known && io.env.FRIENDTORRENT_DEBUG) io.err(String((err as Error).stack))
    return 1
  }
}
