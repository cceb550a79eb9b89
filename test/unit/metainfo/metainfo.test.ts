import { test } from 'node:test'
import assert from 'node:assert/strict'
import bencode from 'bencode'
import { createHash } from 'node:crypto'
import createTorrent from 'create-torrent'
import { FriendError } from '../../../src/core/types.ts'
import { MetainfoError, metainfoFromInfo, parseTorrentFile, pieceHash, pieceSize } from '../../../src/metainfo/metainfo.ts'
import { buildInfo, patternBytes, piecesOf, sha1, torrentBytes } from './build-torrent.ts'

const KiB = 1024

async function rejectsWith(data: Buffer, pattern: RegExp): Promise<void> {
  await assert.rejects(parseTorrentFile(data), (err: unknown) => {
    assert.ok(err instanceof MetainfoError, `expected MetainfoError, got ${String(err)}`)
    assert.ok(err instanceof FriendError)
    assert.match(err.message, pattern)
    assert.ok(!err.message.includes('\n'), 'message is one line')
    return true
  })
}

test('the piece hashes are held once: a view into the kept info dict, itself a view into the .torrent unless much else is in it', async () => {
  const payload = patternBytes(64 * KiB)
  const info = buildInfo('hashes.bin', 16 * KiB, payload)
  // Unpooled copies: small Buffers share Node's 8 KiB pool, which would make every `.buffer` equal.
  const unpooled = (bytes: Uint8Array) => {
    const out = Buffer.allocUnsafeSlow(bytes.length)
    out.set(bytes)
    return out
  }
  const data = unpooled(torrentBytes(info))
  const meta = await parseTorrentFile(data)
  assert.deepEqual(meta.pieceHashes, piecesOf(payload, 16 * KiB))
  assert.equal(meta.pieceHashes.buffer, meta.infoBuffer.buffer, 'pieceHashes lies in infoBuffer')
  assert.equal(meta.infoBuffer.buffer, data.buffer, 'infoBuffer lies in the .torrent it came from')
  // 100 KiB outside the info dict is not kept along with it: the dict is copied.
  const padded = torrentBytes(info, { announce: 'http://tracker.example/announce', comment: 'x'.repeat(100 * KiB) })
  const copied = await parseTorrentFile(padded)
  assert.notEqual(copied.infoBuffer.buffer, padded.buffer)
  assert.equal(copied.pieceHashes.buffer, copied.infoBuffer.buffer)
  assert.deepEqual(copied.infoBuffer, meta.infoBuffer)
  // Bare info dicts (BEP 9) too: the hashes lie in the kept copy, not in the caller's bytes.
  const bare = unpooled(bencode.encode(info))
  const fromInfo = await metainfoFromInfo(bare)
  assert.equal(fromInfo.pieceHashes.buffer, fromInfo.infoBuffer.buffer)
  assert.notEqual(fromInfo.infoBuffer.buffer, bare.buffer)
  // A "pieces" that is not a string is still refused.
  await rejectsWith(torrentBytes({ ...info, pieces: 5 }), /no piece hashes/)
})

test('parses a single-file torrent', async () => {
  const payload = patternBytes(40 * KiB + 7)
  const info = buildInfo('movie.mkv', 16 * KiB, payload)
  const meta = await parseTorrentFile(torrentBytes(info))
  assert.equal(meta.name, 'movie.mkv')
  assert.equal(meta.length, payload.length)
  assert.equal(meta.pieceLength, 16 * KiB)
  assert.equal(meta.pieceCount, 3)
  assert.equal(meta.lastPieceLength, 8 * KiB + 7)
  assert.deepEqual(meta.files, [{ path: ['movie.mkv'], length: payload.length, offset: 0 }])
  assert.deepEqual(meta.announce, [['http://tracker.example/announce']])
  assert.deepEqual(meta.urlList, [])
  assert.equal(meta.private, false)
  const infoBytes = Buffer.from(bencode.encode(info))
  assert.deepEqual(meta.infoBuffer, infoBytes)
  assert.deepEqual(meta.infoHash, sha1(infoBytes))
  assert.equal(meta.infoHashHex, sha1(infoBytes).toString('hex'))
  assert.deepEqual(pieceHash(meta, 2), sha1(payload.subarray(32 * KiB)))
  assert.equal(pieceHash(meta, 1).buffer, meta.pieceHashes.buffer, 'pieceHash is a view, not a copy')
  assert.equal(pieceSize(meta, 0), 16 * KiB)
  assert.equal(pieceSize(meta, 2), 8 * KiB + 7)
  assert.throws(() => pieceSize(meta, 3), RangeError)
  assert.throws(() => pieceHash(meta, -1), RangeError)
})

test('parses a multi-file torrent with announce tiers, url-list and the private flag', async () => {
  const files = [
    { path: ['a.txt'], data: patternBytes(10, 1) },
    { path: ['sub', 'empty'], data: Buffer.alloc(0) },
    { path: ['sub', 'b.bin'], data: patternBytes(30 * KiB, 2) },
  ]
  const info = buildInfo('album', 16 * KiB, files, { private: 1 })
  const meta = await parseTorrentFile(torrentBytes(info, {
    announce: 'http://ignored.example/announce',
    'announce-list': [
      ['udp://one.example:6969', 'wss://webrtc.example', 'http://two.example/a'],
      ['udp://one.example:6969'],
      ['magnet:?xt=nothing', 'not a url'],
      ['HTTPS://three.example/announce '],
    ],
    'url-list': 'https://seed.example/files/',
  }))
  assert.equal(meta.name, 'album')
  assert.deepEqual(meta.files, [
    { path: ['album', 'a.txt'], length: 10, offset: 0 },
    { path: ['album', 'sub', 'empty'], length: 0, offset: 10 },
    { path: ['album', 'sub', 'b.bin'], length: 30 * KiB, offset: 10 },
  ])
  assert.equal(meta.length, 30 * KiB + 10)
  assert.equal(meta.pieceCount, 2)
  assert.equal(meta.lastPieceLength, 14 * KiB + 10)
  assert.deepEqual(meta.announce, [
    ['udp://one.example:6969', 'http://two.example/a'],
    ['HTTPS://three.example/announce'],
  ])
  assert.deepEqual(meta.urlList, ['https://seed.example/files/'])
  assert.equal(meta.private, true)
})

test('falls back to announce when announce-list has no usable URL, and to [] when neither does', async () => {
  const info = buildInfo('x', 16 * KiB, patternBytes(100))
  const fallback = await parseTorrentFile(torrentBytes(info, { announce: 'udp://t.example:80', 'announce-list': [['wss://only-webrtc.example']] }))
  assert.deepEqual(fallback.announce, [['udp://t.example:80']])
  const none = await parseTorrentFile(torrentBytes(info, {}))
  assert.deepEqual(none.announce, [])
})

test('parses a torrent made by create-torrent', async () => {
  const payload = patternBytes(100 * KiB + 3, 9)
  const bytes = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(payload, {
      name: 'made-by-create-torrent.bin',
      pieceLength: 32 * KiB,
      announceList: [['udp://tracker.example:1337'], ['http://backup.example/announce']],
      urlList: ['https://mirror.example/made-by-create-torrent.bin'],
    }, (err, torrent) => (err ? reject(err) : resolve(torrent)))
  })
  const meta = await parseTorrentFile(Buffer.from(bytes))
  assert.equal(meta.name, 'made-by-create-torrent.bin')
  assert.equal(meta.length, payload.length)
  assert.equal(meta.pieceCount, 4)
  assert.deepEqual(meta.pieceHashes, piecesOf(payload, 32 * KiB))
  assert.deepEqual(meta.announce, [['udp://tracker.example:1337'], ['http://backup.example/announce']])
  assert.deepEqual(meta.urlList, ['https://mirror.example/made-by-create-torrent.bin'])
  const decoded = bencode.decode(bytes)
  assert.deepEqual(meta.infoHash, sha1(bencode.encode(decoded.info)))
})

test('info hash is the SHA-1 of the info bytes as written, even with unsorted keys', async () => {
  const payload = patternBytes(10)
  const hash = sha1(payload)
  // Keys out of order ("piece length" before "name", "length" last): a re-encoding would sort them.
  const rawInfo = Buffer.concat([
    Buffer.from('d12:piece lengthi16384e4:name5:x.bin6:pieces20:'), hash, Buffer.from('6:lengthi10ee'),
  ])
  const file = Buffer.concat([Buffer.from('d4:info'), rawInfo, Buffer.from('8:announce21:http://t.example/annoe')])
  const meta = await parseTorrentFile(file)
  assert.deepEqual(meta.infoBuffer, rawInfo)
  assert.deepEqual(meta.infoHash, sha1(rawInfo))
  const reencoded = Buffer.from(bencode.encode(bencode.decode(rawInfo)))
  assert.notDeepEqual(sha1(reencoded), meta.infoHash, 'the test input really is non-canonical')
  assert.equal(meta.name, 'x.bin')
  assert.equal(meta.length, 10)
  assert.deepEqual(meta.announce, [['http://t.example/anno']])
})

test('metainfoFromInfo builds the same metainfo from the bare info dict', async () => {
  const info = buildInfo('pack', 16 * KiB, [
    { path: ['one'], data: patternBytes(20 * KiB, 3) },
    { path: ['two'], data: patternBytes(5, 4) },
  ])
  const fromFile = await parseTorrentFile(torrentBytes(info))
  const fromInfo = await metainfoFromInfo(fromFile.infoBuffer, [['udp://a.example:1', 'ftp://no.example'], ['udp://a.example:1']])
  assert.deepEqual(fromInfo.infoHash, fromFile.infoHash)
  assert.deepEqual(fromInfo.files, fromFile.files)
  assert.deepEqual(fromInfo.announce, [['udp://a.example:1']])
  await assert.rejects(metainfoFromInfo(Buffer.concat([fromFile.infoBuffer, Buffer.from('x')])), /invalid info dictionary: 1 stray bytes/)
  await assert.rejects(metainfoFromInfo(Buffer.from('li1ee')), MetainfoError)
})

test('prefers name.utf-8 and path.utf-8 when present', async () => {
  const files = [{ path: ['legacy'], data: patternBytes(10) }]
  const info = buildInfo('latin1-garbage', 16 * KiB, files)
  ;(info.files as Record<string, unknown>[])[0]['path.utf-8'] = ['données', 'ñandú.bin']
  info['name.utf-8'] = 'Señal'
  const meta = await parseTorrentFile(torrentBytes(info))
  assert.equal(meta.name, 'Señal')
  assert.deepEqual(meta.files[0].path, ['Señal', 'données', 'ñandú.bin'])
})

test('refuses a v2 file whose pieces root is all zeros', async () => {
  const info = { name: 'v2', 'piece length': 16 * KiB, 'meta version': 2, 'file tree': { 'a.txt': { '': { length: 5, 'pieces root': Buffer.alloc(32) } } } }
  await rejectsWith(torrentBytes(info), /file 1's pieces root is all zeros/)
})

test('accepts a hybrid torrent whose BEP 47 pad files share a path', async () => {
  const pieceLength = 16 * KiB
  const a = patternBytes(10 * KiB, 5)
  const b = patternBytes(10 * KiB, 6)
  const payload = Buffer.concat([a, Buffer.alloc(6 * KiB), b, Buffer.alloc(6 * KiB)])
  const info = {
    name: 'hybrid',
    'piece length': pieceLength,
    'meta version': 2,
    // Each file is one 16 KiB block or less, so its root is the SHA-256 of its bytes.
    'file tree': { a: { '': { length: a.length, 'pieces root': createHash('sha256').update(a).digest() } }, b: { '': { length: b.length, 'pieces root': createHash('sha256').update(b).digest() } } },
    files: [
      { length: a.length, path: ['a'] },
      { length: 6 * KiB, path: ['.pad', '6144'], attr: 'p' },
      { length: b.length, path: ['b'] },
      { length: 6 * KiB, path: ['.pad', '6144'], attr: 'p' },
    ],
    pieces: piecesOf(payload, pieceLength),
  }
  const meta = await parseTorrentFile(torrentBytes(info))
  assert.equal(meta.files.length, 4)
  assert.deepEqual(meta.files.map((f) => f.padding === true), [false, true, false, true])
  assert.equal(meta.files[2].offset, 16 * KiB)
})

// Each malformed torrent has its own test in bad-input.test.ts.

test('accepts a piece length of exactly 64 MiB and odd, non-power-of-two piece lengths', async () => {
  const payload = patternBytes(1000)
  const big = await parseTorrentFile(torrentBytes(buildInfo('big', 64 * 1024 * 1024, payload)))
  assert.equal(big.pieceCount, 1)
  assert.equal(big.lastPieceLength, 1000)
  const odd = await parseTorrentFile(torrentBytes(buildInfo('odd', 333, payload)))
  assert.equal(odd.pieceCount, 4)
  assert.equal(odd.lastPieceLength, 1)
})

test('a "__proto__" key in the info dict cannot supply fields', async () => {
  const payload = patternBytes(10)
  const rawInfo = Buffer.concat([
    Buffer.from('d9:__proto__d6:lengthi10ee4:name1:x12:piece lengthi16384e6:pieces20:'), sha1(payload), Buffer.from('e'),
  ])
  await rejectsWith(Buffer.concat([Buffer.from('d4:info'), rawInfo, Buffer.from('e')]), /neither a length nor a file list/)
})
