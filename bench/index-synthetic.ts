// Synthetic torrents for the index benchmark: realistic names and file lists
// (films, TV seasons, albums, software, distributions, e-books, picture sets),
// words drawn from a Zipf-distributed made-up vocabulary so common words are
// common and rare ones rare, as in a real index. Deterministic by index: torrent
// i is the same in every run, so queries can be made from torrents known stored.
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import type { IndexedTorrent } from '../src/index/index-store.ts'

const VOCABULARY_SIZE = 30_000
const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'sil', 'dar', 'en', 'quo', 'bri', 'stan', 'fel', 'nor', 'gu', 'pe', 'tha', 'wil', 'ox', 'zen', 'mar', 'del', 'ing', 'ar', 'be', 'cro', 'dy', 'ham', 'ju', 'lys']
const GROUPS = ['FLUX', 'NTb', 'RARBG', 'YIFY', 'SPARKS', 'GalaxyRG', 'EDITH', 'playWEB', 'CMRG', 'NOGRP']
const RES = ['720p', '1080p', '2160p']
const SOURCES = ['BluRay', 'WEB-DL', 'WEBRip', 'HDTV', 'DVDRip']
const CODECS = ['x264', 'x265', 'H.264', 'HEVC', 'AV1']

/** xorshift32 seeded from the torrent's index: the same torrent every run. */
function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x1_0000_0000
  }
}

const VOCABULARY: string[] = (() => {
  const words = new Set<string>()
  const r = rng(12345)
  while (words.size < VOCABULARY_SIZE) {
    const n = 2 + Math.floor(r() * 3)
    let w = ''
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(r() * SYLLABLES.length)]
    words.add(w)
  }
  return [...words]
})()

/** Cumulative Zipf (s = 1.07) weights over the vocabulary. */
const ZIPF: Float64Array = (() => {
  const c = new Float64Array(VOCABULARY_SIZE)
  let sum = 0
  for (let i = 0; i < VOCABULARY_SIZE; i++) c[i] = sum += 1 / Math.pow(i + 1, 1.07)
  for (let i = 0; i < VOCABULARY_SIZE; i++) c[i] /= sum
  return c
})()

function word(r: () => number): string {
  const u = r()
  let lo = 0
  let hi = VOCABULARY_SIZE - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (ZIPF[mid] < u) lo = mid + 1
    else hi = mid
  }
  return VOCABULARY[lo]
}

const cap = (w: string) => w[0].toUpperCase() + w.slice(1)
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
const between = (r: () => number, lo: number, hi: number) => Math.floor(lo + r() * (hi - lo))
const title = (r: () => number, min: number, max: number) => Array.from({ length: between(r, min, max + 1) }, () => cap(word(r)))
const pad2 = (n: number) => String(n).padStart(2, '0')

interface Shape {
  name: string
  files: { path: string; sizeBytes: number }[]
}

function shape(r: () => number): Shape {
  const kind = r()
  const year = between(r, 1960, 2026)
  if (kind < 0.3) {
    const name = `${title(r, 1, 4).join('.')}.${year}.${pick(r, RES)}.${pick(r, SOURCES)}.${pick(r, CODECS)}-${pick(r, GROUPS)}`
    const files = [{ path: `${name}/${name}.mkv`, sizeBytes: between(r, 700e6, 15e9) }, { path: `${name}/${name}.nfo`, sizeBytes: between(r, 1e3, 8e3) }]
    if (r() < 0.4) files.push({ path: `${name}/Sample/${name}.sample.mkv`, sizeBytes: between(r, 20e6, 80e6) })
    return { name, files }
  }
  if (kind < 0.5) {
    const show = title(r, 1, 3).join('.')
    const season = between(r, 1, 12)
    const name = `${show}.S${pad2(season)}.${pick(r, RES)}.${pick(r, SOURCES)}.${pick(r, CODECS)}-${pick(r, GROUPS)}`
    const episodes = between(r, 6, 25)
    const files = Array.from({ length: episodes }, (_, e) => ({ path: `${name}/${show}.S${pad2(season)}E${pad2(e + 1)}.${title(r, 1, 3).join('.')}.mkv`, sizeBytes: between(r, 200e6, 3e9) }))
    return { name, files }
  }
  if (kind < 0.7) {
    const artist = title(r, 1, 3).join(' ')
    const name = `${artist} - ${title(r, 1, 4).join(' ')} (${year}) [${pick(r, ['FLAC', 'MP3 320', 'MP3 V0', '24-96 FLAC'])}]`
    const ext = name.includes('MP3') ? 'mp3' : 'flac'
    const files = Array.from({ length: between(r, 6, 18) }, (_, t) => ({ path: `${name}/${pad2(t + 1)} - ${title(r, 1, 5).join(' ')}.${ext}`, sizeBytes: between(r, 3e6, 60e6) }))
    files.push({ path: `${name}/cover.jpg`, sizeBytes: between(r, 50e3, 3e6) })
    return { name, files }
  }
  if (kind < 0.8) {
    const name = `${title(r, 1, 3).join(' ')} ${between(r, 1, 30)}.${between(r, 0, 10)}.${between(r, 0, 100)} ${pick(r, ['x64', 'x86', 'macOS', 'Multilingual'])}`
    return { name, files: [{ path: `${name}/setup.exe`, sizeBytes: between(r, 5e6, 4e9) }, { path: `${name}/readme.txt`, sizeBytes: between(r, 500, 5000) }] }
  }
  if (kind < 0.87) {
    const name = `${word(r)}-${between(r, 1, 40)}.${between(r, 0, 12)}-${pick(r, ['desktop', 'server', 'netinst', 'live'])}-${pick(r, ['amd64', 'arm64', 'i386'])}.iso`
    return { name, files: [{ path: name, sizeBytes: between(r, 300e6, 5e9) }] }
  }
  if (kind < 0.95) {
    const author = title(r, 2, 3).join(' ')
    const name = `${author} - ${title(r, 1, 6).join(' ')} (${pick(r, ['epub', 'pdf', 'mobi'])})`
    const n = r() < 0.8 ? between(r, 1, 4) : between(r, 20, 120)
    const files = Array.from({ length: n }, () => ({ path: `${name}/${title(r, 1, 6).join(' ')}.${pick(r, ['epub', 'pdf', 'mobi'])}`, sizeBytes: between(r, 200e3, 40e6) }))
    return { name, files }
  }
  const name = `${title(r, 1, 3).join(' ')} ${pick(r, ['Wallpapers', 'Photo Pack', 'Artbook', 'Scans'])}`
  const files = Array.from({ length: between(r, 20, 300) }, (_, i) => ({ path: `${name}/${String(i + 1).padStart(4, '0')}.${pick(r, ['jpg', 'png'])}`, sizeBytes: between(r, 200e3, 12e6) }))
  return { name, files }
}

/** The piece length a client would pick: about 1500 pieces, a power of two from 16 KiB to 16 MiB. */
function pieceLengthFor(sizeBytes: number): number {
  let p = 16384
  while (p < 16 * 1024 * 1024 && sizeBytes / p > 1500) p *= 2
  return p
}

/**
 * Torrent number `i`. With `withInfoDict`, a real bencoded info dict (random
 * piece hashes, as incompressible as real ones) and its SHA-1 as the info hash;
 * without, an empty dict and a hash derived from `i` (the store keeps no dict then).
 */
export function synthTorrent(i: number, withInfoDict: boolean): IndexedTorrent {
  const r = rng(i + 1)
  const { name, files } = shape(r)
  const sizeBytes = files.reduce((n, f) => n + f.sizeBytes, 0)
  const pieceLength = pieceLengthFor(sizeBytes)
  const pieceCount = Math.ceil(sizeBytes / pieceLength)
  let infoDict = Buffer.alloc(0)
  let infoHash = createHash('sha1').update(`synthetic ${i}`).digest('hex')
  if (withInfoDict) {
    const pieces = Buffer.allocUnsafe(pieceCount * 20)
    for (let o = 0; o < pieces.length; o += 4) pieces.writeUInt32LE((r() * 0x1_0000_0000) >>> 0, o)
    const multi = files.length > 1 || files[0].path.includes('/')
    const info = multi
      ? { files: files.map((f) => ({ length: f.sizeBytes, path: f.path.split('/').slice(1) })), name, 'piece length': pieceLength, pieces }
      : { length: sizeBytes, name, 'piece length': pieceLength, pieces }
    infoDict = Buffer.from(bencode.encode(info))
    infoHash = createHash('sha1').update(infoDict).digest('hex')
  }
  return { infoHash, name, sizeBytes, pieceLength, pieceCount, files, infoDict, collectedAt: 1_700_000_000_000 + i }
}

/** Search words a person might type for torrent `i`: `count` of the words of its name. */
export function queryFor(i: number, count: number, seed: number): string {
  const words = [...new Set(synthTorrent(i, false).name.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2 && !/^\d+$/.test(w)))]
  const r = rng(seed)
  const chosen: string[] = []
  while (chosen.length < Math.min(count, words.length)) {
    const w = pick(r, words)
    if (!chosen.includes(w)) chosen.push(w)
  }
  return chosen.join(' ')
}
