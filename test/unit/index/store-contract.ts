// What every IndexStore must do, whatever the database: written once, run
// against SQLite (sqlite-store.test.ts) and PostgreSQL (pg-store.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IndexedTorrent } from '../../../src/index/index-store.ts'
import type { OpenedIndex } from '../../../src/index/open-store.ts'
import type { IndexBlocklist } from '../../../src/index/blocklist.ts'
import { indexedTorrent, sampleTorrents } from './index-fixtures.ts'

export interface StoreFactory {
  /** A fresh, empty index. */
  open(options?: { blocklist?: IndexBlocklist }): Promise<OpenedIndex>
  cleanup(): Promise<void>
}

const hashes = (ts: IndexedTorrent[]) => ts.map((t) => t.infoHash)

export function storeContract(label: string, factory: () => Promise<StoreFactory>, skip: string | false = false): void {
  const run = (name: string, body: (store: OpenedIndex, f: StoreFactory) => Promise<void>, options?: { blocklist?: IndexBlocklist }) =>
    test(`${label}: ${name}`, { skip }, async () => {
      const f = await factory()
      const store = await f.open(options)
      try {
        await body(store, f)
      } finally {
        await store.close()
        await f.cleanup()
      }
    })

  run('stores a batch; knows what it stores; gives the info dict back byte for byte', async (store) => {
    const ts = sampleTorrents()
    const absent = indexedTorrent('never stored', [{ path: ['x.bin'], length: 10 }], 99)
    assert.deepEqual(await store.storedAmong(hashes(ts)), new Set())
    await store.insert(ts)
    assert.deepEqual(await store.storedAmong([...hashes(ts), absent.infoHash, 'not-a-hash']), new Set(hashes(ts)))
    for (const t of ts) assert.ok((await store.infoDict(t.infoHash))!.equals(t.infoDict), t.name)
    assert.equal(await store.infoDict(absent.infoHash), undefined)
    assert.ok((await store.sizeBytes()) > 0)
  })

  run('the same torrent twice, in one batch or two, is one row and no error', async (store) => {
    const [a, b] = sampleTorrents()
    await store.insert([a, a, b])
    await store.insert([a, { ...b, name: 'Sintel renamed' }])
    const found = await store.search({ text: 'sintel', limit: 10 })
    assert.deepEqual(found.map((r) => r.name), ['Sintel'])
    assert.equal((await store.search({ text: 'bunny 1080p', limit: 10 })).filter((r) => r.infoHash === a.infoHash).length, 1)
  })

  run('claim hands out hashes not stored and not held by another worker; release gives one back', async (store) => {
    const [stored, x, y] = sampleTorrents()
    await store.insert([stored])
    assert.deepEqual(new Set(await store.claim([stored.infoHash, x.infoHash, x.infoHash], 'w1')), new Set([x.infoHash]))
    assert.deepEqual(await store.claim([x.infoHash, y.infoHash], 'w2'), [y.infoHash])
    assert.deepEqual(await store.claim([x.infoHash], 'w1'), [x.infoHash], 'a worker may ask again for what it holds')
    await store.release(x.infoHash, 'w2') // not w2's: nothing changes
    assert.deepEqual(await store.claim([x.infoHash], 'w2'), [])
    await store.release(x.infoHash, 'w1')
    assert.deepEqual(await store.claim([x.infoHash], 'w2'), [x.infoHash])
    await store.insert([x])
    assert.deepEqual(await store.claim([x.infoHash], 'w1'), [], 'stored now')
  })

  run('search ranks, filters by category and size, limits, and matches a prefix when asked', async (store) => {
    await store.insert(sampleTorrents())
    const bunny = await store.search({ text: 'Bunny', limit: 10 })
    assert.deepEqual(bunny.map((r) => r.name), ['Big Buck Bunny 1080p', 'Sintel'], 'a name match ranks above a file-path match')
    const r = bunny[0]
    assert.equal(r.category, 'video')
    assert.equal(r.fileCount, 2)
    assert.equal(r.sizeBytes, 302_000)
    assert.match(r.infoHash, /^[0-9a-f]{40}$/)
    assert.equal(r.magnet, `magnet:?xt=urn:btih:${r.infoHash}&dn=Big%20Buck%20Bunny%201080p`)
    assert.equal(r.discoveredAt, new Date(Date.parse(r.discoveredAt)).toISOString())
    assert.equal(r.seeders, null)
    assert.deepEqual((await store.search({ text: 'bunny', limit: 1 })).map((x) => x.name), ['Big Buck Bunny 1080p'])
    assert.deepEqual((await store.search({ text: 'bunny', limit: 10, minSizeBytes: 250_000 })).map((x) => x.name), ['Big Buck Bunny 1080p'])
    assert.deepEqual((await store.search({ text: 'epub', limit: 10, category: 'ebook' })).map((x) => x.name), ['Public domain books'])
    assert.deepEqual(await store.search({ text: 'epub', limit: 10, category: 'video' }), [])
    assert.deepEqual((await store.search({ text: 'debian amd64 netinst', limit: 10 })).map((x) => x.category), ['software'])
    assert.deepEqual(await store.search({ text: 'debian sintel', limit: 10 }), [], 'every word must match')
    assert.deepEqual(await store.search({ text: 'deb', limit: 10 }), [])
    assert.deepEqual((await store.search({ text: 'deb', limit: 10, prefix: true })).map((x) => x.name), ['Debian 12 netinst'])
    assert.deepEqual(await store.search({ text: ' "*:() ', limit: 10 }), [], 'punctuation alone searches nothing')
    assert.deepEqual(await store.search({ text: 'AND OR NOT "bunny', limit: 10 }), [], 'operators are words, not syntax')
  })

  run('seen moves last seen forward, not first seen', async (store) => {
    const [a] = sampleTorrents()
    await store.insert([a])
    const before = (await store.search({ text: 'bunny', limit: 1 }))[0]
    await new Promise((r) => setTimeout(r, 5))
    await store.seen([a.infoHash, 'not-a-hash'])
    const after = (await store.search({ text: 'bunny', limit: 1 }))[0]
    assert.equal(after.discoveredAt, before.discoveredAt)
    assert.ok(Date.parse(after.lastSeenAt) > Date.parse(before.lastSeenAt), `${after.lastSeenAt} > ${before.lastSeenAt}`)
  })

  run('names with control characters are stored as they are', async (store) => {
    const t = indexedTorrent('evil\u001b[2J\u0007name\u202e', [{ path: ['payload.mkv'], length: 100 }], 7)
    await store.insert([t])
    const [r] = await store.search({ text: 'evil', limit: 5 })
    assert.equal(r.name, t.name)
  })

  const blocklist = { words: ['forbidden', 'bad words'], infoHashes: [] as string[] }
  const [blockedByHash] = sampleTorrents()
  blocklist.infoHashes.push(blockedByHash.infoHash.toUpperCase())
  run(
    'blocklisted words and info hashes are never stored, and a blocked hash is never claimed',
    async (store) => {
      const byName = indexedTorrent('Forbidden.Fruit.2020', [{ path: ['a.mkv'], length: 10 }], 11)
      const byPath = indexedTorrent('innocent', [{ path: ['really', 'BAD-words.txt'], length: 10 }], 12)
      const wordsApart = indexedTorrent('bad but fine words', [{ path: ['b.txt'], length: 10 }], 13)
      const subword = indexedTorrent('unforbiddenish', [{ path: ['c.txt'], length: 10 }], 14)
      await store.insert([blockedByHash, byName, byPath, wordsApart, subword])
      assert.deepEqual(await store.storedAmong(hashes([blockedByHash, byName, byPath, wordsApart, subword])), new Set(hashes([wordsApart, subword])))
      assert.deepEqual(await store.claim([blockedByHash.infoHash], 'w'), [])
    },
    { blocklist },
  )
}
