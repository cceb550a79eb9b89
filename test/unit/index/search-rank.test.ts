// The ranking of SQLite's search candidates (rankByName): more query words in
// the name first, then the shorter name, then the newer; the last word as a
// prefix when asked; accents and case do not matter.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { rankByName, type RankCandidate } from '../../../src/index/search.ts'

const names = (ranked: RankCandidate[]) => ranked.map((c) => c[1])

test('rankByName: name hits, then fewer other words, then newer', () => {
  const candidates: RankCandidate[] = [
    [1, 'Sintel'], // matched through a file path only
    [2, 'Big Buck Bunny 1080p BluRay x264'],
    [3, 'Big.Buck.Bunny.1080p'],
    [4, 'Bunny Tales'], // one of the two words in the name
    [5, 'Big Buck Bunny 720p'],
  ]
  assert.deepEqual(names(rankByName(candidates, ['buck', 'bunny'])), ['Big Buck Bunny 720p', 'Big.Buck.Bunny.1080p', 'Big Buck Bunny 1080p BluRay x264', 'Bunny Tales', 'Sintel'])
  assert.deepEqual(names(rankByName([[1, 'Old One'], [2, 'New One']], ['one'])), ['New One', 'Old One'], 'a tie goes to the newer')
  assert.deepEqual(rankByName([], ['x']), [])
})

test('rankByName: the last word as a prefix only when asked; accents and case ignored', () => {
  const candidates: RankCandidate[] = [
    [1, 'Debian netinst'],
    [2, 'Del Mar'],
  ]
  assert.deepEqual(names(rankByName(candidates, ['deb'], false)), ['Del Mar', 'Debian netinst'], 'no prefix: neither has "deb" in its name, as long; the newer first')
  assert.deepEqual(names(rankByName(candidates, ['deb'], true)), ['Debian netinst', 'Del Mar'])
  assert.deepEqual(names(rankByName([[1, 'Café Del Mar'], [2, 'Cafe']], ['CAFE', 'mar'].map((w) => w.toLowerCase()))), ['Café Del Mar', 'Cafe'], 'é is e')
})
