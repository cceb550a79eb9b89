// BEP 48 scrape replies parsed from bytes: the entry for our hash (keyed by
// its raw bytes, as most trackers send it, or as bittorrent-tracker's UTF-8
// mangling of them), a tracker that does not list the hash, flags, refusals
// and garbage as one line each.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseHttpScrapeReply } from '../../../src/discovery/tracker-scrape.ts'

const HASH = Buffer.from('00ff80c3a1' + '11'.repeat(15), 'hex')
const entry = Buffer.from('d8:completei5e10:downloadedi50e10:incompletei3ee')

test('the entry keyed by the raw hash, with flags.min_request_interval', () => {
  const body = Buffer.concat([Buffer.from('d5:filesd20:'), HASH, entry, Buffer.from('e5:flagsd20:min_request_intervali900eee')])
  assert.deepEqual(parseHttpScrapeReply(200, 'OK', body, HASH), { seeders: 5, leechers: 3, completed: 50, minRequestIntervalSec: 900 })
})

test("the hash as bittorrent-tracker sends it (a binary string written as UTF-8)", () => {
  const key = Buffer.from(HASH.toString('latin1'), 'utf8')
  const body = Buffer.concat([Buffer.from(`d5:filesd${key.length}:`), key, entry, Buffer.from('ee')])
  assert.deepEqual(parseHttpScrapeReply(200, 'OK', body, HASH), { seeders: 5, leechers: 3, completed: 50 })
})

test('a tracker that does not list the hash counts nobody; another hash is not ours', () => {
  const other = Buffer.alloc(20, 7)
  const body = Buffer.concat([Buffer.from('d5:filesd20:'), other, entry, Buffer.from('ee')])
  assert.deepEqual(parseHttpScrapeReply(200, 'OK', body, HASH), { seeders: 0, leechers: 0, completed: 0 })
})

test('refusals, HTTP errors and garbage are one line each', () => {
  assert.throws(() => parseHttpScrapeReply(200, 'OK', Buffer.from('d14:failure reason6:no waye'), HASH), { message: 'tracker refused the scrape: no way' })
  assert.throws(() => parseHttpScrapeReply(404, 'Not Found', Buffer.from('<html>'), HASH), { message: 'tracker answered the scrape with HTTP 404 Not Found' })
  assert.throws(() => parseHttpScrapeReply(200, 'OK', Buffer.from('<html>'), HASH), /^FriendError: tracker sent a scrape reply that is not bencoded \(starts with "<html>"\)/)
  assert.throws(() => parseHttpScrapeReply(200, 'OK', Buffer.from('d5:flagsdee'), HASH), { message: 'tracker scrape reply has no "files" dictionary' })
  assert.throws(() => parseHttpScrapeReply(200, 'OK', Buffer.alloc(0), HASH), { message: 'tracker sent an empty or non-dictionary scrape reply' })
})
