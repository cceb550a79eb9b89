// How the dashboard reaches a session: every read and every action is one
// control-channel command, whether the session lives in this process (the
// handler is called directly) or in a headless `seed` (over its socket).
// One command table, so the dashboard and the CLI always agree.
import type { ControlHandler } from '../session/control-server.ts'

export interface DashboardBackend {
  /** Runs one control command; throws its one-line error. */
  call(command: string, args?: Record<string, unknown>): Promise<unknown>
  /** The socket path when attached to another process's session; undefined when we own it. */
  readonly attachedTo: string | undefined
}

export function localBackend(handler: ControlHandler): DashboardBackend {
  return { call: (command, args = {}) => handler(command, args), attachedTo: undefined }
}

export function remoteBackend(client: { call(command: string, args?: Record<string, unknown>): Promise<unknown> }, socketPath: string): DashboardBackend {
  return { call: (command, args = {}) => client.call(command, args), attachedTo: socketPath }
}
