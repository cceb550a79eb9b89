// Our seeder serving our leecher on loopback, and the seeder refusing bad requests.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeOddLayout } from '../../fixtures/make-fixtures.ts'
import { describeRun, downloadWithCli } from '../helpers/cli.ts'
import { assertSameTree } from '../helpers/compare.ts'
import { tempDir } from '../helpers/net.ts'
import { startOurSeeder } from '../helpers/our-seeder.ts'
import { runStepped, steppedLimit } from '../helpers/stepped-limit.ts'
import { startTracker } from '../helpers/tracker.ts'

test('an upload limit paces our seeder: on the limiter\'s clock, never faster than the limit and no slower', async () => {
  const work = tempDir('ft-seed-limit')
  const tracker = await startTracker()
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const limit = steppedLimit(512 * 1024)
    const stepMs = 250
    const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false, uploadLimiter: limit.limiter })
    try {
      const outDir = join(work.path, 'out')
      let finished = false
      const leecher = downloadWithCli({ torrentPath: fixture.torrentPath, outDir, timeoutMs: 60_000, peers: [`127.0.0.1:${seeder.port}`] }).finally(() => (finished = true))
      const { steps, doneAtMs } = await runStepped(limit, {
        stepMs,
        // Every byte granted; or the leecher gave up, which the exit code below reports.
        done: () => limit.limiter.grantedBytes >= fixture.totalBytes || finished,
        // The uploader sends as soon as the limiter lets it: once tokens are short, nothing more is owed.
        settled: () => true,
        moved: () => seeder.torrent.snapshot().uploadedBytes,
        describe: () => JSON.stringify({ ...seeder.torrent.snapshot(), peers: undefined }),
      })
      const run = await leecher
      assert.equal(run.code, 0, describeRun(run))
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      // Never faster: what the seeder sent never exceeds the burst plus the rate times the limiter's time.
      for (const step of steps) {
        const allowed = limit.burstBytes + (limit.rateBytesPerSec * step.atMs) / 1000
        assert.ok(step.movedBytes <= allowed, `${step.movedBytes} bytes uploaded by ${step.atMs} ms, the limit allows ${allowed}`)
      }
      assert.ok(seeder.torrent.snapshot().uploadedBytes <= limit.limiter.grantedBytes, 'nothing was uploaded without the limiter granting it')
      assert.ok(limit.limiter.grantedBytes >= fixture.totalBytes, 'the whole torrent went through the limiter')
      // No slower: each step's tokens were used at once, so the upload ended when the limit allowed.
      const needMs = ((fixture.totalBytes - limit.burstBytes) / limit.rateBytesPerSec) * 1000
      assert.ok(doneAtMs >= needMs - stepMs && doneAtMs <= needMs + 2 * stepMs, `done at ${doneAtMs} ms on the limiter's clock, the limit allows ${Math.round(needMs)}`)
    } finally {
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})

test('our seeder serves our leecher, byte for byte', async () => {
  const work = tempDir('ft-seed')
  const tracker = await startTracker()
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false })
    try {
      const outDir = join(work.path, 'out')
      const run = await downloadWithCli({ torrentPath: fixture.torrentPath, outDir, timeoutMs: 30_000, peers: [`127.0.0.1:${seeder.port}`] })
      assert.equal(run.code, 0, describeRun(run))
      await assertSameTree(join(fixture.payloadDir, fixture.name), join(outDir, fixture.name))
      assert.ok(seeder.torrent.snapshot().uploadedBytes >= fixture.totalBytes, 'the seeder counted what it uploaded')
    } finally {
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})

test('bad requests are refused without harming the connection; a good one is then served', async () => {
  const { connect } = await import('node:net')
  const { readFile } = await import('node:fs/promises')
  const { Decoder, encode, encodeHandshake } = await import('../../src/wire/index.ts')
  const { parseTorrentFile } = await import('../../src/metainfo/metainfo.ts')
  const work = tempDir('ft-seed-bad')
  const tracker = await startTracker()
  try {
    const fixture = await makeOddLayout(join(work.path, 'fixture'), { announce: [tracker.httpUrl] })
    const meta = await parseTorrentFile(await readFile(fixture.torrentPath))
    const seeder = await startOurSeeder({ torrentPath: fixture.torrentPath, dataDir: fixture.payloadDir, useTrackers: false })
    const socket = connect({ host: '127.0.0.1', port: seeder.port })
    const decoder = new Decoder({ expectHandshake: true })
    const received: string[] = []
    let block: Buffer | undefined
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        received.push(m.type)
        if (m.type === 'piece') block = Buffer.from(m.block)
      }
    })
    const until = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 10_000
      while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      assert.ok(what(), label)
    }
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      socket.write(encodeHandshake(meta.infoHash, Buffer.from('-XX0001-abcdefghijkl'), { extended: false }))
      await until(() => received.includes('bitfield'), 'the seeder sent its bitfield')
      socket.write(encode({ type: 'request', index: 0, begin: 0, length: 16384 })) // before unchoke
      socket.write(encode({ type: 'interested' }))
      await until(() => received.includes('unchoke'), 'the seeder unchoked an interested peer')
      socket.write(encode({ type: 'request', index: 0, begin: meta.pieceLength - 1, length: 2 })) // past the piece's end
      socket.write(encode({ type: 'request', index: 0, begin: 0, length: 32768 })) // over 16 KiB
      socket.write(encode({ type: 'request', index: meta.pieceCount, begin: 0, length: 16384 })) // no such piece
      socket.write(encode({ type: 'request', index: 1, begin: 16384, length: 16384 })) // fine
      await until(() => block !== undefined, 'the good request was served')
      assert.equal(received.filter((t) => t === 'piece').length, 1, 'only the good request was answered')
      // Judged against the files themselves: the bytes at piece 1, offset 16384, wherever files split them.
      const start = meta.pieceLength + 16384
      const expected = Buffer.concat(
        meta.files
          .filter((f) => f.offset < start + 16384 && f.offset + f.length > start)
          .map((f) => readFileSync(join(fixture.payloadDir, ...f.path)).subarray(Math.max(0, start - f.offset), start + 16384 - f.offset)),
      )
      assert.equal(expected.length, 16384)
      assert.ok(block!.equals(expected), 'the block served is the file data at piece 1, offset 16384')
      assert.ok(!socket.destroyed, 'the connection is still open')
      assert.ok(seeder.torrent.snapshot().connectedPeers === 1)
    } finally {
      socket.destroy()
      await seeder.stop()
    }
  } finally {
    await tracker.close()
    await work.cleanup()
  }
})
