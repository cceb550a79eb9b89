// What the control socket's commands do in a running session, and where the
// socket lives. One table, so the CLI and the future dashboard agree.
import { readFile, statfs } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { errorMessage, FriendError, parseAddress } from '../core/types.ts'
import { fetchTorrentUrl } from '../session/torrent-url.ts'
import type { ControlHandler } from '../session/control-server.ts'
import type { Session } from '../session/session.ts'
import type { EventLog } from '../session/event-log.ts'
import { parseMagnetOrInfoHash } from '../metainfo/magnet.ts'
import { FILE_PRIORITIES, type FilePriority } from '../storage/file-priorities.ts'

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, 'control.sock')
}

function badLimit(v: unknown): never {
  throw new FriendError(`a limit is KiB/s, a number ≥ 0 (0 = none), got ${JSON.stringify(v)}`)
}

function idOf(args: Record<string, unknown>): string {
  if (typeof args.id !== 'string' || args.id === '') throw new FriendError('which torrent? give its info hash (or a unique prefix) or its name')
  return args.id
}

export function controlHandler(session: Session, cwd: string, defaultSaveDir: string, events?: EventLog): ControlHandler {
  return async (command, args) => {
    switch (command) {
      case 'list':
        return session.list()
      case 'status': {
        const saveDir = resolve(cwd, defaultSaveDir)
        return { ...session.status(), saveDir, freeBytes: await freeBytes(saveDir) }
      }
      case 'details':
        return session.details(idOf(args), { availability: args.availability === true })
      case 'start':
        return session.startNow(idOf(args))
      case 'events':
        return events?.since(typeof args.since === 'number' ? args.since : 0) ?? []
      case 'add': {
        const saveTo = () => resolve(typeof args.cwd === 'string' ? args.cwd : cwd, typeof args.savePath === 'string' ? args.savePath : defaultSaveDir)
        if (typeof args.magnet === 'string') return session.addMagnet(parseMagnetOrInfoHash(args.magnet), saveTo())
        // A link to a .torrent (the dashboard's add): fetched here, bounded in size and time.
        if (typeof args.url === 'string') {
          const url = args.url
          const bytes = await fetchTorrentUrl(url)
          return session.add(bytes, saveTo()).catch((err: unknown) => {
            throw new FriendError(`${url}: ${errorMessage(err)}`)
          })
        }
        // The CLI sends the file's bytes: the session may not be able to read the caller's path.
        const torrent = typeof args.torrentBase64 === 'string' ? Buffer.from(args.torrentBase64, 'base64') : typeof args.path === 'string' ? await readFile(args.path) : undefined
        if (!torrent) throw new FriendError('add needs a .torrent')
        const savePath = resolve(typeof args.cwd === 'string' ? args.cwd : cwd, typeof args.savePath === 'string' ? args.savePath : defaultSaveDir)
        return session.add(torrent, savePath)
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
      case 'files':
        return session.files(idOf(args))
      case 'priority': {
        const priority = args.priority
        if (!FILE_PRIORITIES.includes(priority as FilePriority)) throw new FriendError(`a priority is one of ${FILE_PRIORITIES.join(', ')}, got ${JSON.stringify(priority)}`)
        if (!Array.isArray(args.files)) throw new FriendError('priority needs file numbers (see `friendtorrent files <torrent>`)')
        await session.setFilePriority(idOf(args), args.files as number[], priority as FilePriority)
        return session.files(idOf(args))
      }
      case 'limit': {
        const kib = (v: unknown) => (v === undefined ? undefined : typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v * 1024 : badLimit(v))
        const set = session.setLimits({ uploadBytesPerSec: kib(args.upKiBps), downloadBytesPerSec: kib(args.downKiBps) }, typeof args.id === 'string' ? args.id : undefined)
        return { upKiBps: set.uploadBytesPerSec / 1024, downKiBps: set.downloadBytesPerSec / 1024 }
      }
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
