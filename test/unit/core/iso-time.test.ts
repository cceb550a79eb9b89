// isoTime: the same text as Date#toISOString, without the time-zone look-up.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isoTime } from '../../../src/core/iso-time.ts'

test('isoTime writes what toISOString writes, from 1970 to year 9999 and outside it', () => {
  const times = [0, 1, 999, 1000, -1, 951782400000 /* 2000-02-29 */, 1796158196282, 253402300799999 /* 9999-12-31T23:59:59.999 */, -62167219200000 /* year 0 */]
  let seed = 11
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    times.push(Math.floor((seed / 2 ** 31) * 253402300800000))
  }
  times.push(253402300800000 /* year 10000 */, -62167219200001 /* year -1 */, 8.64e15)
  for (const t of times) assert.equal(isoTime(t), new Date(t).toISOString(), String(t))
  assert.throws(() => isoTime(Number.NaN), RangeError)
  assert.throws(() => isoTime(8.64e15 + 1), RangeError)
})
