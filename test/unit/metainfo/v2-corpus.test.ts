// libtorrent's v2 and hybrid test torrents (fixtures/libtorrent-v2, copied from
// arvidn/libtorrent test/test_torrents): every one libtorrent loads loads here,
// with the info hashes, roots and paths its test_torrent_info.cpp states, and
// every one it refuses is refused here with one line.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { MetainfoError, parseTorrentFile, type Metainfo } from '../../../src/metainfo/metainfo.ts'

const DIR = path.join(import.meta.dirname, '../../../fixtures/libtorrent-v2')
const load = (file: string): Promise<Metainfo> => parseTorrentFile(readFileSync(path.join(DIR, file)))
const paths = (m: Metainfo): string[] => m.files.filter((f) => !f.padding).map((f) => f.path.join('/'))
const v2Hex = (m: Metainfo): string => m.v2!.infoHash.toString('hex')

const LOADED: [file: string, check: (m: Metainfo) => void][] = [
  ['v2.torrent', (m) => {
    assert.deepEqual(paths(m), ['test64K'])
    assert.equal(m.files[0].length, 65536)
    assert.equal(m.files[0].piecesRoot!.toString('hex'), '60aae9c7b428f87e0713e88229e18f0adf12cd7b22a0dd8a92bb2485eb7af242')
    assert.equal(v2Hex(m), '597b180c1a170a585dfc5e85d834d69013ceda174b8f357d5bb1a0ca509faf0a')
    assert.equal(m.hasV1, true)
  }],
  ['v2_multipiece_file.torrent', (m) => {
    assert.deepEqual(paths(m), ['test1MB'])
    assert.equal(m.files[0].piecesRoot!.toString('hex'), '515ea9181744b817744ded9d2e8e9dc6a8450c0b0c52e24b5077f302ffbd9008')
    assert.equal(m.hasV1, true)
    assert.equal(v2Hex(m), '108ac2c3718ce722e6896edc56c4afa98f1d711ecaace7aad74fca418ebd03de')
  }],
  ['v2_only.torrent', (m) => {
    assert.deepEqual(paths(m), ['test1MB'])
    assert.equal(m.length, 1048576)
    assert.equal(m.files[0].piecesRoot!.toString('hex'), '515ea9181744b817744ded9d2e8e9dc6a8450c0b0c52e24b5077f302ffbd9008')
    assert.equal(m.hasV1, false)
    assert.equal(v2Hex(m), '95e04d0c4bad94ab206efa884666fd89777dbe4f7bd9945af1829037a85c6192')
    // v2-only: the wire, trackers and the DHT use the SHA-256's first 20 bytes.
    assert.equal(m.infoHashHex, '95e04d0c4bad94ab206efa884666fd89777dbe4f')
    assert.equal(m.pieceHashes.length, 0)
    assert.ok(m.v2!.files[0].layer, 'its piece layer is read and checked against the root')
  }],
  ['v2_invalid_filename.torrent', (m) => assert.deepEqual(paths(m), ['_estMB'])],
  ['v2_multiple_files.torrent', (m) => {
    // libtorrent's num_files() == 5: three files and two pad files, the last a tail pad.
    assert.equal(paths(m).length, 3)
    assert.equal(m.files.length, 5)
    assert.equal(m.length % m.pieceLength, 0, 'the tail pad makes the last piece whole')
    assert.equal(m.hasV1, false)
    // Every file starts on a piece boundary: the pads BEP 52 implies are there.
    for (const f of m.files) if (!f.padding && f.length > 0) assert.equal(f.offset % m.pieceLength, 0, f.path.join('/'))
  }],
  ['v2_invalid_filename2.torrent', (m) => assert.deepEqual(paths(m), ['test/_', 'test/_.1', 'test/stress_test2'])],
  ['v2_symlinks.torrent', (m) => {
    assert.ok(m.files.length > 3)
    assert.deepEqual(m.files.slice(0, 3).map((f) => f.symlink?.join('/')), [
      'SDL2.framework/Versions/Current/Headers', 'SDL2.framework/Versions/Current/Resources', 'SDL2.framework/Versions/Current/SDL2',
    ])
  }],
  ['v2_hybrid.torrent', (m) => {
    assert.equal(m.hasV1, true)
    assert.ok(m.v2)
    assert.equal(m.pieceHashes.length, m.pieceCount * 20)
  }],
  ['empty-files-1.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
  ['empty-files-2.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
  ['empty-files-3.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
  ['empty-files-4.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
  ['empty-files-5.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
  // "It's OK to not have a piece layers field. It's just like adding a magnet link."
  ['v2_no_piece_layers.torrent', (m) => {
    assert.equal(m.hasV1, false)
    assert.ok(m.v2!.files.every((f) => f.layer === undefined))
  }],
  ['v2_incomplete_piece_layer.torrent', (m) => {
    assert.equal(m.hasV1, false)
    assert.deepEqual(m.v2!.files.map((f) => f.layer !== undefined), [true, false, true])
  }],
  // test_create_torrent.cpp round-trips these two.
  ['v2_empty_file.torrent', (m) => assert.ok(m.v2)],
  ['v2_hybrid-missing-tailpad.torrent', (m) => assert.ok(m.hasV1 && m.v2)],
]

const REFUSED: [file: string, pattern: RegExp][] = [
  ['v2_mismatching_metadata.torrent', /its v1 and v2 file lists differ/],
  ['v2_no_power2_piece.torrent', /must be a power of two of at least 16 KiB/],
  ['v2_invalid_file.torrent', /neither a file nor a folder/],
  ['v2_deep_recursion.torrent', /nests deeper than/],
  ['v2_non_multiple_piece_layer.torrent', /its piece layers are invalid/],
  ['v2_piece_layer_invalid_file_hash.torrent', /its piece layers are invalid/],
  ['v2_invalid_piece_layer.torrent', /its piece layers are invalid/],
  ['v2_invalid_piece_layer_root.torrent', /its piece layers are invalid \(file 1's layer does not hash to its pieces root\)/],
  ['v2_unknown_piece_layer_entry.torrent', /its piece layers are invalid \(root .* is not a file longer than one piece/],
  ['v2_invalid_piece_layer_size.torrent', /its piece layers are invalid \(file 1 has 16 pieces but its layer holds 32 hashes\)/],
  ['v2_bad_file_alignment.torrent', /its v1 and v2 file lists differ/],
  ['v2_unordered_files.torrent', /not canonical bencoding .*out of order/],
  ['v2_overlong_integer.torrent', /not canonical bencoding .*integer/],
  ['v2_missing_file_root_invalid_symlink.torrent', /has no 32-byte pieces root/],
  ['v2_large_file.torrent', /length 17592186028032 is too large/],
  ['v2_large_offset.torrent', /pieces, over the limit of 2097152/],
  ['v2_piece_size.torrent', /piece length 2147483647 is over the 64 MiB limit/],
  ['v2_invalid_pad_file.torrent', /marked as a pad file/],
  ['v2_zero_root.torrent', /pieces root is all zeros/],
  ['v2_zero_root_small.torrent', /pieces root is all zeros/],
  ['v2_empty_filename.torrent', /neither a file nor a folder/],
  // test_add_torrent.cpp: adding it fails with torrent_invalid_piece_layer.
  ['v2_invalid_root_hash.torrent', /does not hash to its pieces root/],
]

for (const [file, check] of LOADED) {
  test(`libtorrent loads ${file}: so do we`, async () => check(await load(file)))
}

for (const [file, pattern] of REFUSED) {
  test(`libtorrent refuses ${file}: so do we, in one line`, async () => {
    await assert.rejects(load(file), (err: unknown) => {
      assert.ok(err instanceof MetainfoError, String(err))
      assert.match(err.message, pattern)
      assert.ok(!err.message.includes('\n'), 'one line')
      return true
    })
  })
}

test('every v2 file of the corpus is in one of the two tables', async () => {
  const { readdirSync } = await import('node:fs')
  const named = new Set([...LOADED.map(([f]) => f), ...REFUSED.map(([f]) => f)])
  assert.deepEqual(readdirSync(DIR).filter((f) => f.endsWith('.torrent') && !named.has(f)), [])
})
