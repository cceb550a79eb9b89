// `friendtorrent create <path>`: makes a .torrent of a file or folder to share
// with friends and prints its magnet link last on stdout. Every input problem
// is found before hashing starts; a torrent is written only after it parses
// back with our own parser, never over an existing file unless --force.
import { access, constants, lstat, readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { writeFileAtomic } from '../core/atomic-write.ts'
import { CLIENT_VERSION } from '../core/peer-id.ts'
import { errorMessage, FriendError } from '../core/types.ts'
import { magnetUri } from '../metainfo/magnet.ts'
import { parseTorrentFile } from '../metainfo/metainfo.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { safePathComponents } from '../metainfo/safe-path.ts'
import { formatBytes } from '../tui/format/format.ts'
import { writeV2Torrent } from './create-v2.ts'
import { parseCommandLine } from './command-line.ts'
import type { CliIo } from './io.ts'

export const CREATE_USAGE = `usage: friendtorrent create <file-or-folder> [--tracker URL ...] [--piece-length N] [--private] [-o out.torrent] [--name NAME] [--comment TEXT] [--v2 | --hybrid] [--force]

      --tracker URL     announce to this tracker, http(s):// or udp://host:port (repeatable; one tier each)
      --piece-length N  bytes per piece, a power of two from 16K to 16M (e.g. 262144, 256K, 1M); default: chosen by size
      --private         BEP 27: peers come from the trackers only (no DHT, no PEX)
  -o, --output FILE     where to write the torrent; a folder means <name>.torrent in it (default: the current folder)
      --name NAME       the torrent's name (default: the file or folder name)
      --comment TEXT    a comment stored in the torrent
      --v2              a BitTorrent v2 torrent (BEP 52: SHA-256 merkle trees); only v2 clients can use it
      --hybrid          v1 and v2 in one torrent: every client can use it, v2 clients check each block
  -f, --force           overwrite FILE if it exists
  hidden files and folders (names starting with ".") are left out`

export const MIN_PIECE_LENGTH = 16 * 1024
export const MAX_PIECE_LENGTH = 16 * 1024 * 1024
const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:'])
const PROGRESS_INTERVAL_MS = 250

export interface CreateOptions {
  trackers: string[]
  /** Undefined: create-torrent's automatic choice for the payload size. */
  pieceLength?: number
  private: boolean
  name?: string
  comment?: string
  /** v1 (the default, by create-torrent), v2-only or hybrid (BEP 52, by create-v2). */
  version?: 'v1' | 'v2' | 'hybrid'
  onProgress?: (hashedBytes: number, totalBytes: number) => void
}

export interface CreatedTorrent {
  /** The .torrent file exactly as it will be written. */
  bytes: Buffer
  meta: Metainfo
  /** Hidden and system-junk entries left out of a folder, relative to it. */
  skipped: string[]
}

export async function runCreate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('create', {
    args: argv,
    allowPositionals: true,
    options: {
      tracker: { type: 'string', multiple: true },
      'piece-length': { type: 'string' },
      private: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      name: { type: 'string' },
      comment: { type: 'string' },
      v2: { type: 'boolean' },
      hybrid: { type: 'boolean' },
      force: { type: 'boolean', short: 'f' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    io.out(CREATE_USAGE)
    return 0
  }
  if (positionals.length !== 1) {
    throw new FriendError(`create takes one file or folder, got ${positionals.length}; see friendtorrent create --help`)
  }
  if (values.v2 && values.hybrid) throw new FriendError('choose one of --v2 and --hybrid (a hybrid torrent is v2 as well)')
  const trackers = (values.tracker ?? []).map(checkTrackerUrl)
  const pieceLength = values['piece-length'] === undefined ? undefined : parsePieceLength(values['piece-length'])
  const source = resolve(io.cwd, positionals[0])
  const name = values.name ?? basename(source)
  checkName(name, values.name !== undefined)
  const output = await outputPath(resolve(io.cwd, values.output ?? `${name}.torrent`), name)
  const force = Boolean(values.force)
  // Checked before hashing, which can take minutes, and again before writing.
  await checkOutput(output, force)

  const progress = io.isTTY ? new HashProgress(io) : undefined
  let created: CreatedTorrent
  try {
    created = await createTorrentFile(source, {
      trackers,
      pieceLength,
      private: Boolean(values.private),
      name: values.name,
      comment: values.comment,
      version: values.v2 ? 'v2' : values.hybrid ? 'hybrid' : 'v1',
      onProgress: progress && ((hashed, total) => progress.handleProgress(hashed, total)),
    })
  } finally {
    progress?.stop()
  }
  await checkOutput(output, force)
  try {
    await writeFileAtomic(output, created.bytes, 0o644)
  } catch (err) {
    throw new FriendError(`cannot write ${output}: ${errorMessage(err)}`)
  }

  const { meta, skipped } = created
  if (skipped.length > 0) {
    const shown = skipped.slice(0, 3).join(', ')
    io.err(`note: left out ${skipped.length} hidden or system entr${skipped.length === 1 ? 'y' : 'ies'}: ${shown}${skipped.length > 3 ? ', …' : ''}`)
  }
  const data = meta.files.filter((f) => !f.padding)
  const fileCount = data.length
  const hashes = !meta.v2 ? `info hash ${meta.infoHashHex}`
    : meta.hasV1 ? `hybrid, info hashes ${meta.infoHashHex} (v1) and ${meta.v2.infoHash.toString('hex')} (v2)`
    : `v2, info hash ${meta.v2.infoHash.toString('hex')}`
  io.out(
    `created ${output}: ${meta.name}, ${formatBytes(data.reduce((n, f) => n + f.length, 0))} in ${fileCount} file${fileCount === 1 ? '' : 's'}, ` +
      `${meta.pieceCount} piece${meta.pieceCount === 1 ? '' : 's'} of ${formatBytes(meta.pieceLength)}${meta.private ? ', private' : ''}, ${hashes}`,
  )
  io.out(magnetUri({ infoHashHex: meta.infoHashHex, infoHashV2: meta.v2?.infoHash, v1: meta.hasV1, name: meta.name, tiers: meta.announce }))
  return 0
}

/** Hashes `source` into a .torrent and proves it parses with parseTorrentFile; writes nothing. */
export async function createTorrentFile(source: string, options: CreateOptions): Promise<CreatedTorrent> {
  const walked = await walkSource(source)
  if (walked.totalBytes === 0) {
    throw new FriendError(
      walked.files.length === 0
        ? `${source} has no files to share${walked.skipped.length > 0 ? ' (hidden files are left out)' : ''}`
        : `${source} ${walked.single ? 'is empty' : 'holds only empty files'}; a torrent needs at least one byte`,
    )
  }
  const version = options.version ?? 'v1'
  const raw = version === 'v1' ? await createV1(source, options) : await writeV2Torrent(source, walked, {
    hybrid: version === 'hybrid',
    name: options.name ?? basename(source),
    trackers: options.trackers,
    pieceLength: options.pieceLength,
    private: options.private,
    comment: options.comment,
    createdBy: CLIENT_VERSION,
    onProgress: options.onProgress,
  }).catch((err: unknown) => {
    throw new FriendError(`cannot create a torrent from ${source}: ${fsMessage(err)}`)
  })
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  let meta: Metainfo
  try {
    meta = await parseTorrentFile(bytes)
  } catch (err) {
    throw new FriendError(`the torrent made from ${source} does not read back, so it was not written: ${errorMessage(err)}`)
  }
  // create-torrent also drops system junk (Thumbs.db, desktop.ini, …) that our walk kept.
  const included = new Set(meta.files.map((file) => file.path.slice(1).join('/')))
  const dropped = walked.single ? [] : walked.files.filter((file) => !included.has(file))
  return { bytes, meta, skipped: [...walked.skipped, ...dropped].sort() }
}

/** A v1 torrent by create-torrent. */
async function createV1(source: string, options: CreateOptions): Promise<Uint8Array> {
  const opts: Record<string, unknown> = {
    // An explicit list, even empty: without one create-torrent adds public and WebSocket trackers.
    announceList: options.trackers.map((url) => [url]),
    createdBy: CLIENT_VERSION,
  }
  if (options.private) opts.private = true
  if (options.pieceLength !== undefined) opts.pieceLength = options.pieceLength
  if (options.name !== undefined) opts.name = options.name
  if (options.comment !== undefined) opts.comment = options.comment
  if (options.onProgress) opts.onProgress = options.onProgress

  // Loaded only when used, so `add` does not pay for it in memory.
  const { default: createTorrent } = await import('create-torrent')
  return new Promise<Uint8Array>((done, fail) => {
    createTorrent(source, opts, (err, torrent) => (err ? fail(err) : done(torrent)))
  }).catch((err: unknown) => {
    throw new FriendError(`cannot create a torrent from ${source}: ${fsMessage(err)}`)
  })
}

/** http(s):// or udp://host:port, returned as given. */
export function checkTrackerUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new FriendError(`--tracker ${JSON.stringify(text)} is not a URL; use http://host:port/announce or udp://host:port`)
  }
  if (!TRACKER_PROTOCOLS.has(url.protocol)) {
    throw new FriendError(`--tracker ${JSON.stringify(text)}: only http://, https:// and udp:// trackers are supported`)
  }
  if (url.hostname === '') throw new FriendError(`--tracker ${JSON.stringify(text)} has no host`)
  // BEP 15 has no default port.
  if (url.protocol === 'udp:' && url.port === '') throw new FriendError(`--tracker ${JSON.stringify(text)} needs a port, as in udp://host:6969`)
  return text
}

/** Bytes, or with a K/KiB/M/MiB suffix; a power of two from 16 KiB to 16 MiB. */
export function parsePieceLength(text: string): number {
  const match = /^(\d+)\s*(k|kib|m|mib)?$/i.exec(text.trim())
  const unit = match?.[2]?.[0]?.toLowerCase()
  const value = match ? Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1) : NaN
  if (!Number.isSafeInteger(value) || value < MIN_PIECE_LENGTH || value > MAX_PIECE_LENGTH || (value & (value - 1)) !== 0) {
    throw new FriendError(`--piece-length must be a power of two from 16K to 16M (16384 to 16777216 bytes), got ${JSON.stringify(text)}`)
  }
  return value
}

function checkName(name: string, fromFlag: boolean): void {
  try {
    safePathComponents([name])
  } catch (err) {
    const hint = fromFlag ? '' : '; pick another with --name'
    throw new FriendError(`the torrent name ${JSON.stringify(name)} cannot be used: ${errorMessage(err)}${hint}`)
  }
}

/** -o naming an existing folder means "in there, under the default name". */
async function outputPath(output: string, name: string): Promise<string> {
  const info = await stat(output).catch(() => undefined)
  return info?.isDirectory() ? join(output, `${name}.torrent`) : output
}

async function checkOutput(output: string, force: boolean): Promise<void> {
  let info
  try {
    info = await stat(output)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new FriendError(`cannot write ${output}: ${fsMessage(err)}`)
  }
  if (info.isDirectory()) throw new FriendError(`${output} is a folder; give -o another file name`)
  if (!force) throw new FriendError(`${output} already exists; add --force to replace it or choose another name with -o`)
}

interface Walked {
  single: boolean
  /** '/'-separated paths relative to the source folder; a single file's own name. */
  files: string[]
  totalBytes: number
  skipped: string[]
}

/**
 * Visits what create-torrent will read, the same way (stat follows symlinks,
 * hidden names skipped), so that what it cannot handle is a clear error here:
 * it hangs forever on a fifo and loops on a symlink to a parent folder.
 */
async function walkSource(source: string): Promise<Walked> {
  const walked: Walked = { single: false, files: [], totalBytes: 0, skipped: [] }
  let top
  try {
    top = await stat(source)
  } catch (err) {
    throw new FriendError(`cannot read ${source}: ${fsMessage(err)}`)
  }
  if (top.isFile()) {
    await checkReadable(source)
    walked.single = true
    walked.files.push(basename(source))
    walked.totalBytes = top.size
    return walked
  }
  if (!top.isDirectory()) throw new FriendError(`${source} is neither a file nor a folder`)

  const visit = async (dir: string, rel: string[], ancestors: Set<string>): Promise<void> => {
    let entries: string[]
    try {
      entries = await readdir(dir)
    } catch (err) {
      throw new FriendError(`cannot read the folder ${dir}: ${fsMessage(err)}`)
    }
    for (const entry of entries.sort()) {
      const path = join(dir, entry)
      const parts = [...rel, entry]
      if (entry.startsWith('.')) {
        walked.skipped.push(parts.join('/'))
        continue
      }
      try {
        safePathComponents(parts)
      } catch (err) {
        throw new FriendError(`cannot share ${path}: ${errorMessage(err)}; rename it or move it out`)
      }
      let info
      try {
        info = await stat(path)
      } catch (err) {
        const dangling = (err as NodeJS.ErrnoException).code === 'ENOENT' && (await lstat(path).catch(() => undefined))?.isSymbolicLink()
        throw new FriendError(`cannot read ${path}: ${dangling ? 'it is a symlink to nothing' : fsMessage(err)}`)
      }
      if (info.isDirectory()) {
        const id = `${info.dev}:${info.ino}`
        if (ancestors.has(id)) throw new FriendError(`${path} links back to a folder that contains it; remove the link or move it out`)
        await visit(path, parts, new Set(ancestors).add(id))
      } else if (info.isFile()) {
        await checkReadable(path)
        walked.files.push(parts.join('/'))
        walked.totalBytes += info.size
      } else {
        throw new FriendError(`${path} is not a regular file (a pipe, socket or device); move it out of ${source}`)
      }
    }
  }
  await visit(source, [], new Set([`${top.dev}:${top.ino}`]))
  return walked
}

async function checkReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK)
  } catch (err) {
    throw new FriendError(`cannot read ${path}: ${fsMessage(err)}`)
  }
}

function fsMessage(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file or folder'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ELOOP':
      return 'too many levels of symlinks'
    default:
      return errorMessage(err)
  }
}

/** A live "hashing" line on a TTY, cleared before the result is printed. */
class HashProgress {
  readonly #io: CliIo
  #lastDrawMs = 0
  #drawn = false

  constructor(io: CliIo) {
    this.#io = io
  }

  handleProgress(hashedBytes: number, totalBytes: number): void {
    const now = Date.now()
    if (now - this.#lastDrawMs < PROGRESS_INTERVAL_MS) return
    this.#lastDrawMs = now
    this.#drawn = true
    const percent = totalBytes > 0 ? Math.floor((hashedBytes / totalBytes) * 100) : 0
    this.#io.write(`\r\x1b[Khashing: ${percent}%  ${formatBytes(hashedBytes)}/${formatBytes(totalBytes)}`)
  }

  stop(): void {
    if (this.#drawn) this.#io.write('\r\x1b[K')
  }
}
