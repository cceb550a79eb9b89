// The control channel's long answers: a list of thousands of items is written
// a slice at a time, yet arrives as one JSON line, and an answer to another
// request on the same connection never cuts into it.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { ControlClient } from '../../../src/cli/control-client.ts'
import { ControlServer } from '../../../src/session/control-server.ts'

test('a list of 25,000 items arrives whole while a short answer on the same connection waits its turn', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ft-big2-control-'))
  const rows = Array.from({ length: 25_000 }, (_, index) => ({ index, path: `many/d${index % 100}/f${index}.bin`, sizeBytes: 1000, priority: 'normal' }))
  const server = new ControlServer(path.join(dir, 'control.sock'), async (command) => (command === 'files' ? rows : { short: true }))
  await server.listen()
  const client = await ControlClient.connect(server.path)
  assert.ok(client)
  try {
    const [files, short, again] = await Promise.all([client.call('files'), client.call('small'), client.call('files')])
    assert.deepEqual(files, rows)
    assert.deepEqual(short, { short: true })
    assert.deepEqual(again, rows)
  } finally {
    client.close()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  }
})
