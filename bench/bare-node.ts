// What a Node process that runs nothing costs on this machine, started as the
// CLI's shebang starts the CLI (its environment settings and Node flags, read
// by our-session.ts's shebang()) in the environment the bench gives the CLI:
// the floor under every peak RSS the bench reports for friendtorrent (issue 15
// reckons the client's own budget as the goal minus this). Also says what
// NODE_EXTRA_CA_CERTS costs when it is set: a Node given it parses its bundled
// CA certificates and the file's at start-up, before any JavaScript runs; the
// bin's shebang keeps it from Node (src/discovery/tls-roots.ts loads the file
// at the first HTTPS request instead).
import { execFileSync } from 'node:child_process'
import { shebang } from './our-session.ts'

/** Prints VmHWM (kB) of the process that runs it. */
const PRINT_PEAK = "process.stdout.write(/^VmHWM:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"

/** Peak RSS in MB (10^6 bytes) of a Node that loads nothing, started with `nodeFlags` in `env`. */
function bareNodePeakMB(nodeFlags: string[], env: NodeJS.ProcessEnv): number {
  const out = execFileSync(process.execPath, [...nodeFlags, '-e', PRINT_PEAK], { env, encoding: 'utf8' })
  return (Number(out) * 1024) / 1e6
}

/**
 * One line for a peak RSS goal: the bare Node's floor, launched as the CLI's shebang launches
 * it in `env`, the client's own share of `peakMB` above it, and what NODE_EXTRA_CA_CERTS costs
 * here when it is set. MB = 10^6 bytes.
 */
export function floorLine(env: NodeJS.ProcessEnv, peakMB: number): string {
  const launch = shebang(env)
  const bare = bareNodePeakMB(launch.nodeFlags, launch.env)
  let line = `a Node that loads nothing, started with the bin's flags: ${bare.toFixed(1)} MB; friendtorrent's own: ${(peakMB - bare).toFixed(1)} MB`
  const file = env.NODE_EXTRA_CA_CERTS
  if (!file) return line
  if (launch.env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _, ...without } = launch.env
    line += ` (NODE_EXTRA_CA_CERTS is set: Node parses CA certificates at start-up, ${(bare - bareNodePeakMB(launch.nodeFlags, without)).toFixed(1)} MB of the floor)`
  } else {
    const parsing = bareNodePeakMB(launch.nodeFlags, { ...launch.env, NODE_EXTRA_CA_CERTS: file })
    line += ` (NODE_EXTRA_CA_CERTS is set: the bin's shebang keeps it from Node at start-up, which would have parsed CA certificates for ${(parsing - bare).toFixed(1)} MB more)`
  }
  return line
}
