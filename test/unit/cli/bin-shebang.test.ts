import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI_PATH } from '../../helpers/cli.ts'

// Linux reads a script's first 256 bytes (BINPRM_BUF_SIZE) for its #! line and drops what
// is past them without a word: a flag added at the end of bin/friendtorrent.js's shebang
// would silently not be passed to Node.

test("the bin's shebang line fits the kernel's 256-byte buffer, newline included", async () => {
  const first = (await readFile(CLI_PATH, 'utf8')).split('\n', 1)[0]
  assert.ok(Buffer.byteLength(first) + 1 <= 256, `the shebang is ${Buffer.byteLength(first) + 1} bytes: move a V8 flag to setFlagsFromString in the bin`)
})

test("every Node flag on the bin's shebang reaches Node", async () => {
  const first = (await readFile(CLI_PATH, 'utf8')).split('\n', 1)[0]
  const flags = first.slice(first.search(/ node /) + ' node '.length).trim().split(/\s+/)
  assert.ok(flags.includes('--no-turbofan'), first)
  const dir = await mkdtemp(join(tmpdir(), 'ft-shebang-'))
  try {
    const script = join(dir, 'argv.js')
    await writeFile(script, `${first}\nprocess.stdout.write(JSON.stringify(process.execArgv))\n`)
    await chmod(script, 0o755)
    assert.deepEqual(JSON.parse(execFileSync(script, { encoding: 'utf8' })), flags)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
