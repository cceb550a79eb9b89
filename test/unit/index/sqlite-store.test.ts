// The SQLite index: the shared store contract, plus what is SQLite's own:
// WAL, the schema version and migrations, reopening, no write for a hash
// already stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SQLITE_INDEX_FILE as CLI_SQLITE_INDEX_FILE } from '../../../src/cli/index-access.ts'
import { openIndexStore, SQLITE_INDEX_FILE, sqliteIndexPath } from '../../../src/index/open-store.ts'
import { SQLITE_SCHEMA_VERSION } from '../../../src/index/sqlite-store.ts'
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
