// What a Node process that runs nothing costs on this machine, started as the
// CLI's shebang starts the CLI (its environment settings and Node flags, read
// by our-session.ts's shebang()) in the environment the bench gives the CLI:
// the floor under every peak RSS the bench reports for friendtorrent (issue 15
// reckons the client's own budget as the goal minus this). Also says what
// NODE_EXTRA_CA_CERTS adds when it is set: Node then parses its bundled CA
// certificates and the file's at start-up, before any JavaScript runs, in
// every Node process.
import { execFileSync } from 'node:child_process'
import { shebang } from './our-session.ts'

/** Prints VmHWM (kB) of the process that runs it. */
const PRINT_PEAK = "process.stdout.write(/^VmHWM:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"

/** Peak RSS in bytes of a Node that loads nothing, launched as the CLI's shebang launches it, in `env`. */
function bareNodePeakBytes(env: NodeJS.ProcessEnv): number {
  const launch = shebang()
  const out = execFileSync(process.execPath, [...launch.nodeFlags, '-e', PRINT_PEAK], { env: { ...env, ...launch.env }, encoding: 'utf8' })
  return Number(out) * 1024
}

/**
 * One line for a peak RSS goal: the bare Node's floor in `env`, the client's own share of
 * `peakMB` above it, and what NODE_EXTRA_CA_CERTS costs here when it is set. MB = 10^6 bytes.
 */
export function floorLine(env: NodeJS.ProcessEnv, peakMB: number): string {
  const bare = bareNodePeakBytes(env) / 1e6
  let line = `a Node that loads nothing, started with the bin's flags: ${bare.toFixed(1)} MB; friendtorrent's own: ${(peakMB - bare).toFixed(1)} MB`
  if (env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _, ...without } = env
    const saved = bare - bareNodePeakBytes(without) / 1e6
    line += ` (NODE_EXTRA_CA_CERTS is set: Node parses CA certificates at start-up, ${saved.toFixed(1)} MB of the floor)`
  }
  return line
}
