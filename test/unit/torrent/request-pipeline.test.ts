import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_QUEUE_DEPTH, queueDepth, requestsToAdd } from '../../../src/torrent/request-pipeline.ts'

const BLOCK = 16 * 1024

test('the queue is about a second of the rate, at least 32, within reqq and MAX_QUEUE_DEPTH; one when snubbed', () => {
  assert.equal(queueDepth(false, 0, 250), 32)
  assert.equal(queueDepth(false, 100 * BLOCK, 250), 100)
  assert.equal(queueDepth(false, 100.5 * BLOCK, 250), 101)
  assert.equal(queueDepth(false, 10_000 * BLOCK, 250), 250, 'never past the peer’s reqq')
  assert.equal(queueDepth(false, 10_000 * BLOCK, 5000), MAX_QUEUE_DEPTH)
  assert.equal(queueDepth(false, 0, 6), 6)
  assert.equal(queueDepth(true, 10_000 * BLOCK, 250), 1)
})

test('requests are added once an eighth of the queue (at most 16) is free, all of the free room when none are out', () => {
  assert.equal(requestsToAdd(32, 0), 32)
  assert.equal(requestsToAdd(32, 29), 0, '3 free of 32: under an eighth')
  assert.equal(requestsToAdd(32, 28), 4)
  assert.equal(requestsToAdd(256, 241), 0, '15 free of 256: under the batch of 16')
  assert.equal(requestsToAdd(256, 240), 16)
  assert.equal(requestsToAdd(256, 100), 156)
  assert.equal(requestsToAdd(6, 5), 1, 'a short queue is topped up block by block')
  assert.equal(requestsToAdd(1, 0), 1)
  assert.equal(requestsToAdd(32, 32), 0)
  assert.equal(requestsToAdd(32, 40), 0, 'more out than the depth (the rate fell): none')
})
