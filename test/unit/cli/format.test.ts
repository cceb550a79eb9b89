import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatBytes, formatEta, formatPercent, formatRate } from '../../../src/tui/format/format.ts'

test('bytes and rates use binary units', () => {
  assert.equal(formatBytes(0), '0 B')
  assert.equal(formatBytes(1023), '1023 B')
  assert.equal(formatBytes(1536), '1.50 KiB')
  assert.equal(formatBytes(1024 ** 3), '1.00 GiB')
  assert.equal(formatRate(150 * 1024 * 1024), '150 MiB/s')
})

test('eta reads as a person would say it', () => {
  assert.equal(formatEta(undefined), '--')
  assert.equal(formatEta(5), '5s')
  assert.equal(formatEta(75), '1m15s')
  assert.equal(formatEta(3700), '1h01m')
  assert.equal(formatEta(90000), '1d01h')
})

test('percent never says 100% before completion', () => {
  assert.equal(formatPercent(0.9999), '99.9%')
  assert.equal(formatPercent(1), '100.0%')
  assert.equal(formatPercent(0.5), '50.0%')
})

test('formatBytesShort keeps to six characters', async () => {
  const { formatBytesShort } = await import('../../../src/tui/format/format.ts')
  assert.equal(formatBytesShort(0), '0B')
  assert.equal(formatBytesShort(999), '999B')
  assert.equal(formatBytesShort(1000), '0.98K')
  assert.equal(formatBytesShort(12.3 * 1024), '12.3K')
  assert.equal(formatBytesShort(850 * 1024 ** 2), '850M')
  assert.equal(formatBytesShort(1.21 * 1024 ** 3), '1.21G')
  assert.equal(formatBytesShort(-1), '?')
  for (let b = 1; b < 2 ** 50; b *= 1.7) assert.ok(formatBytesShort(b).length <= 6, formatBytesShort(b))
})
