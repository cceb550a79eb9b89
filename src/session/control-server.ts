// The local control channel of a running session: a Unix socket in the state
// folder (the folder 0700, the socket 0600, so only the owning user reaches
// it), one JSON request per line, one JSON answer per line. It knows nothing
// of torrents: each command goes to the handler the session gives it.
// A line may be as long as the largest .torrent travelling in it (base64 in
// JSON); a longer one is refused with the limit and the connection closed.
import { chmod, mkdir, rm } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { dirname } from 'node:path'
import { LineSplitter } from '../core/line-splitter.ts'
import { errorMessage } from '../core/types.ts'
import { MAX_TORRENT_BYTES } from '../metainfo/torrent-file.ts'

/** A request line: `{"id":1,"command":"pause","args":{...}}`. */
export interface ControlRequest {
  id: number
  command: string
  args?: Record<string, unknown>
}

/** An answer line: `{"id":1,"ok":true,"result":...}` or `{"id":1,"ok":false,"error":"one line"}`. */
export type ControlResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string }

export type ControlHandler = (command: string, args: Record<string, unknown>) => Promise<unknown>

/** Room for the largest .torrent as base64 (4 bytes per 3) and the rest of its request. */
/** A list answer longer than this is written a slice at a time (writeLongList). */
const STREAM_ITEMS = 2000

export const MAX_LINE_BYTES = Math.ceil(MAX_TORRENT_BYTES / 3) * 4 + 64 * 1024

export class ControlServer {
  readonly #path: string
  readonly #handler: ControlHandler
  readonly #server: Server
  readonly #clients = new Set<Socket>()
  /** Per client, the answer being written: the next waits for it. */
  readonly #writing = new WeakMap<Socket, Promise<void>>()

  constructor(socketPath: string, handler: ControlHandler) {
    this.#path = socketPath
    this.#handler = handler
    this.#server = createServer((socket) => this.#handleClient(socket))
  }

  get path(): string {
    return this.#path
  }

  /** Listens; a socket file left by a session that died is replaced, a live one is an error. */
  async listen(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 })
    await chmod(dirname(this.#path), 0o700)
    if (await isLive(this.#path)) throw new Error(`another friendtorrent session is already running (control socket ${this.#path})`)
    await rm(this.#path, { force: true })
    // The umask makes the socket 0600 from its birth, not only after chmod.
    const oldMask = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject)
        this.#server.listen(this.#path, () => {
          this.#server.off('error', reject)
          resolve()
        })
      })
    } finally {
      process.umask(oldMask)
    }
    await chmod(this.#path, 0o600)
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy()
    if (this.#server.listening) await new Promise<void>((resolve) => this.#server.close(() => resolve()))
    await rm(this.#path, { force: true })
  }

  #handleClient(socket: Socket): void {
    this.#clients.add(socket)
    socket.on('close', () => this.#clients.delete(socket))
    socket.on('error', () => socket.destroy())
    const lines = new LineSplitter()
    socket.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) if (line.trim()) void this.#answer(socket, line)
      if (lines.pendingBytes > MAX_LINE_BYTES) {
        lines.clear()
        socket.removeAllListeners('data')
        socket.end(JSON.stringify({ id: 0, ok: false, error: `request refused: over ${MAX_LINE_BYTES} bytes, the control channel's limit for one line (a .torrent of up to ${MAX_TORRENT_BYTES} bytes fits)` }) + '\n')
      }
    })
  }

  async #answer(socket: Socket, line: string): Promise<void> {
    let request: ControlRequest
    try {
      request = JSON.parse(line) as ControlRequest
      if (typeof request !== 'object' || request === null || typeof request.command !== 'string') throw new Error('expected {"id", "command", "args"}')
    } catch (err) {
      socket.write(JSON.stringify({ id: 0, ok: false, error: `bad request: ${errorMessage(err)}` }) + '\n')
      return
    }
    let response: ControlResponse
    try {
      const result = await this.#handler(request.command, request.args ?? {})
      response = { id: request.id, ok: true, result: result ?? null }
    } catch (err) {
      response = { id: request.id, ok: false, error: errorMessage(err) }
    }
    // Answers leave in turn: a long one written in slices must not have another cut into its line.
    const write = async () => {
      if (socket.destroyed) return
      if (response.ok && isLongList(response.result)) await writeLongList(socket, request.id, response.result)
      else socket.write(JSON.stringify(response) + '\n')
    }
    const turn = (this.#writing.get(socket) ?? Promise.resolve()).then(write)
    this.#writing.set(socket, turn)
    await turn
  }
}

/**
 * An answer that is a long list (`files` of a 100,000-file torrent, ~10 MB
 * of JSON) goes out as the same one line, a slice of items at a time, each
 * written once the socket has drained the one before: never the whole line
 * as one string, nor all of it queued in memory at once.
 */
async function writeLongList(socket: Socket, id: number, items: SlicedList): Promise<void> {
  let text = `{"id":${JSON.stringify(id) ?? 'null'},"ok":true,"result":[`
  for (let at = 0; at < items.length; at += STREAM_ITEMS) {
    text += JSON.stringify(items.slice(at, at + STREAM_ITEMS)).slice(1, -1)
    if (at + STREAM_ITEMS < items.length) text += ','
    if (socket.destroyed) return
    if (!socket.write(text)) await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve))
    text = ''
  }
  if (!socket.destroyed) socket.write(']}\n')
}

/** An array, or a list that makes its items a slice at a time (session/file-choices.ts FileRows). */
interface SlicedList {
  length: number
  slice(from: number, to: number): unknown[]
}

function isLongList(result: unknown): result is SlicedList {
  if (typeof result !== 'object' || result === null) return false
  const list = result as Partial<SlicedList>
  return typeof list.slice === 'function' && typeof list.length === 'number' && list.length > STREAM_ITEMS
}

/** True when a session answers on this socket path. */
async function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
