// What a Node process that runs nothing costs on this machine, started as the
// CLI's shebang starts the CLI (its environment assignments and Node flags) in
// the environment the bench gives the CLI: the floor under every peak RSS the
// bench reports for friendtorrent (issue 15 reckons the client's own budget
// as the goal minus this). Also says what NODE_EXTRA_CA_CERTS adds when it is
// set: Node then parses its bundled CA certificates and the file's at start-up,
// before any JavaScript runs, in every Node process.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Prints VmHWM (kB) of the process that runs it. */
const PRINT_PEAK = "process.stdout.write(/^VmHWM:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"

/** The environment assignments and Node flags of `cliPath`'s `#!/usr/bin/env -S … node …` line. */
export function shebangLaunch(cliPath: string): { assignments: Record<string, string>; nodeFlags: string[] } {
  const first = readFileSync(cliPath, 'utf8').split('\n', 1)[0]
  const words = first.replace(/^#!\s*\S+/, '').trim().split(/\s+/).filter((w) => w !== '-S')
  const nodeAt = words.indexOf('node')
  if (nodeAt < 0) throw new Error(`${cliPath}: its first line does not start node through env (${first})`)
  const assignments = Object.fromEntries(words.slice(0, nodeAt).filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]))
  return { assignments, nodeFlags: words.slice(nodeAt + 1) }
}

/** Peak RSS in bytes of a Node that loads nothing, launched as `cliPath` launches it, in `env`. */
export function bareNodePeakBytes(cliPath: string, env: NodeJS.ProcessEnv): number {
  const { assignments, nodeFlags } = shebangLaunch(cliPath)
  const out = execFileSync(process.execPath, [...nodeFlags, '-e', PRINT_PEAK], { env: { ...env, ...assignments }, encoding: 'utf8' })
  return Number(out) * 1024
}

/**
 * One line for a peak RSS goal: the bare Node's floor in `env`, the client's own share of
 * `peakMB` above it, and what NODE_EXTRA_CA_CERTS costs here when it is set. MB = 10^6 bytes.
 */
export function floorLine(cliPath: string, env: NodeJS.ProcessEnv, peakMB: number): string {
  const bare = bareNodePeakBytes(cliPath, env) / 1e6
  let line = `a Node that loads nothing, started with the bin's flags: ${bare.toFixed(1)} MB; friendtorrent's own: ${(peakMB - bare).toFixed(1)} MB`
  if (env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _, ...without } = env
    const saved = bare - bareNodePeakBytes(cliPath, without) / 1e6
    line += ` (NODE_EXTRA_CA_CERTS is set: Node parses CA certificates at start-up, ${saved.toFixed(1)} MB of the floor)`
  }
  return line
}
