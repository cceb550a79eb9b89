// Property tests: hostile bytes and links only ever produce a FriendError (never
// a TypeError, RangeError or hang), and whatever is accepted keeps Metainfo's
// invariants: every file lands inside the save folder through the real
// safe-path code, sizes add up and the piece count is exact.
// Runs are seeded (FUZZ_SEED overrides); fast-check prints the seed and path of a
// failing case, so `FUZZ_SEED=<seed>` replays it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import path from 'node:path'
import bencode from 'bencode'
import fc from 'fast-check'
import { BencodeScanError, bencodeEnd } from '../../../src/core/bencode-scan.ts'
import { FriendError } from '../../../src/core/types.ts'
import { metainfoFromInfo, parseTorrentFile, type Metainfo } from '../../../src/metainfo/metainfo.ts'
import { parseMagnetOrInfoHash, type MagnetLink } from '../../../src/metainfo/magnet.ts'
import { resolveInside, safePathComponents } from '../../../src/metainfo/safe-path.ts'
import { buildInfo, patternBytes, torrentBytes } from './build-torrent.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 0x6f7a)
const SAVE_ROOT = path.resolve('/srv/save-folder')
const MAX_PIECE_LENGTH = 64 * 1024 * 1024

function assertMetainfo(meta: Metainfo): void {
  assert.equal(meta.infoHash.length, 20)
  assert.deepEqual(meta.infoHash, createHash('sha1').update(meta.infoBuffer).digest())
  assert.equal(meta.infoHashHex, meta.infoHash.toString('hex'))
  assert.ok(Number.isSafeInteger(meta.pieceLength) && meta.pieceLength >= 1 && meta.pieceLength <= MAX_PIECE_LENGTH)
  assert.ok(Number.isSafeInteger(meta.length) && meta.length > 0)
  assert.equal(meta.pieceHashes.length, meta.pieceCount * 20)
  const pieceLength = BigInt(meta.pieceLength)
  assert.equal(BigInt(meta.pieceCount), (BigInt(meta.length) + pieceLength - 1n) / pieceLength, 'pieceCount = ceil(length / pieceLength)')
  assert.ok(meta.lastPieceLength > 0 && meta.lastPieceLength <= meta.pieceLength)
  assert.equal(BigInt(meta.pieceCount - 1) * pieceLength + BigInt(meta.lastPieceLength), BigInt(meta.length))
  assert.ok(meta.files.length > 0)
  let offset = 0
  const seen = new Set<string>()
  for (const file of meta.files) {
    assert.ok(Number.isSafeInteger(file.length) && file.length >= 0)
    assert.equal(file.offset, offset)
    offset += file.length
    assert.equal(file.path[0], meta.name, 'every file is under the torrent name')
    if (file.padding) continue
    assert.deepEqual(safePathComponents(file.path), file.path, 'the path passes the strict check unchanged')
    const full = resolveInside(SAVE_ROOT, file.path)
    assert.ok(full.startsWith(SAVE_ROOT + path.sep), `${full} is inside the save folder`)
    const key = file.path.map((p) => p.normalize('NFC').toLowerCase()).join('/')
    assert.ok(!seen.has(key), `two files at ${key}`)
    seen.add(key)
  }
  assert.equal(offset, meta.length)
  for (const url of meta.announce.flat()) assertTrackerUrl(url)
}

function assertTrackerUrl(text: string): void {
  const url = new URL(text)
  assert.ok(['http:', 'https:', 'udp:'].includes(url.protocol) && url.hostname !== '', `${text} is a tracker URL with a host`)
}

function assertLink(link: MagnetLink): void {
  assert.equal(link.infoHash.length, 20)
  assert.equal(link.infoHashHex, link.infoHash.toString('hex'))
  for (const tier of link.tiers) {
    assert.equal(tier.length, 1)
    assertTrackerUrl(tier[0])
  }
  for (const peer of link.peers) assert.ok(Number.isInteger(peer.port) && peer.port > 0 && peer.port < 65536)
  if (link.name !== undefined) assert.ok(link.name.length > 0 && !/[\x00-\x1f\x7f-\x9f]/.test(link.name))
}

/** Parses and checks; a rejection must be a FriendError. Returns whether it was accepted. */
async function parsedOrRefused(data: Buffer): Promise<boolean> {
  let meta: Metainfo
  try {
    meta = await parseTorrentFile(data)
  } catch (err) {
    assert.ok(err instanceof FriendError, `expected a FriendError, got ${(err as Error)?.stack ?? String(err)}`)
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
    return false
  }
  assertMetainfo(meta)
  return true
}

function linkOrRefused(text: string): boolean {
  let link: MagnetLink
  try {
    link = parseMagnetOrInfoHash(text)
  } catch (err) {
    assert.ok(err instanceof FriendError, `expected a FriendError, got ${(err as Error)?.stack ?? String(err)}`)
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`)
    return false
  }
  assertLink(link)
  return true
}

// A valid multi-file torrent with trackers, web seeds and a pad file to mutate.
const VALID = torrentBytes(
  buildInfo('album', 16 * 1024, [
    { path: ['a.txt'], data: patternBytes(10, 1) },
    { path: ['sub', 'empty'], data: Buffer.alloc(0) },
    { path: ['sub', 'b.bin'], data: patternBytes(40 * 1024, 2) },
  ]),
  { announce: 'http://t.example/announce', 'announce-list': [['udp://a.example:1'], ['http://b.example/x']], 'url-list': ['https://seed.example/'] },
)

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'delete'; at: number; count: number } | { kind: 'repeat'; at: number; count: number }

const position = fc.nat({ max: VALID.length + 16 })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: position }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...['e', 'l', 'd', 'i-1e', '0:', '99:', 'le', 'de'].map((t) => Buffer.from(t)))) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: position, count: fc.integer({ min: 1, max: 60 }) }),
)

function mutate(data: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(data)
  for (const m of mutations) {
    const at = Math.min(m.at, out.length)
    if (m.kind === 'flip') {
      if (at < out.length) out[at] ^= 1 << m.bit
    } else if (m.kind === 'cut') {
      out = out.subarray(0, at)
    } else if (m.kind === 'insert') {
      out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)])
    } else if (m.kind === 'delete') {
      out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)])
    } else {
      out = Buffer.concat([out.subarray(0, at + m.count), out.subarray(at)])
    }
  }
  return out
}

// Torrent-shaped bencode: the right keys with values drawn from the awkward ones.
const awkwardText = fc.oneof(
  fc.constantFrom('', '.', '..', 'CON', 'aux.c', 'AUX_.c', 'a/b', '..\\x', 'C:', 'x\0y', 'Readme', 'README', 'caf\u00e9', 'cafe\u0301', 'end.', ' ', '...', 'a:b', 'a_b', '\u001b[2J', 'x'.repeat(300), '\u00f1'.repeat(200), '__proto__', '.pad'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
)
const awkwardInt = fc.oneof(
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom(0, -1, 2 ** 53 - 1, 2 ** 53, 2 ** 52, 64 * 1024 * 1024, 64 * 1024 * 1024 + 1),
  fc.integer(),
)
const { anyValue } = fc.letrec<{ anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small' },
    awkwardInt,
    awkwardText,
    fc.array(tie('anyValue'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('anyValue'), { maxKeys: 3, noNullPrototype: true }),
  ),
}))
const fileEntry = fc.record(
  {
    length: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 50_000 }) }, { weight: 1, arbitrary: awkwardInt }, { weight: 1, arbitrary: anyValue }),
    path: fc.oneof({ weight: 5, arbitrary: fc.array(awkwardText, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: anyValue }),
    attr: fc.constantFrom('p', 'x', ''),
  },
  { requiredKeys: ['length', 'path'], noNullPrototype: true },
)
const torrentShaped = fc
  .record(
    {
      name: fc.oneof({ weight: 5, arbitrary: awkwardText }, { weight: 1, arbitrary: anyValue }),
      pieceLength: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 65_536 }) }, { weight: 1, arbitrary: awkwardInt }),
      single: fc.boolean(),
      length: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 100_000 }) }, { weight: 1, arbitrary: awkwardInt }),
      files: fc.array(fileEntry, { maxLength: 5 }),
      /** Pieces that fit the sizes, so some inputs get past the checks to the path rules. */
      fitPieces: fc.boolean(),
      pieces: fc.uint8Array({ maxLength: 100 }),
      extra: fc.dictionary(fc.constantFrom('private', 'meta version', 'file tree', 'length', 'files', 'name.utf-8', '__proto__'), anyValue, { maxKeys: 2, noNullPrototype: true }),
      top: fc.dictionary(fc.constantFrom('announce', 'announce-list', 'url-list', 'info', 'comment'), anyValue, { maxKeys: 2, noNullPrototype: true }),
    },
    { noNullPrototype: true },
  )
  .map((t) => {
    const info: Record<string, unknown> = { name: t.name, 'piece length': t.pieceLength, ...t.extra }
    if (t.single) info.length = t.length
    else info.files = t.files
    const total = t.single ? t.length : t.files.reduce<number>((n, f) => n + (typeof f.length === 'number' && f.length > 0 ? f.length : 0), 0)
    const count = typeof t.pieceLength === 'number' && t.pieceLength > 0 ? Math.ceil(total / t.pieceLength) : 0
    info.pieces = t.fitPieces && count >= 0 && count <= 2000 ? Buffer.alloc(20 * count, 7) : Buffer.from(t.pieces)
    return { file: Buffer.from(bencode.encode({ ...t.top, info })), info: Buffer.from(bencode.encode(info)) }
  })

const runs = (numRuns: number) => ({ seed: SEED, numRuns })

test('random bytes: parseTorrentFile returns a sound Metainfo or throws a FriendError', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.concat([Buffer.from('d4:info'), a]))), async (bytes) => {
      await parsedOrRefused(Buffer.from(bytes))
    }),
    runs(1500),
  )
})

test('mutated valid torrents (bit flips, cuts, splices): a sound Metainfo or a FriendError', async () => {
  assert.ok(await parsedOrRefused(VALID), 'the unmutated torrent parses')
  let accepted = 0
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
      if (await parsedOrRefused(mutate(VALID, mutations))) accepted++
    }),
    runs(1500),
  )
  assert.ok(accepted > 0, 'some mutations still parse (bit flips in hashes, names), so invariants were checked')
})

test('torrent-shaped bencode with awkward values: a sound Metainfo or a FriendError', async () => {
  let accepted = 0
  let total = 0
  await fc.assert(
    fc.asyncProperty(torrentShaped, async ({ file }) => {
      total++
      if (await parsedOrRefused(file)) accepted++
    }),
    runs(1500),
  )
  assert.ok(accepted >= total / 20, `enough inputs pass every check to test the accepted side: ${accepted} of ${total}`)
})

test('metainfoFromInfo (BEP 9 metadata) on the same shapes: a sound Metainfo or a FriendError', async () => {
  await fc.assert(
    fc.asyncProperty(torrentShaped, fc.array(mutation, { maxLength: 1 }), async ({ info }, mutations) => {
      try {
        assertMetainfo(await metainfoFromInfo(mutate(info, mutations)))
      } catch (err) {
        assert.ok(err instanceof FriendError, `expected a FriendError, got ${(err as Error)?.stack ?? String(err)}`)
      }
    }),
    runs(500),
  )
})

test('the bencode scanner: encodings of any value scan to their end; any bytes scan to an end or a BencodeScanError', () => {
  fc.assert(
    fc.property(anyValue, fc.uint8Array({ maxLength: 4 }), (value, tail) => {
      const encoded = Buffer.from(bencode.encode(value as never))
      assert.equal(bencodeEnd(Buffer.concat([encoded, tail]), 0, { maxDepth: 64 }), encoded.length)
    }),
    runs(1000),
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 10 }), (bytes, start) => {
      const buf = Buffer.from(bytes)
      try {
        const end = bencodeEnd(buf, start, { maxDepth: 8 })
        assert.ok(end > start && end <= buf.length)
        assert.equal(bencodeEnd(buf.subarray(0, end), start, { maxDepth: 8 }), end, 'the span alone scans the same')
      } catch (err) {
        assert.ok(err instanceof BencodeScanError, String(err))
      }
    }),
    runs(2000),
  )
})

// How fast they are refused: npm run bench (parse section), not a timed test.
test('hostile sizes (deep nesting, huge length prefixes) are refused with a FriendError', async () => {
  const hostile: Buffer[] = [
    Buffer.from('d4:info' + 'l'.repeat(1_000_000)),
    Buffer.from('d4:info' + 'd1:a'.repeat(200_000)),
    Buffer.from('d4:info999999999999999:x'),
    Buffer.from(`d4:info${'9'.repeat(100_000)}:x`),
    Buffer.from(`d4:infoi${'9'.repeat(100_000)}ee`),
  ]
  for (const data of hostile) {
    await assert.rejects(parseTorrentFile(data), FriendError)
    await assert.rejects(metainfoFromInfo(data.subarray(7)), FriendError)
  }
})

const GOOD_LINK = 'magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=Big+Buck%20Bunny&tr=udp%3A%2F%2Ft.example%3A1337&tr=http://a.example/announce?k=v&x.pe=10.0.0.1:6881&x.pe=%5B::1%5D:51413'

test('random strings: parseMagnetOrInfoHash returns a sound link or throws a FriendError', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ maxLength: 80 }).map((s) => `magnet:?${s}`),
        fc.stringMatching(/^[0-9a-fA-Fg]{38,42}$/),
        fc.stringMatching(/^[A-Za-z2-9]{31,33}$/),
        fc.array(fc.tuple(fc.constantFrom('xt', 'xt.1', 'dn', 'tr', 'x.pe', 'ws', '', 'XT'), fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^urn:(btih|btmh):[0-9a-zA-Z%]{0,64}$/))), { maxLength: 5 })
          .map((params) => 'magnet:?' + params.map(([k, v]) => `${k}=${v}`).join('&')),
      ),
      (text) => {
        linkOrRefused(text)
      },
    ),
    runs(2000),
  )
})

test('mutated magnet links: a sound link or a FriendError', () => {
  assert.ok(linkOrRefused(GOOD_LINK))
  let accepted = 0
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: GOOD_LINK.length }), fc.nat({ max: 5 }), fc.constantFrom('%', '&', '=', '?', ':', '\0', '\u001b', 'é', '%ZZ', '%00', 'xt=', '')), { minLength: 1, maxLength: 4 }),
      (edits) => {
        let text = GOOD_LINK
        for (const [at, drop, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + drop)
        if (linkOrRefused(text)) accepted++
      },
    ),
    runs(1500),
  )
  assert.ok(accepted > 0, 'some mutated links still parse, so invariants were checked')
})
