// How the CLI process ends (bin/friendtorrent.js): on its own once the command
// is done. Under tests (FRIENDTORRENT_NO_FORCED_EXIT=1, set by isolatedEnv) a
// handle still open 2 s later is named on stderr and the exit code is 70, so
// every CLI test that expects exit 0 also proves nothing leaked. A person's
// shell is never kept waiting: without the switch the process exits anyway.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { CLI_PATH, isolatedEnv, REPO_ROOT } from '../helpers/cli.ts'
import { tempDir } from '../helpers/net.ts'

/** A timer nobody clears, started before the CLI loads: the kind of leak the switch must catch. */
const LEAK = 'data:text/javascript,setInterval(() => {}, 1000)'

function run(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, CLI_PATH, 'version'], { env, cwd: REPO_ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr })
    })
  })
}

test('a leaked handle: under tests it is named on stderr and the run fails with 70; for a person the CLI exits anyway with its own code', async () => {
  const home = tempDir('cli-exit')
  try {
    const env = isolatedEnv(home.path)
    assert.equal(env.FRIENDTORRENT_NO_FORCED_EXIT, '1', 'tests run the CLI without the forced exit')
    const { FRIENDTORRENT_NO_FORCED_EXIT: _off, ...personEnv } = env
    // Independent processes, side by side: each leaky one waits out the 2 s grace.
    const [clean, leaky, forPerson] = await Promise.all([run([], env), run(['--import', LEAK], env), run(['--import', LEAK], personEnv)])
    assert.equal(clean.code, 0, clean.stderr)
    assert.equal(clean.stderr, '')
    assert.equal(leaky.code, 70, `${leaky.stdout}${leaky.stderr}`)
    assert.match(leaky.stdout, /^friendtorrent \d/, 'the command itself ran')
    assert.match(leaky.stderr, /^friendtorrent: still running 2000 ms after the command finished \(exit code 0\); open: .*\bTimeout\b/)
    assert.equal(forPerson.code, 0, forPerson.stderr)
    assert.equal(forPerson.stderr, '')
  } finally {
    await home.cleanup()
  }
})
