import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { EventEmitter, once } from 'node:events'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort, tempDir, waitFor, waitUntil } from './net.ts'

test('freePort gives a port that TCP and UDP can both bind on 127.0.0.1', async () => {
  const port = await freePort()
  const tcp = createServer().listen(port, '127.0.0.1')
  await once(tcp, 'listening')
  const udp = createSocket('udp4')
  udp.bind(port, '127.0.0.1')
  await once(udp, 'listening')
  assert.equal(udp.address().port, port)
  await new Promise<void>((resolve) => udp.close(() => resolve()))
  await new Promise<void>((resolve) => tcp.close(() => resolve()))
})

test('waitFor resolves with the first argument, rejects on error or timeout', async () => {
  const emitter = new EventEmitter()
  setImmediate(() => emitter.emit('ready', 42, 'ignored'))
  assert.equal(await waitFor<number>(emitter, 'ready', 1000), 42)
  setImmediate(() => emitter.emit('error', new Error('boom')))
  await assert.rejects(waitFor(emitter, 'ready', 1000), /boom/)
  await assert.rejects(waitFor(emitter, 'never', 20), /timed out after 20 ms waiting for event "never"/)
  assert.equal(emitter.listenerCount('ready'), 0)
  assert.equal(emitter.listenerCount('error'), 0)
})

test('waitUntil polls until true and names what it waited for when it gives up', async () => {
  let calls = 0
  await waitUntil(() => ++calls >= 3, 1000, 'three calls', 5)
  assert.equal(calls, 3)
  await assert.rejects(waitUntil(async () => false, 30, 'the moon', 5), /timed out after 30 ms waiting for the moon/)
  await assert.rejects(
    waitUntil(() => {
      throw new Error('not yet')
    }, 30, 'a thrower', 5),
    /waiting for a thrower \(last error: not yet\)/,
  )
})

test('tempDir makes a folder and cleanup removes it with its contents', async () => {
  const dir = tempDir('net test/ñ')
  writeFileSync(join(dir.path, 'x'), 'y')
  assert.ok(existsSync(join(dir.path, 'x')))
  await dir.cleanup()
  assert.equal(existsSync(dir.path), false)
})
