// The dashboard's UI loads without Node's fetch implementation (undici):
// yoga-layout would decode its WebAssembly through fetch(data:) and keep
// undici loaded (+6 MB RSS); load-ui.ts hides fetch for that moment and puts
// it back. Each case runs in a fresh Node, whose loaded built-ins it lists.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { REPO_ROOT } from '../helpers/cli.ts'

function inFreshNode(code: string): Record<string, unknown> {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 })
  assert.equal(run.status, 0, run.stderr)
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!)
}

const UNDICI = 'process.moduleLoadList.some((m) => /undici/.test(m))'

test('yoga-layout loaded with fetch in sight loads undici (why load-ui.ts hides it)', () => {
  const out = inFreshNode(`await import('yoga-layout'); console.log(JSON.stringify({ undici: ${UNDICI} }))`)
  assert.equal(out.undici, true)
})

test('loadDashboardUi loads Ink and the dashboard without undici and puts fetch back', () => {
  const out = inFreshNode(`
    const before = globalThis.fetch
    const { loadDashboardUi } = await import('./src/tui/load-ui.ts')
    const ui = await loadDashboardUi()
    const element = ui.dashboard({ backend: { call: async () => [], attachedTo: undefined }, cwd: '/', onQuit: () => {} })
    console.log(JSON.stringify({ undici: ${UNDICI}, restored: globalThis.fetch === before, render: typeof ui.render, element: typeof element.type }))`)
  assert.deepEqual(out, { undici: false, restored: true, render: 'function', element: 'function' })
})
