// The SQLite index when the file is not fine: locked by another process, on a
// full disk, corrupt. Each is one line a person can act on, nothing stored
// before is lost, and the failed batch leaves nothing half-written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openIndexStore, sqliteIndexPath } from '../../../src/index/open-store.ts'
import { SqliteIndexStore } from '../../../src/index/sqlite-store.ts'
import { tempDir } from '../../helpers/net.ts'
import { indexedTorrent, sampleTorrents } from './index-fixtures.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const oneLine = (pattern: RegExp) => (err: Error) => {
  assert.match(err.message, pattern)
  assert.ok(!err.message.includes('\n'), err.message)
  return true
}

/** Another process that holds the database: `mode` 'write' holds the write lock, 'exclusive' keeps every other connection out. Resolves once it holds it. */
async function holdLock(file: string, mode: 'write' | 'exclusive'): Promise<{ release: () => Promise<void> }> {
  const script = `
    const Database = (await import('better-sqlite3')).default
    const db = new Database(${JSON.stringify(file)})
    ${mode === 'exclusive' ? "db.pragma('locking_mode = EXCLUSIVE'); db.prepare('SELECT count(*) FROM torrents').get();" : ''}
    db.exec('BEGIN EXCLUSIVE')
    db.exec("INSERT INTO schema_version (version) SELECT max(version) FROM schema_version")
    console.log('holding')
    process.stdin.once('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0) })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('holding') && resolve())
    child.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)))
  })
  return {
    release: () =>
      new Promise((resolve) => {
        child.removeAllListeners('exit')
        child.on('exit', () => resolve())
        child.stdin.end('go\n')
      }),
  }
}

test('a database another process is writing to: the write waits, then fails in one line; once free, it works and nothing is lost', async () => {
  const dir = tempDir('store-locked')
  try {
    const file = join(dir.path, 'index.sqlite')
    const [first, second] = sampleTorrents()
    const setup = await SqliteIndexStore.open(file)
    await setup.insert([first])
    await setup.close()
    const store = await SqliteIndexStore.open(file, { busyTimeoutMs: 200 })
    const holder = await holdLock(file, 'write')
    try {
      await assert.rejects(store.insert([second]), oneLine(/^index database .*index\.sqlite is locked by another process; stop it or wait, then try again$/))
      assert.deepEqual(await store.storedAmong([first.infoHash, second.infoHash]), new Set([first.infoHash]), 'reads go on in WAL mode')
    } finally {
      await holder.release()
    }
    await store.insert([second])
    assert.deepEqual(await store.storedAmong([first.infoHash, second.infoHash]), new Set([first.infoHash, second.infoHash]))
    await store.close()
  } finally {
    await dir.cleanup()
  }
})

test('a database held exclusively by another process: opening it fails in one line', async () => {
  const dir = tempDir('store-locked')
  try {
    const file = join(dir.path, 'index.sqlite')
    await (await SqliteIndexStore.open(file)).close()
    const holder = await holdLock(file, 'exclusive')
    try {
      await assert.rejects(SqliteIndexStore.open(file, { busyTimeoutMs: 200 }), oneLine(/is locked by another process/))
    } finally {
      await holder.release()
    }
    await (await SqliteIndexStore.open(file)).close()
  } finally {
    await dir.cleanup()
  }
})

test('a file that is no database, and one whose schema page is garbage: one line naming the file and what to do; the file is left as it was', async () => {
  const dir = tempDir('store-corrupt')
  try {
    const state = join(dir.path, 'state')
    mkdirSync(state)
    const file = sqliteIndexPath(state)
    writeFileSync(file, Buffer.alloc(8192, 0x5a))
    await assert.rejects(openIndexStore('', state), oneLine(/^index database .*index\.sqlite is corrupt \(.*\); move it away and a new, empty index will be made$/))
    assert.ok(readFileSync(file).equals(Buffer.alloc(8192, 0x5a)), 'untouched')

    const other = join(dir.path, 'other')
    const store = await openIndexStore('', other)
    await store.insert(sampleTorrents())
    await store.close()
    const fd = openSync(sqliteIndexPath(other), 'r+')
    writeSync(fd, Buffer.alloc(2000, 0xff), 0, 2000, 100) // the schema table's page, past the header
    closeSync(fd)
    await assert.rejects(openIndexStore('', other), oneLine(/is corrupt/))
  } finally {
    await dir.cleanup()
  }
})

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

test('a full disk: the batch that does not fit fails in one line and leaves nothing half-stored; everything before stays', { skip: canMount() ? false : 'needs root to mount a 1 MiB tmpfs' }, async () => {
  const dir = tempDir('store-full')
  const mnt = join(dir.path, 'tiny')
  mkdirSync(mnt)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs-store-full', mnt])
  try {
    const store = await openIndexStore('', mnt)
    const stored: string[] = []
    let failure: Error | undefined
    for (let batch = 0; batch < 200 && !failure; batch++) {
      // Big file lists, so the disk fills in a few dozen batches.
      const ts = Array.from({ length: 10 }, (_, i) => indexedTorrent(`filler ${batch} ${i}`, Array.from({ length: 30 }, (_, j) => ({ path: [`some fairly long folder name ${j}`, `file number ${j} of batch ${batch}.mkv`], length: 1000 + j })), batch * 100 + i))
      try {
        await store.insert(ts)
        stored.push(...ts.map((t) => t.infoHash))
      } catch (err) {
        failure = err as Error
        assert.deepEqual(await store.storedAmong(ts.map((t) => t.infoHash)), new Set(), 'the failed batch stored nothing')
      }
    }
    assert.ok(failure, 'the 1 MiB disk never filled')
    oneLine(/^index database .*index\.sqlite: the disk is full; free some space and try again \(nothing stored so far is lost\)$/)(failure)
    assert.ok(stored.length > 0)
    assert.equal((await store.storedAmong(stored)).size, stored.length, 'everything stored before the disk filled is there')
    await store.close()
    const again = await openIndexStore('', mnt)
    assert.equal((await again.storedAmong(stored)).size, stored.length, 'and still there after reopening')
    assert.ok((await again.search({ text: 'filler', limit: 5 })).length > 0)
    await again.close()
  } finally {
    execFileSync('umount', [mnt])
    await dir.cleanup()
  }
})
