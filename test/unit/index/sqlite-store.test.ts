// The SQLite index: the shared store contract, plus what is SQLite's own:
// WAL, the schema version and migrations, reopening, no write for a hash
// already stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SQLITE_INDEX_FILE as CLI_SQLITE_INDEX_FILE } from '../../../src/cli/index-access.ts'
import { openIndexStore, SQLITE_INDEX_FILE, sqliteIndexPath } from '../../../src/index/open-store.ts'
import { RANK_WINDOW, SQLITE_SCHEMA_VERSION } from '../../../src/index/sqlite-store.ts'
import type { IndexedTorrent } from '../../../src/index/index-store.ts'
import { tempDir } from '../../helpers/net.ts'
import { sampleTorrents } from './index-fixtures.ts'
import { storeContract } from './store-contract.ts'

storeContract('sqlite', async () => {
  const dir = tempDir('store-sqlite')
  return { open: (options) => openIndexStore('', join(dir.path, 'state'), options), cleanup: dir.cleanup }
})

test('sqlite: the file is made in the state folder, in WAL mode, at the current schema version; reopening keeps the data', async () => {
  const dir = tempDir('store-sqlite')
  try {
    const state = join(dir.path, 'state')
    const store = await openIndexStore('', state)
    const ts = sampleTorrents()
    await store.insert(ts)
    await store.close()
    const file = sqliteIndexPath(state)
    assert.ok(existsSync(file))
    assert.equal(CLI_SQLITE_INDEX_FILE, SQLITE_INDEX_FILE, 'the CLI looks for the file the store makes')
    const db = new Database(file, { readonly: true })
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    assert.deepEqual(db.prepare('SELECT version FROM schema_version').pluck().all(), Array.from({ length: SQLITE_SCHEMA_VERSION }, (_, i) => i + 1))
    assert.equal(db.prepare('SELECT count(*) FROM torrents').pluck().get(), ts.length)
    assert.equal(db.prepare('SELECT count(*) FROM files').pluck().get(), ts.reduce((n, t) => n + t.files.length, 0))
    db.close()
    const again = await openIndexStore('', state)
    assert.equal((await again.storedAmong(ts.map((t) => t.infoHash))).size, ts.length)
    await again.close()
  } finally {
    await dir.cleanup()
  }
})

test('sqlite: a database from a newer friendtorrent is refused in one line, untouched', async () => {
  const dir = tempDir('store-sqlite')
  try {
    const state = join(dir.path, 'state')
    await (await openIndexStore('', state)).close()
    const db = new Database(sqliteIndexPath(state))
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SQLITE_SCHEMA_VERSION + 5)
    db.close()
    await assert.rejects(openIndexStore('', state), (err: Error) => {
      assert.match(err.message, /schema version \d+, newer than this friendtorrent knows/)
      assert.ok(!err.message.includes('\n'))
      return true
    })
  } finally {
    await dir.cleanup()
  }
})

test('sqlite: storing hashes already stored writes nothing', async () => {
  const dir = tempDir('store-sqlite')
  try {
    const state = join(dir.path, 'state')
    const store = await openIndexStore('', state)
    const ts = sampleTorrents()
    await store.insert(ts)
    const file = sqliteIndexPath(state)
    const watcher = new Database(file, { readonly: true })
    const version = () => watcher.pragma('data_version', { simple: true })
    const before = version()
    const size = await store.sizeBytes()
    await store.insert([...ts].reverse())
    assert.equal(version(), before, 'no commit reached the file')
    assert.equal(await store.sizeBytes(), size)
    await store.insert([{ ...ts[0], infoHash: 'f'.repeat(40) }])
    assert.notEqual(version(), before, 'a new hash does write (so the check above can fail)')
    watcher.close()
    await store.close()
  } finally {
    await dir.cleanup()
  }
})

test('an index spec that is neither empty nor postgres:// is refused in one line', async () => {
  await assert.rejects(openIndexStore('mysql://x', '/nonexistent'), /indexDatabase must be empty .* or a postgres:\/\/ URL, got "mysql:\/\/x"/)
})

test('sqlite: a word matching more than RANK_WINDOW torrents is ranked among the newest of them; a rarer query is ranked over all', async () => {
  const dir = tempDir('store-sqlite')
  try {
    const store = await openIndexStore('', join(dir.path, 'state'))
    const make = (i: number, name: string): IndexedTorrent => ({
      infoHash: createHash('sha1').update(`window ${i}`).digest('hex'),
      name,
      sizeBytes: 1,
      pieceLength: 16384,
      pieceCount: 1,
      files: [{ path: 'f.bin', sizeBytes: 1 }],
      infoDict: Buffer.from('de'),
      collectedAt: i,
    })
    // The oldest is the best match for "common" (its name is only that word), then RANK_WINDOW + 10 newer, longer ones.
    await store.insert([make(0, 'common oldest')])
    for (let start = 1; start <= RANK_WINDOW + 10; start += 1000) {
      await store.insert(Array.from({ length: Math.min(1000, RANK_WINDOW + 11 - start) }, (_, k) => make(start + k, `common filler words for number ${start + k}`)))
    }
    const [top] = await store.search({ text: 'common', limit: 1 })
    assert.notEqual(top.name, 'common oldest', 'outside the window of the newest matches')
    assert.deepEqual((await store.search({ text: 'common oldest', limit: 5 })).map((r) => r.name), ['common oldest'])
    const all = await store.search({ text: 'common', limit: 1000 })
    assert.equal(all.length, 1000)
    await store.close()
  } finally {
    await dir.cleanup()
  }
})
