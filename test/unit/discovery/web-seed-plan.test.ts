// BEP 19 URLs and Range plans, pure: which URL each file has (single file,
// folder URL, multi-file, percent-encoded, as the torrent names it), ranges
// split at file boundaries with pad files left to zeros, and the retry waits.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import bencode from 'bencode'
import { encodePathComponent, planRange, webSeedFileUrls, webSeedRetryDelayMs, WEB_SEED_RETRY_CAP_MS } from '../../../src/discovery/web-seed-plan.ts'
import { parseTorrentFile } from '../../../src/metainfo/metainfo.ts'
import { buildTorrent } from '../../helpers/make-torrent.ts'

async function metaOf(opts: Parameters<typeof buildTorrent>[0], urlList?: string | string[], files?: unknown[]) {
  const built = buildTorrent(opts)
  const dict = bencode.decode(built.torrent) as Record<string, unknown>
  if (urlList) dict['url-list'] = urlList
  if (files) (dict.info as Record<string, unknown>).files = files
  return parseTorrentFile(Buffer.from(bencode.encode(dict)))
}

test('a single file: the URL itself, or the URL plus the name when it ends with "/"', async () => {
  const meta = await metaOf({ name: 'my file ü.iso', files: 1000, pieceLength: 16384 })
  assert.deepEqual(webSeedFileUrls('http://h/pub/other.iso', meta), ['http://h/pub/other.iso'])
  assert.deepEqual(webSeedFileUrls('http://h/pub/', meta), ['http://h/pub/my%20file%20%C3%BC.iso'])
})

test('multi-file: root + name + path, each component percent-encoded on its own', async () => {
  const meta = await metaOf({ name: 'Ma collection', pieceLength: 16384, files: [{ path: ['a b', 'ñandú #1?.bin'], length: 10 }, { path: ['c%d', '100%'], length: 5 }] }, 'http://h/x')
  assert.deepEqual(meta.urlList, ['http://h/x/'])
  assert.deepEqual(webSeedFileUrls(meta.urlList[0], meta), [
    'http://h/x/Ma%20collection/a%20b/%C3%B1and%C3%BA%20%231%3F.bin',
    'http://h/x/Ma%20collection/c%25d/100%25',
  ])
  // A base without the "/" (metainfo adds it; a caller may not) gets one.
  assert.equal(webSeedFileUrls('http://h/y', meta)[1], 'http://h/y/Ma%20collection/c%25d/100%25')
})

test('a multi-file torrent of one file: the URL itself, or URL + name + path when it ends with "/" (as libtorrent)', async () => {
  const meta = await metaOf({ name: 'temp', pieceLength: 16384, files: [{ path: ['foo', 'bar.txt'], length: 10 }] }, 'http://test.com/file/temp/foo/bar.txt')
  assert.deepEqual(meta.urlList, ['http://test.com/file/temp/foo/bar.txt'])
  assert.deepEqual(webSeedFileUrls(meta.urlList[0], meta), ['http://test.com/file/temp/foo/bar.txt'])
  assert.deepEqual(webSeedFileUrls('http://test.com/file/', meta), ['http://test.com/file/temp/foo/bar.txt'])
})

test('files are asked for by the names the torrent states, not the ones made safe for our disk', async () => {
  const meta = await metaOf({ name: 'n', pieceLength: 16384, files: [{ path: ['a:b?'], length: 3 }, { path: ['..', 'x'], length: 3 }] })
  assert.ok(meta.pathChanges.length >= 2, 'the paths were made safe on disk')
  assert.deepEqual(webSeedFileUrls('http://h/', meta), ['http://h/n/a%3Ab%3F', 'http://h/n/%2E%2E/x'])
  assert.equal(encodePathComponent('.'), '%2E')
  assert.equal(encodePathComponent('a.b'), 'a.b')
})

test('a range is split per file; zero-length files give nothing; pad files are never asked for', async () => {
  const files = [
    { path: [Buffer.from('one')], length: 10 },
    { path: [Buffer.from('empty')], length: 0 },
    { path: [Buffer.from('.pad'), Buffer.from('6')], length: 6, attr: 'p' },
    { path: [Buffer.from('two')], length: 20 },
  ]
  const meta = await metaOf({ name: 'n', pieceLength: 16, files: [{ path: ['x'], length: 36 }] }, 'http://h/', files)
  assert.deepEqual(meta.files.map((f) => f.length), [10, 0, 6, 20])
  const urls = webSeedFileUrls('http://h/', meta)
  assert.deepEqual(urls, ['http://h/n/one', 'http://h/n/empty', undefined, 'http://h/n/two'])
  const plan = planRange(urls, meta.files, 4, 30)
  assert.deepEqual(plan, [
    { fileIndex: 0, url: 'http://h/n/one', start: 4, end: 9, length: 6, fileLength: 10, rangeOffset: 0 },
    { fileIndex: 2, url: undefined, start: 0, end: 5, length: 6, fileLength: 6, rangeOffset: 6 },
    { fileIndex: 3, url: 'http://h/n/two', start: 0, end: 17, length: 18, fileLength: 20, rangeOffset: 12 },
  ])
  assert.equal(plan.reduce((n, p) => n + p.length, 0), 30)
  // Inside one file: one request, however many pieces it covers.
  assert.deepEqual(planRange(urls, meta.files, 17, 19).map((p) => [p.url, p.start, p.end]), [['http://h/n/two', 1, 19]])
  assert.throws(() => planRange(urls, meta.files, 30, 7), RangeError)
})

test('retry waits double from 5 s up to 10 min, and a longer Retry-After is honoured', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => webSeedRetryDelayMs(n)), [5_000, 10_000, 20_000, 40_000])
  assert.equal(webSeedRetryDelayMs(50), WEB_SEED_RETRY_CAP_MS)
  assert.equal(webSeedRetryDelayMs(1, 30), 30_000)
  assert.equal(webSeedRetryDelayMs(3, 2), 20_000)
  assert.equal(webSeedRetryDelayMs(1, 86_400), WEB_SEED_RETRY_CAP_MS)
  assert.equal(webSeedRetryDelayMs(2, undefined, 100), 200)
})
