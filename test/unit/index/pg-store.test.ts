// The PostgreSQL index against the running server (FRIENDTORRENT_TEST_PG),
// each test in a schema of its own, dropped afterwards: the shared store
// contract, two processes claiming and inserting at once, no write for a hash
// already stored, stale claims, migrations.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { openIndexStore } from '../../../src/index/open-store.ts'
import { PG_SCHEMA_VERSION, PgIndexStore } from '../../../src/index/pg-store.ts'
import { indexedTorrent, sampleTorrents } from './index-fixtures.ts'
import { storeContract } from './store-contract.ts'

const PG = process.env.FRIENDTORRENT_TEST_PG
const skip = PG ? false : 'FRIENDTORRENT_TEST_PG is not set'
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
let schemas = 0

/** A schema name no other test (or engineer) uses, and a URL that puts the index in it. */
function freshSchema(): { schema: string; spec: string; drop: () => Promise<void> } {
  const schema = `ft_store_${process.pid}_${Date.now() % 1e6}_${schemas++}`
  const url = new URL(PG!)
  url.searchParams.set('schema', schema)
  return {
    schema,
    spec: url.toString(),
    drop: async () => {
      const client = new pg.Client(PG)
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    },
  }
}

async function inSchema<T>(schema: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG, options: `-c search_path=${schema}` })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

storeContract(
  'postgres',
  async () => {
    const s = freshSchema()
    return { open: (options) => openIndexStore(s.spec, '/nonexistent', options), cleanup: s.drop }
  },
  skip,
)

test('postgres: the schema is made at the current version, once, however many open it at once', { skip }, async () => {
  const s = freshSchema()
  try {
    const stores = await Promise.all([openIndexStore(s.spec, ''), openIndexStore(s.spec, ''), openIndexStore(s.spec, '')])
    await Promise.all(stores.map((x) => x.close()))
    const versions = await inSchema(s.schema, async (c) => (await c.query('SELECT version FROM schema_version ORDER BY version')).rows.map((r) => r.version))
    assert.deepEqual(versions, Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1))
  } finally {
    await s.drop()
  }
})

test('postgres: storing hashes already stored writes nothing (row versions unchanged)', { skip }, async () => {
  const s = freshSchema()
  const store = await openIndexStore(s.spec, '')
  try {
    const ts = sampleTorrents()
    await store.insert(ts)
    const rowVersions = () => inSchema(s.schema, async (c) => (await c.query('SELECT xmin::text AS x, id FROM torrents ORDER BY id')).rows)
    const sequence = () => inSchema(s.schema, async (c) => (await c.query('SELECT last_value FROM torrents_id_seq')).rows[0].last_value)
    const [before, seqBefore] = [await rowVersions(), await sequence()]
    await store.insert([...ts].reverse())
    assert.deepEqual(await rowVersions(), before)
    assert.equal(await sequence(), seqBefore, 'not even a sequence number spent')
    await store.seen([ts[0].infoHash])
    assert.notDeepEqual(await rowVersions(), before, 'a write does show (so the check above can fail)')
  } finally {
    await store.close()
    await s.drop()
  }
})

test('postgres: a claim its worker never finished goes to another worker once it is stale', { skip }, async () => {
  const s = freshSchema()
  const [t] = sampleTorrents()
  const a = await PgIndexStore.open(s.spec, { claimLifetimeMs: 60_000 })
  const b = await PgIndexStore.open(s.spec, { claimLifetimeMs: 60_000 })
  try {
    assert.deepEqual(await a.claim([t.infoHash], 'a'), [t.infoHash])
    assert.deepEqual(await b.claim([t.infoHash], 'b'), [])
    await inSchema(s.schema, (c) => c.query("UPDATE claims SET claimed_at = now() - interval '2 minutes'"))
    assert.deepEqual(await b.claim([t.infoHash], 'b'), [t.infoHash])
    assert.deepEqual(await a.claim([t.infoHash], 'a'), [])
  } finally {
    await a.close()
    await b.close()
    await s.drop()
  }
})

/** A child process that opens the index, claims `hashes` in small shuffled batches, stores what it got plus `shared`, and prints its claims. */
const WORKER = `
  const [spec, worker, hashesJson] = process.argv.slice(-3)
  const { openIndexStore } = await import('./src/index/open-store.ts')
  const { indexedTorrent } = await import('./test/unit/index/index-fixtures.ts')
  const store = await openIndexStore(spec, '')
  const hashes = JSON.parse(hashesJson).sort(() => Math.random() - 0.5)
  // Both start claiming together: ready, then wait for the parent's go.
  console.log('ready')
  await new Promise((resolve) => process.stdin.once('data', resolve))
  process.stdin.destroy()
  const got = []
  for (let i = 0; i < hashes.length; i += 10) got.push(...await store.claim(hashes.slice(i, i + 10), worker))
  const shared = indexedTorrent('Shared by both workers', [{ path: ['same.mkv'], length: 1000 }], 4242)
  await store.insert([shared])
  await store.close()
  console.log(JSON.stringify(got))`

function runWorker(spec: string, name: string, hashes: string[], ready: () => void): { done: Promise<string[]>; go: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER, spec, name, JSON.stringify(hashes)], { cwd: ROOT })
  const done = new Promise<string[]>((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      if (!out.includes('ready') && (out + d).includes('ready')) ready()
      out += d
    })
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!))
      else reject(new Error(`worker ${name} exited ${code}: ${err.trim().split('\n').at(-1)}`))
    })
  })
  return { done, go: () => child.stdin.end('go\n') }
}

test('postgres: two processes claiming the same hashes at once never both get one; the same torrent from both is one row', { skip }, async () => {
  const s = freshSchema()
  try {
    await (await openIndexStore(s.spec, '')).close()
    const hashes = Array.from({ length: 1000 }, (_, i) => indexedTorrent(`t${i}`, [{ path: ['f'], length: 1 }], 10_000 + i).infoHash)
    let readyCount = 0
    const workers = ['a', 'b'].map((name) =>
      runWorker(s.spec, name, hashes, () => {
        if (++readyCount === 2) for (const w of workers) w.go()
      }),
    )
    const [a, b] = await Promise.all(workers.map((w) => w.done))
    const both = a.filter((h) => new Set(b).has(h))
    assert.deepEqual(both, [], `${both.length} hashes went to both workers`)
    assert.deepEqual(new Set([...a, ...b]), new Set(hashes), 'every hash went to one of them')
    assert.ok(a.length > 0 && b.length > 0, `both took part (a ${a.length}, b ${b.length})`)
    const rows = await inSchema(s.schema, async (c) => (await c.query("SELECT count(*)::int AS n FROM torrents WHERE name = 'Shared by both workers'")).rows[0].n)
    assert.equal(rows, 1)
    const files = await inSchema(s.schema, async (c) => (await c.query('SELECT count(*)::int AS n FROM files')).rows[0].n)
    assert.equal(files, 1)
  } finally {
    await s.drop()
  }
})

test('postgres: two stores writing the same rows in opposite orders at once never fail (rows taken in hash order, deadlocks retried)', { skip }, async () => {
  const s = freshSchema()
  const a = await PgIndexStore.open(s.spec)
  const b = await PgIndexStore.open(s.spec)
  try {
    const torrents = Array.from({ length: 60 }, (_, i) => indexedTorrent(`d${i}`, [{ path: ['f'], length: 1 }], 20_000 + i))
    const hashes = torrents.map((t) => t.infoHash)
    const reversed = [...hashes].reverse()
    for (let round = 0; round < 8; round++) {
      const part = hashes.slice(round * 5, round * 5 + 30)
      // Hashes nobody has claimed yet: each claim inserts their rows.
      const fresh = Array.from({ length: 400 }, () => randomBytes(20).toString('hex'))
      await Promise.all([
        a.claim(fresh, 'a'),
        b.claim([...fresh].reverse(), 'b'),
        a.claim(hashes, 'a'),
        b.claim(reversed, 'b'),
        a.seen(hashes),
        b.seen(reversed),
        a.insert(torrents.filter((t) => part.includes(t.infoHash))),
        b.insert(torrents.filter((t) => part.includes(t.infoHash)).reverse()),
      ])
    }
    const rows = await inSchema(s.schema, async (c) => (await c.query('SELECT count(*)::int AS n, count(DISTINCT info_hash)::int AS d FROM torrents')).rows[0])
    assert.deepEqual(rows, { n: 60, d: 60 }, 'every torrent stored once')
  } finally {
    await a.close()
    await b.close()
    await s.drop()
  }
})

test('postgres: NUL in a name (which PostgreSQL text cannot hold) is stored as U+FFFD; an unreachable server is one line', { skip }, async () => {
  const s = freshSchema()
  const store = await openIndexStore(s.spec, '')
  try {
    await store.insert([indexedTorrent('nul\u0000name', [{ path: ['x\u0000y.mkv'], length: 5 }], 77)])
    const [r] = await store.search({ text: 'nul', limit: 5 })
    assert.equal(r.name, 'nul\ufffdname')
  } finally {
    await store.close()
    await s.drop()
  }
  await assert.rejects(openIndexStore('postgres://nobody:secret@127.0.0.1:1/none', ''), (err: Error) => {
    assert.match(err.message, /^cannot reach the index database at 127\.0\.0\.1:1\/none: ECONNREFUSED$/)
    return true
  })
})
