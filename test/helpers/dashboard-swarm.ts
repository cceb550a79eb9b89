// The loopback swarm the dashboard's tmux tests download from: a tracker, the
// odd-layout fixture announced to it, one of our seeders serving it at a set
// upload rate (slow enough to watch), and a private tmux server for the panes.
import { join } from 'node:path'
import { LimiterChain, TokenBucket } from '../../src/core/token-bucket.ts'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import type { Fixture } from '../../fixtures/make-fixtures.ts'
import { tempDir } from './net.ts'
import type { TempDir } from './net.ts'
import { startOurSeeder } from './our-seeder.ts'
import type { OurPeer } from './our-seeder.ts'
import { tmuxServer } from './tmux.ts'
import type { TmuxServer } from './tmux.ts'
import { startTracker } from './tracker.ts'
import type { TestTracker } from './tracker.ts'

export interface DashboardSwarm {
  work: TempDir
  tracker: TestTracker
  seeder: OurPeer
  /** The seeder's upload limit: setRate(0) lifts it (e.g. once a test has seen what needs a slow download). */
  uploadBucket: TokenBucket
  fixture: Fixture
  server: TmuxServer
  /** Ends the tmux server, the seeder and the tracker, and deletes the work folder. */
  stop(): Promise<void>
}

/** `label` names the tmux socket and the temp folder; the seeder is known to the tracker when this resolves. */
export async function startDashboardSwarm(label: string, uploadBytesPerSecond: number): Promise<DashboardSwarm> {
  const server = tmuxServer(label)
  const work = tempDir(`${label}-tmux`)
  let tracker: TestTracker | undefined
  let seeder: OurPeer | undefined
  const stop = async () => {
    server.kill()
    await seeder?.stop()
    await tracker?.close()
    await work.cleanup()
  }
  try {
    tracker = await startTracker()
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const uploadBucket = new TokenBucket(uploadBytesPerSecond)
    seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, uploadLimiter: new LimiterChain(uploadBucket) })
    await tracker.waitForSeeders(fixture.infoHash, 1, 10_000)
    return { work, tracker, seeder, uploadBucket, fixture, server, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
