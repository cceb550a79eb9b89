// `friendtorrent share <path>`: makes a torrent of a file or folder, adds it to
// the library as something to seed from where it lies, and prints the magnet
// link, in one step. With a session running it starts seeding at once;
// otherwise the next `friendtorrent seed` checks it and seeds it.
import { dirname, resolve } from 'node:path'
import { parseCommandLine } from './command-line.ts'
import { FriendError } from '../core/types.ts'
import { magnetUri } from '../metainfo/magnet.ts'
import { StateStore } from '../session/state-store.ts'
import { loadConfig, paths, resolveStateDir } from './config.ts'
import { ControlClient } from './control-client.ts'
import { checkTrackerUrl, createTorrentFile, parsePieceLength } from './create-command.ts'
import type { CliIo } from './io.ts'
import { controlSocketPath } from './session-control.ts'

export const SHARE_USAGE = `usage: friendtorrent share <file-or-folder> [--tracker URL ...] [--piece-length N] [--private]

  Makes its torrent, adds it to the library for seeding and prints the magnet link.`

export async function runShare(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('share', {
    args: argv,
    allowPositionals: true,
    options: { tracker: { type: 'string', multiple: true }, 'piece-length': { type: 'string' }, private: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    io.out(SHARE_USAGE)
    return 0
  }
  if (positionals.length !== 1) throw new FriendError(`share takes one file or folder, got ${positionals.length}; see friendtorrent share --help`)
  const source = resolve(io.cwd, positionals[0])
  const created = await createTorrentFile(source, {
    trackers: (values.tracker ?? []).map(checkTrackerUrl),
    pieceLength: values['piece-length'] === undefined ? undefined : parsePieceLength(values['piece-length']),
    private: Boolean(values.private),
  })
  const { meta, bytes } = created
  // The data stays where it is: the save folder is the one that holds it.
  const savePath = dirname(source)
  const where = paths(io.env)
  const stateDir = resolveStateDir(await loadConfig(where.configFile), io.env, io.cwd)
  const session = await ControlClient.connect(controlSocketPath(stateDir))
  if (session) {
    try {
      await session.call('add', { torrentBase64: bytes.toString('base64'), savePath })
    } finally {
      session.close()
    }
    io.out(`sharing ${meta.name} in the running session`)
  } else {
    const store = await StateStore.open(stateDir)
    const position = Math.max(-1, ...store.list().map((e) => e.queuePosition)) + 1
    const { added } = await store.add(
      { infoHash: meta.infoHashHex, name: meta.name, savePath, state: 'queued', uploadedBytes: 0, downloadedBytes: 0, addedAtMs: Date.now(), queuePosition: position },
      bytes,
    )
    await store.flush()
    io.out(`${added ? 'added' : 'already in the library:'} ${meta.name}; no session is running: \`friendtorrent seed\` shares it`)
  }
  io.out(magnetUri({ infoHashHex: meta.infoHashHex, infoHashV2: meta.v2?.infoHash, v1: meta.hasV1, name: meta.name, tiers: meta.announce }))
  return 0
}
