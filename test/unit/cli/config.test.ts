import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig, paths, validateConfig } from '../../../src/cli/config.ts'

test('paths honour XDG_CONFIG_HOME, XDG_DATA_HOME and HOME', () => {
  const p = paths({ HOME: '/home/u', XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: '/data' })
  assert.equal(p.configFile, '/cfg/friendtorrent/config.json')
  assert.equal(p.dataDir, '/data/friendtorrent')
  const q = paths({ HOME: '/home/u' })
  assert.equal(q.configFile, '/home/u/.config/friendtorrent/config.json')
  assert.equal(q.dataDir, '/home/u/.local/share/friendtorrent')
})

test('a missing config gives the defaults; config.example.json is valid and equals them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ft-config-'))
  try {
    const defaults = await loadConfig(join(dir, 'absent.json'))
    assert.equal(defaults.listenPort, 6881)
    const example = JSON.parse(await readFile(new URL('../../../config.example.json', import.meta.url), 'utf8'))
    assert.deepEqual(validateConfig(example, 'config.example.json'), defaults)
    assert.deepEqual(Object.keys(example).sort(), Object.keys(defaults).sort(), 'the example documents every option')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('bad config gives one line naming the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ft-config-'))
  try {
    const file = join(dir, 'config.json')
    await writeFile(file, JSON.stringify({ listenPort: 70000 }))
    await assert.rejects(loadConfig(file), (err: Error) => /listenPort/.test(err.message) && !err.message.includes('\n'))
    await writeFile(file, JSON.stringify({ listenprot: 1 }))
    await assert.rejects(loadConfig(file), /unknown option "listenprot"/)
    await writeFile(file, JSON.stringify({ maxStrikes: 2.5 }))
    await assert.rejects(loadConfig(file), /maxStrikes must be a whole number from 1 to 100, got 2.5/)
    await writeFile(file, JSON.stringify({ maxConnectionsPerIp: 0 }))
    await assert.rejects(loadConfig(file), /maxConnectionsPerIp must be a whole number from 1 to 1000, got 0/)
    await writeFile(file, JSON.stringify({ maxPendingRequestsPerPeer: 5000 }))
    await assert.rejects(loadConfig(file), /maxPendingRequestsPerPeer must be a whole number from 16 to 2000, got 5000/)
    await writeFile(file, '[]')
    await assert.rejects(loadConfig(file), /must be a JSON object/)
    await writeFile(file, '{ nope')
    await assert.rejects(loadConfig(file), /not valid JSON/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('stateDir from the config wins; empty means the XDG data folder', async () => {
  const { defaultConfig, resolveStateDir } = await import('../../../src/cli/config.ts')
  const env = { HOME: '/home/u', XDG_DATA_HOME: '/data' }
  assert.equal(resolveStateDir(defaultConfig(), env, '/work'), '/data/friendtorrent')
  assert.equal(resolveStateDir({ ...defaultConfig(), stateDir: 'state' }, env, '/work'), '/work/state')
  assert.equal(resolveStateDir({ ...defaultConfig(), stateDir: '/srv/ft' }, env, '/work'), '/srv/ft')
})

test('indexBlocklist: words and info hashes, checked; hashes kept lower-case; anything else one line', async () => {
  assert.deepEqual(validateConfig({ indexBlocklist: { words: ['cam', 'bad words'], infoHashes: ['AB'.repeat(20)] } }, 'c').indexBlocklist, { words: ['cam', 'bad words'], infoHashes: ['ab'.repeat(20)] })
  assert.deepEqual(validateConfig({ indexBlocklist: { words: ['x'] } }, 'c').indexBlocklist, { words: ['x'], infoHashes: [] })
  assert.deepEqual(validateConfig({}, 'c').indexBlocklist, { words: [], infoHashes: [] })
  assert.notEqual(validateConfig({}, 'c').indexBlocklist, validateConfig({}, 'c').indexBlocklist, 'each config its own copy of the default')
  assert.throws(() => validateConfig({ indexBlocklist: ['cam'] }, 'c'), /indexBlocklist must be an object/)
  assert.throws(() => validateConfig({ indexBlocklist: { word: [] } }, 'c'), /unknown key "word" \(known: words, infoHashes\)/)
  assert.throws(() => validateConfig({ indexBlocklist: { words: ['...'] } }, 'c'), /words must be a list of words .* got "..."/)
  assert.throws(() => validateConfig({ indexBlocklist: { infoHashes: ['abc'] } }, 'c'), /infoHashes must be a list of 40-hex-digit info hashes, got "abc"/)
  assert.equal(validateConfig({ indexDatabase: 'postgres://h/db' }, 'c').indexDatabase, 'postgres://h/db')
})
