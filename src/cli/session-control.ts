// What the control socket's commands do in a running session, and where the
// socket lives. One table, so the CLI and the future dashboard agree.
import { filesWindow } from '../session/file-page.ts'
import { readFile, stat, statfs } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { errorMessage, FriendError, parseAddress } from '../core/types.ts'
import { fetchTorrentUrl } from '../session/torrent-url.ts'
import type { ControlHandler } from '../session/control-server.ts'
import type { Session } from '../session/session.ts'
import type { FileRow } from '../session/file-choices.ts'
import type { EventLog } from '../session/event-log.ts'
import { parseMagnetOrInfoHash, type MagnetLink } from '../metainfo/magnet.ts'
import { MAX_TORRENT_BYTES, overTorrentLimit } from '../metainfo/torrent-file.ts'
import type { SearchQuery, SearchResult } from '../index/search.ts'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import { FILE_PRIORITIES, type FilePriority } from '../storage/file-priorities.ts'

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, 'control.sock')
}

function badLimit(v: unknown): never {
  throw new FriendError(`a limit is KiB/s, a number ≥ 0 (0 = none), got ${JSON.stringify(v)}`)
}

/** The most rows one `files` page holds: ~1 MB of JSON, well inside the control channel's line. */
export const FILES_PAGE_MAX = 10_000

/** One `files` page: rows [from, from + rows.length) of `total`. */
export interface FilesPage {
  total: number
  rows: FileRow[]
}

function pageNumber(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new FriendError(`files: ${name} is a whole number, ${max < Number.MAX_SAFE_INTEGER ? `0 to ${max}` : '0 or more'}, got ${JSON.stringify(v)}`)
  return v
}

function idOf(args: Record<string, unknown>): string {
  if (typeof args.id !== 'string' || args.id === '') throw new FriendError('which torrent? give its info hash (or a unique prefix) or its name')
  return args.id
}

/** What a session host gives the control channel of its index (cli/index-access.ts), loaded only when used. */
export interface ControlIndex {
  search(query: SearchQuery): Promise<SearchResult[]>
  /** A .torrent made from the stored info dict of the link's hash, or undefined. */
  torrentFor(link: MagnetLink): Promise<Buffer | undefined>
  /** The background crawl's figures (config `indexWhileRunning`); absent when none runs. */
  crawlStatus?(): Promise<CrawlStatus>
}

const MAX_QUERY_CHARS = 500

function searchQuery(args: Record<string, unknown>): SearchQuery {
  const { text, limit = 50, category, minSizeBytes, prefix } = args
  if (typeof text !== 'string' || text.length > MAX_QUERY_CHARS) throw new FriendError(`search needs text of at most ${MAX_QUERY_CHARS} characters`)
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) throw new FriendError(`a search limit is a whole number from 1 to 1000, got ${JSON.stringify(limit)}`)
  if (category !== undefined && typeof category !== 'string') throw new FriendError('a search category is a name (video, audio, …)')
  if (minSizeBytes !== undefined && (typeof minSizeBytes !== 'number' || !(minSizeBytes >= 0))) throw new FriendError('a minimum size is a number of bytes ≥ 0')
  return { text, limit, category: category as SearchQuery['category'], minSizeBytes, prefix: prefix === true }
}

export function controlHandler(session: Session, cwd: string, defaultSaveDir: string, events?: EventLog, index?: ControlIndex): ControlHandler {
  return async (command, args) => {
    switch (command) {
      case 'list':
        return session.list()
      case 'status': {
        const saveDir = resolve(cwd, defaultSaveDir)
        const crawl = await index?.crawlStatus?.()
        return { ...session.status(), saveDir, freeBytes: await freeBytes(saveDir), ...(crawl && { crawl }) }
      }
      case 'details':
        return session.details(idOf(args), { availability: args.availability === true, files: filesWindow(args.files) })
      case 'start':
        return session.startNow(idOf(args))
      case 'events':
        return events?.since(typeof args.since === 'number' ? args.since : 0) ?? []
      case 'add': {
        const saveTo = () => resolve(typeof args.cwd === 'string' ? args.cwd : cwd, typeof args.savePath === 'string' ? args.savePath : defaultSaveDir)
        if (typeof args.magnet === 'string') {
          const link = parseMagnetOrInfoHash(args.magnet)
          // A hash the index holds starts from its stored info dict: no metadata fetch.
          const stored = await index?.torrentFor(link)
          if (stored) return { ...(await session.add(stored, saveTo())), fromIndex: true }
          return session.addMagnet(link, saveTo())
        }
        // A link to a .torrent (the dashboard's add): fetched here, bounded in size and time.
        if (typeof args.url === 'string') {
          const url = args.url
          const bytes = await fetchTorrentUrl(url)
          return session.add(bytes, saveTo()).catch((err: unknown) => {
            throw new FriendError(`${url}: ${errorMessage(err)}`)
          })
        }
        // A path (the CLI and the dashboard share this machine and user with us), or the bytes.
        let torrent: Buffer
        if (typeof args.path === 'string') torrent = await readTorrentFile(resolve(typeof args.cwd === 'string' ? args.cwd : cwd, args.path))
        else if (typeof args.torrentBase64 === 'string') torrent = Buffer.from(args.torrentBase64, 'base64')
        else throw new FriendError('add needs a .torrent: its path, its bytes, a link or a magnet')
        return session.add(torrent, saveTo())
      }
      case 'pause':
        return session.pause(idOf(args))
      case 'resume':
        return session.resume(idOf(args))
      case 'verify':
        return session.verify(idOf(args))
      case 'remove':
        await session.remove(idOf(args), args.deleteData === true)
        return { removed: idOf(args) }
      case 'queue': {
        if (args.direction !== 'up' && args.direction !== 'down') throw new FriendError('queue takes "up" or "down"')
        return session.move(idOf(args), args.direction)
      }
      case 'files': {
        // With `from`: one page ({ total, rows }), what the CLI asks for; without: every row in one answer.
        const rows = session.files(idOf(args))
        if (args.from === undefined) return rows
        const from = pageNumber(args.from, 'from', Number.MAX_SAFE_INTEGER)
        const count = pageNumber(args.count ?? FILES_PAGE_MAX, 'count', FILES_PAGE_MAX)
        return { total: rows.length, rows: rows.slice(from, from + count) } satisfies FilesPage
      }
      case 'priority': {
        const priority = args.priority
        if (!FILE_PRIORITIES.includes(priority as FilePriority)) throw new FriendError(`a priority is one of ${FILE_PRIORITIES.join(', ')}, got ${JSON.stringify(priority)}`)
        if (typeof args.folder === 'string') return session.setFilePriority(idOf(args), { folder: args.folder }, priority as FilePriority)
        if (!Array.isArray(args.files) && args.files !== 'all') throw new FriendError('priority needs file numbers (see `friendtorrent files <torrent>`), "all" or a folder')
        return session.setFilePriority(idOf(args), args.files as number[] | 'all', priority as FilePriority)
      }
      case 'limit': {
        const kib = (v: unknown) => (v === undefined ? undefined : typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v * 1024 : badLimit(v))
        const set = session.setLimits({ uploadBytesPerSec: kib(args.upKiBps), downloadBytesPerSec: kib(args.downKiBps) }, typeof args.id === 'string' ? args.id : undefined)
        return { upKiBps: set.uploadBytesPerSec / 1024, downKiBps: set.downloadBytesPerSec / 1024 }
      }
      case 'search':
        if (!index) throw new FriendError('this session has no index')
        return index.search(searchQuery(args))
      case 'bans':
        return session.bans()
      case 'ban': {
        if (typeof args.address !== 'string') throw new FriendError('ban needs an IP address')
        return session.ban(args.address)
      }
      case 'unban': {
        if (typeof args.address !== 'string') throw new FriendError('unban needs an IP address')
        return { address: args.address, wasBanned: await session.unban(args.address) }
      }
      case 'disconnect': {
        if (typeof args.peer !== 'string') throw new FriendError('disconnect needs a peer (HOST:PORT as the peers list shows it)')
        session.disconnectPeer(idOf(args), args.peer)
        return { disconnected: args.peer }
      }
      case 'add-peers': {
        const texts = Array.isArray(args.peers) ? args.peers : [args.peers]
        const peers = texts.map((t) => {
          if (typeof t !== 'string') throw new FriendError('add-peers needs HOST:PORT addresses')
          try {
            return parseAddress(t.trim())
          } catch (err) {
            throw new FriendError(errorMessage(err))
          }
        })
        const id = idOf(args)
        const key = id.toLowerCase()
        const t = session.list().find((x) => x.infoHash === key) ?? session.list().find((x) => x.infoHash.startsWith(key) || x.name === id)
        if (!t) throw new FriendError(`no torrent "${id}" in the library (give its info hash, a unique prefix of it, or its name)`)
        session.addPeers(t.infoHash, peers)
        return { infoHash: t.infoHash, added: peers.length }
      }
      default:
        throw new FriendError(`unknown command "${command}"`)
    }
  }
}

/** Free bytes for an unprivileged user on the disk holding `dir` (or its nearest existing parent); null when unknown. */
export async function freeBytes(dir: string): Promise<number | null> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      const s = await statfs(d)
      return s.bavail * s.bsize
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(d) === d) return null
    }
  }
}

/** A .torrent from disk, its size checked before it is read; one-line errors naming the file. */
export async function readTorrentFile(file: string): Promise<Buffer> {
  try {
    const info = await stat(file)
    if (info.isDirectory()) throw new FriendError(`cannot read ${file}: it is a folder`)
    if (info.size > MAX_TORRENT_BYTES) throw new FriendError(overTorrentLimit(file, info.size))
    return await readFile(file)
  } catch (err) {
    if (err instanceof FriendError) throw err
    throw new FriendError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err)}`)
  }
}
