// A running session's control channel and the index: `search` answers from
// the index (opened at the first search, so a crawl may make it later), and
// `add` of a magnet the index holds starts from the stored info dict, no
// metadata fetch; without an index, `search` is one line.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { defaultConfig } from '../../src/cli/config.ts'
import { hostSession } from '../../src/cli/session-host.ts'
import { openIndexStore } from '../../src/index/open-store.ts'
import type { SearchResult } from '../../src/index/search.ts'
import { tempDir } from '../helpers/net.ts'
import { sampleTorrents } from '../unit/index/index-fixtures.ts'

test('a session searches the index made after it started, and adds a result from its stored info dict', { timeout: 60_000 }, async () => {
  const work = tempDir('store-session-search')
  const stateDir = join(work.path, 'state')
  const hosted = await hostSession({ config: { ...defaultConfig(), dht: false, listenPort: 0 }, stateDir, cwd: work.path, saveDir: join(work.path, 'out'), download: false })
  try {
    await hosted.session.start()
    await assert.rejects(hosted.handler('search', { text: 'bunny' }), /^FriendError: no index in .* yet: `friendtorrent crawl` makes one/)
    const ts = sampleTorrents()
    const index = await openIndexStore('', stateDir)
    await index.insert(ts)
    await index.close()
    const found = (await hosted.handler('search', { text: 'bun', prefix: true, limit: 5 })) as SearchResult[]
    assert.deepEqual(found.map((r) => r.name), ['Big Buck Bunny 1080p', 'Sintel'])
    await assert.rejects(hosted.handler('search', { text: 'x', limit: 0 }), /a search limit is a whole number from 1 to 1000, got 0/)
    const added = (await hosted.handler('add', { magnet: found[0].magnet })) as { added: boolean; fromIndex?: boolean; summary: { name: string; state: string; sizeBytes: number } }
    assert.equal(added.fromIndex, true)
    assert.equal(added.added, true)
    assert.equal(added.summary.name, 'Big Buck Bunny 1080p')
    assert.notEqual(added.summary.state, 'fetching metadata')
    assert.equal(added.summary.sizeBytes, ts[0].sizeBytes)
    // Let its check of the (absent) data finish before the session closes.
    const deadline = Date.now() + 20_000
    for (;;) {
      const [t] = (await hosted.handler('list', {})) as { state: string }[]
      if (t && t.state !== 'checking') break
      assert.ok(Date.now() < deadline, `still ${t?.state}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  } finally {
    await hosted.close()
    await work.cleanup()
  }
})
