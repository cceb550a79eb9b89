import { test } from 'node:test'
import assert from 'node:assert/strict'
import { metadataResponse } from '../../../src/metadata/metadata-server.ts'
import { MetadataFetcher } from '../../../src/metadata/metadata-fetcher.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../../../src/wire/ut-metadata.ts'
import { bigInfo } from './metadata-fixtures.ts'

const { info, infoHash, pieceCount } = bigInfo()

test('slices the info dict into 16 KiB pieces, the last one short', () => {
  const first = metadataResponse(info, 0)
  assert.deepEqual(first, { msgType: 'data', piece: 0, totalSize: info.length, data: info.subarray(0, 16384) })
  assert.equal(first.msgType === 'data' && first.data.buffer, info.buffer, 'a view, not a copy')
  const last = metadataResponse(info, pieceCount - 1)
  assert.ok(last.msgType === 'data')
  assert.equal(last.data.length, info.length - (pieceCount - 1) * 16384)
  assert.ok(last.data.length < 16384)
  assert.deepEqual(Buffer.concat(Array.from({ length: pieceCount }, (_, i) => {
    const m = metadataResponse(info, i)
    return m.msgType === 'data' ? m.data : Buffer.alloc(0)
  })), info)
  // What we send must pass our own decoder's BEP 9 length check.
  assert.deepEqual(decodeMetadataMessage(encodeMetadataMessage(last)), last)
})

test('rejects without metadata or out of range', () => {
  assert.deepEqual(metadataResponse(undefined, 0), { msgType: 'reject', piece: 0 })
  assert.deepEqual(metadataResponse(info, pieceCount), { msgType: 'reject', piece: pieceCount })
  assert.deepEqual(metadataResponse(info, -1), { msgType: 'reject', piece: -1 })
  assert.deepEqual(metadataResponse(info, 1.5), { msgType: 'reject', piece: 1.5 })
  assert.deepEqual(metadataResponse(Buffer.alloc(0), 0), { msgType: 'reject', piece: 0 })
})

test('a fetcher fed by two servers through the wire codec gets the dict back', () => {
  const fetcher = new MetadataFetcher(infoHash)
  for (const id of ['s1', 's2']) assert.deepEqual(fetcher.addPeer({ id, metadataSize: info.length }), { ok: true })
  let done: Buffer | undefined
  for (let nowMs = 0; done === undefined && nowMs < 10_000; nowMs += 10) {
    for (const { peer, piece } of fetcher.nextRequests(nowMs)) {
      const request = decodeMetadataMessage(encodeMetadataMessage({ msgType: 'request', piece }))
      const reply = decodeMetadataMessage(encodeMetadataMessage(metadataResponse(info, request.piece)))
      assert.ok(reply.msgType === 'data')
      const result = fetcher.handleData(peer, reply.piece, reply.totalSize, reply.data)
      assert.equal(result.ok, true)
      if (result.ok && result.done) done = result.done
    }
  }
  assert.deepEqual(done, info)
})
