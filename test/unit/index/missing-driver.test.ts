// better-sqlite3 is optional: with it missing, the client still starts and
// downloads, and only opening the index says, in one line, what to install.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MISSING_SQLITE } from '../../../src/index/sqlite-store.ts'
import { tempDir } from '../../helpers/net.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const HIDE = fileURLToPath(new URL('../../helpers/hide-index-drivers.mjs', import.meta.url))

function node(script: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', HIDE, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

test('with the drivers hidden, importing better-sqlite3 fails (so the checks below mean something)', () => {
  const r = node("await import('better-sqlite3').then(() => console.log('loaded'), (e) => console.log(e.code))")
  assert.equal(r.stdout.trim(), 'ERR_MODULE_NOT_FOUND', r.stderr)
})

test('without better-sqlite3 the CLI and the session load, and opening the index fails with one line', async () => {
  const dir = tempDir('store-nodriver')
  try {
    const script = `
      const { main } = await import('./src/cli/main.ts')
      await import('./src/session/session.ts')
      await import('./src/cli/add-command.ts')
      const lines = []
      const code = await main(['version'], { out: (s) => lines.push(s), err: (s) => lines.push(s), env: process.env, cwd: process.cwd(), isTTY: false })
      console.log('version exit ' + code)
      const { openIndexStore } = await import('./src/index/open-store.ts')
      await openIndexStore('', ${JSON.stringify(dir.path)}).then(() => console.log('opened'), (e) => console.log('error: ' + e.message))`
    const r = node(script)
    assert.equal(r.stdout.trim(), `version exit 0\nerror: ${MISSING_SQLITE}`, r.stderr)
  } finally {
    await dir.cleanup()
  }
})
