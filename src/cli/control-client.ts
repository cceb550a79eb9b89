// The CLI's side of the control channel: finds a running session's socket
// and sends it one command. No session running is not an error: the caller
// then acts on the stored library itself.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { LineSplitter } from '../core/line-splitter.ts'
import { FriendError } from '../core/types.ts'
import type { ControlResponse } from '../session/control-server.ts'

export class ControlClient {
  readonly #socket: Socket
  #nextId = 1
  readonly #pending = new Map<number, (r: ControlResponse) => void>()

  private constructor(socket: Socket) {
    this.#socket = socket
    const lines = new LineSplitter()
    socket.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) {
        const response = JSON.parse(line) as ControlResponse
        // id 0: the session could not read a request (e.g. over its size limit) and closes: every caller gets that answer.
        const waiting = response.id === 0 ? [...this.#pending.keys()] : [response.id]
        for (const id of waiting) {
          this.#pending.get(id)?.(response)
          this.#pending.delete(id)
        }
      }
    })
    socket.on('close', () => {
      for (const resolve of this.#pending.values()) resolve({ id: 0, ok: false, error: 'the session closed the control connection' })
      this.#pending.clear()
    })
  }

  /** A client for the session listening at `socketPath`, or undefined when none runs. */
  static connect(socketPath: string): Promise<ControlClient | undefined> {
    return new Promise((resolve) => {
      const socket = connect(socketPath)
      socket.once('connect', () => {
        socket.removeAllListeners('error')
        socket.on('error', () => socket.destroy())
        resolve(new ControlClient(socket))
      })
      socket.once('error', () => resolve(undefined))
    })
  }

  /** Sends a command; resolves with its result or throws its one-line error. */
  async call(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++
    const response = await new Promise<ControlResponse>((resolve) => {
      this.#pending.set(id, resolve)
      this.#socket.write(JSON.stringify({ id, command, args }) + '\n')
    })
    if (!response.ok) throw new FriendError(response.error)
    return response.result
  }

  /**
   * Ends the connection and lets the process exit without waiting for the
   * session's side to close: a session busy starting a big torrent may take
   * seconds to read the end, and every request was sent (its answer is in).
   */
  close(): void {
    this.#socket.end()
    this.#socket.unref()
  }
}
