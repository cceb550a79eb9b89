// The CLI's side of the control channel: finds a running session's socket
// and sends it one command. No session running is not an error: the caller
// then acts on the stored library itself.
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { FriendError } from '../core/types.ts'
import type { ControlResponse } from '../session/control-server.ts'

export class ControlClient {
  readonly #socket: Socket
  #nextId = 1
  readonly #pending = new Map<number, (r: ControlResponse) => void>()

  private constructor(socket: Socket) {
    this.#socket = socket
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (text: string) => {
      buffered += text
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        const response = JSON.parse(line) as ControlResponse
        this.#pending.get(response.id)?.(response)
        this.#pending.delete(response.id)
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

  close(): void {
    this.#socket.end()
  }
}
