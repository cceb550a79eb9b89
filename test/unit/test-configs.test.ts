// Tests and the benchmark never let a client reach past this machine by
// accident: every friendtorrent config file they write goes through
// testConfigJson (DHT, LSD and port forwarding off unless the test turns one
// on) or names `lsd` and `portForwarding` itself.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : []
  })
}

test('every config.json a test or the benchmark writes keeps LSD and port forwarding off unless it says otherwise', () => {
  const offenders: string[] = []
  for (const file of [...files(join(ROOT, 'test')), ...files(join(ROOT, 'bench'))]) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (!/writeFileSync\(.*config(\.json'|File\b)/.test(line)) return
      if (line.includes('testConfigJson(') || (line.includes('lsd') && line.includes('portForwarding'))) return
      offenders.push(`${file.slice(ROOT.length)}:${i + 1}`)
    })
  }
  assert.deepEqual(offenders, [], 'write these with testConfigJson from test/helpers/cli.ts')
})
