import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { isoTime } from '../../../src/core/iso-time.ts'

test('isoTime gives exactly what Date#toISOString gives', () => {
  for (const ms of [0, 1, -1, 999, Date.UTC(2026, 11, 1, 20, 54, 29, 73), Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(0, 0, 1) - 1, Date.UTC(10000, 0, 1) - 1, Date.UTC(10000, 0, 1), -62198755200000, -8.64e15, 8.64e15]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString(), `at ${ms}`)
  }
  assert.equal(isoTime(Date.UTC(-1, 5, 6)), '-000001-06-06T00:00:00.000Z')
  fc.assert(fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => isoTime(ms) === new Date(ms).toISOString()), { numRuns: 2000 })
  fc.assert(fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => isoTime(ms) === new Date(ms).toISOString()), { numRuns: 2000 })
})

test('isoTime of an invalid time throws the same RangeError as toISOString', () => {
  assert.throws(() => isoTime(Number.NaN), RangeError)
  assert.throws(() => isoTime(8.64e15 + 1), RangeError)
})
