// The category of a torrent from its files: the kind with the most bytes wins.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { categoryOfPath, classify, isCategory } from '../../../src/index/classify.ts'

const f = (path: string, sizeBytes: number) => ({ path, sizeBytes })

test('each kind is known by its extensions, in any case', () => {
  assert.equal(categoryOfPath('Movie (2020)/Movie.2020.1080p.MKV'), 'video')
  assert.equal(categoryOfPath('album/01 - Song.flac'), 'audio')
  assert.equal(categoryOfPath('backup.tar.gz'), 'archive')
  assert.equal(categoryOfPath('set/part.r07'), 'archive')
  assert.equal(categoryOfPath('set/part.014'), 'archive')
  assert.equal(categoryOfPath('debian-12.iso'), 'software')
  assert.equal(categoryOfPath('books/Dune.epub'), 'ebook')
  assert.equal(categoryOfPath('pics/IMG_0001.JPG'), 'image')
  assert.equal(categoryOfPath('README'), 'other')
  assert.equal(categoryOfPath('.hidden'), 'other')
  assert.equal(categoryOfPath('dir.mkv/notes.txt'), 'other')
})

test('the kind with the most bytes wins over the one with the most files', () => {
  const movie = [f('m/movie.mkv', 4_000_000_000), f('m/cover.jpg', 100_000), f('m/poster.png', 200_000), f('m/info.nfo', 2_000)]
  assert.equal(classify(movie), 'video')
  const album = [f('a/01.mp3', 8_000_000), f('a/02.mp3', 7_000_000), f('a/booklet.pdf', 20_000_000)]
  assert.equal(classify(album), 'ebook')
})

test('no known extension is other; empty files still count; ties go to the earlier kind', () => {
  assert.equal(classify([f('a.txt', 10), f('b.nfo', 20)]), 'other')
  assert.equal(classify([]), 'other')
  assert.equal(classify([f('empty.epub', 0), f('notes.txt', 100)]), 'ebook')
  assert.equal(classify([f('x.zip', 50), f('y.mp4', 50)]), 'video')
})

test('isCategory accepts the seven names only', () => {
  for (const c of ['video', 'audio', 'archive', 'software', 'ebook', 'image', 'other']) assert.ok(isCategory(c))
  assert.ok(!isCategory('movies'))
  assert.ok(!isCategory(''))
})
