// A torrent stopped by a full disk still waits for space after the session
// restarts: the library remembers it, and the next session resumes it on its
// own once its save folder has room (here: it always had, so at the first look).
import { openTestSession } from '../helpers/session.ts'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { StateStore } from '../../src/session/state-store.ts'
import { buildTorrent } from '../helpers/make-torrent.ts'
import { TickCountingClock } from '../helpers/fake-clock.ts'
import { tempDir, waitUntil } from '../helpers/net.ts'

test('a disk-full error survives a restart and resumes on its own once there is space', { timeout: 30_000 }, async () => {
  const work = tempDir('disk-full-restart')
  const built = buildTorrent({ name: 'full.bin', files: 5 * 16384 + 7, pieceLength: 16384, seed: 31 })
  const save = join(work.path, 'save')
  mkdirSync(save, { recursive: true })
  writeFileSync(join(save, 'full.bin'), built.payload)
  const stateDir = join(work.path, 'state')
  const store = await StateStore.open(stateDir)
  const infoHash = built.infoHash.toString('hex')
  const message = `disk full writing full.bin (no space left): free space in ${save} and it resumes`
  await store.add({ infoHash, name: 'full.bin', savePath: save, state: 'error', error: message, waitsForSpace: true, uploadedBytes: 0, downloadedBytes: 0, addedAtMs: Date.now(), queuePosition: 0 }, built.torrent)
  await store.flush()
  const session = await openTestSession(stateDir, { diskFullRetryMs: 50 })
  try {
    assert.equal(session.list()[0].state, 'error', 'it starts where it stopped')
    await session.start()
    await waitUntil(() => session.list()[0].state === 'seeding', 20_000, 'the torrent to resume and check out complete: ' + JSON.stringify(session.list()[0]))
    assert.equal(session.list()[0].error, null)
  } finally {
    await session.close()
    await work.cleanup()
  }
})

test('an error that is not a full disk waits for the person after a restart', { timeout: 30_000 }, async () => {
  const work = tempDir('error-restart')
  const built = buildTorrent({ name: 'ro.bin', files: 16384, pieceLength: 16384, seed: 32 })
  const save = join(work.path, 'save')
  mkdirSync(save, { recursive: true })
  const stateDir = join(work.path, 'state')
  const store = await StateStore.open(stateDir)
  await store.add({ infoHash: built.infoHash.toString('hex'), name: 'ro.bin', savePath: save, state: 'error', error: 'cannot write ro.bin: read-only file system', uploadedBytes: 0, downloadedBytes: 0, addedAtMs: Date.now(), queuePosition: 0 }, built.torrent)
  await store.flush()
  const clock = new TickCountingClock()
  const session = await openTestSession(stateDir, { diskFullRetryMs: 50, clock })
  try {
    await session.start()
    await waitUntil(() => clock.ticks(50) >= 3, 20_000, 'three disk-space checks')
    assert.equal(session.list()[0].state, 'error', 'the checks for space passed it by')
  } finally {
    await session.close()
    await work.cleanup()
  }
})
