// Skipping a file: it is never created, its neighbours come out whole, the
// torrent finishes its selection; un-skipping it downloads it after all.
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import type { FilePriority } from '../../src/storage/file-priorities.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { startTracker } from '../helpers/tracker.ts'

test('a skipped file is never written; un-skipped later, it is downloaded', { timeout: 60_000 }, async () => {
  const tracker = await startTracker({ intervalMs: 2_000 })
  const work = tempDir('ft-prio')
  const built = buildTorrent({ name: 'odd', files: ODD_LAYOUT, pieceLength: 16 * 1024, announce: [tracker.httpUrl], seed: 41 })
  const torrentPath = join(work.path, 'odd.torrent')
  writeFileSync(torrentPath, built.torrent)
  let offset = 0
  const slices = ODD_LAYOUT.map((f) => {
    const slice = built.payload.subarray(offset, offset + f.length)
    offset += f.length
    mkdirSync(join(work.path, 'seed', 'odd', ...f.path.slice(0, -1)), { recursive: true })
    writeFileSync(join(work.path, 'seed', 'odd', ...f.path), slice)
    return slice
  })
  const seeder = await startOurSeeder({ torrentPath, dataDir: join(work.path, 'seed') })
  const session = await openTestSession(join(work.path, 'state'), { maxActiveDownloads: 2, maxActiveSeeds: 2, maxConnectionsPerTorrent: 10, maxHalfOpenConnections: 4 })
  await session.start()
  const skipped = ODD_LAYOUT.findIndex((f) => f.path.at(-1) === 'ñandú.bin')
  const out = join(work.path, 'out')
  const file = (i: number) => join(out, 'odd', ...ODD_LAYOUT[i].path)
  const until = async (what: () => boolean, label: string) => {
    const deadline = Date.now() + 20_000
    while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(what(), label)
  }
  try {
    const priorities: FilePriority[] = ODD_LAYOUT.map((_, i) => (i === skipped ? 'skip' : 'normal'))
    await session.add(built.torrent, out, { filePriorities: priorities })
    await until(() => session.list()[0].state === 'seeding', 'the selection finished')
    assert.ok(!existsSync(file(skipped)), 'the skipped file never appears')
    for (let i = 0; i < ODD_LAYOUT.length; i++) if (i !== skipped) assert.ok(readFileSync(file(i)).equals(slices[i]), `${ODD_LAYOUT[i].path.join('/')} is whole`)
    assert.ok(session.list()[0].progress < 1, 'progress counts the skipped bytes as missing')
    assert.equal(session.files(built.infoHash.toString('hex')).at(skipped)?.priority, 'skip')

    await session.setFilePriority(built.infoHash.toString('hex'), [skipped], 'high')
    await until(() => session.list()[0].progress === 1, 'the un-skipped file was downloaded')
    assert.ok(readFileSync(file(skipped)).equals(slices[skipped]), 'the un-skipped file is correct')
  } finally {
    await session.close()
    await seeder.stop()
    await tracker.close()
    await work.cleanup()
  }
})
