// A Session for tests: loopback-friendly defaults (any free port, downloads on,
// small queue and connection limits); a test names only what it is about.
import { Session } from '../../src/session/session.ts'
import type { SessionOptions } from '../../src/session/session.ts'

export function openTestSession(stateDir: string, extra: Partial<SessionOptions> = {}): Promise<Session> {
  return Session.open({
    stateDir,
    listenPort: 0,
    download: true,
    maxActiveDownloads: 5,
    maxActiveSeeds: 5,
    maxConnectionsPerTorrent: 20,
    maxHalfOpenConnections: 8,
    ...extra,
  })
}
