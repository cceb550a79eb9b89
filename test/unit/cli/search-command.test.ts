// `friendtorrent search`: ranked lines, names shown safely, the documented
// --json shape, filters, and every mistake one line with exit 1. Runs main()
// in-process over a SQLite index made in a temp state folder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { main } from '../../../src/cli/main.ts'
import { loadConfig } from '../../../src/cli/config.ts'
import { openConfiguredIndex } from '../../../src/cli/index-access.ts'
import { parseSize } from '../../../src/cli/search-command.ts'
import { openIndexStore } from '../../../src/index/open-store.ts'
import { tempDir } from '../../helpers/net.ts'
import { indexedTorrent, sampleTorrents } from '../index/index-fixtures.ts'
import { testConfigJson } from '../../helpers/cli.ts'

interface Run {
  code: number
  out: string[]
  err: string[]
}

function setup(config: Record<string, unknown> = {}) {
  const dir = tempDir('store-search')
  const stateDir = join(dir.path, 'state')
  const configDir = join(dir.path, 'config', 'friendtorrent')
  mkdirSync(configDir, { recursive: true })
  writeFileSync(join(configDir, 'config.json'), testConfigJson({ stateDir, ...config }))
  const env = { HOME: dir.path, XDG_CONFIG_HOME: join(dir.path, 'config'), XDG_DATA_HOME: join(dir.path, 'data') }
  const run = async (...argv: string[]): Promise<Run> => {
    const out: string[] = []
    const err: string[] = []
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), write: (t) => out.push(t), env, cwd: dir.path, isTTY: false })
    return { code, out, err }
  }
  return { dir, stateDir, configFile: join(configDir, 'config.json'), run }
}

const evil = indexedTorrent('Evil\u001b[31mRed\u0007 rabbit\u202eName', [{ path: ['x.mkv'], length: 10 }], 66)

test('search prints one ranked line per result with the full info hash, and names with control characters shown safely', async () => {
  const s = setup()
  try {
    const store = await openIndexStore('', s.stateDir)
    await store.insert([...sampleTorrents(), evil])
    await store.close()
    const r = await s.run('search', 'bunny')
    assert.equal(r.code, 0, r.err.join('\n'))
    assert.equal(r.out.length, 2)
    assert.match(r.out[0], /^[0-9a-f]{40}  +\S+ \S+ +2 files  video +\d{4}-\d\d-\d\d  -  Big Buck Bunny 1080p$/)
    assert.match(r.out[1], / Sintel$/)
    const evilLine = (await s.run('search', 'evil', 'rabbit')).out[0]
    assert.ok(evilLine.endsWith('Evil\ufffd[31mRed\ufffd rabbit\ufffdName'), JSON.stringify(evilLine))
    assert.ok(!r.out.join('').match(/[\u0000-\u001f\u007f-\u009f\u202e]/), 'no control character reaches the terminal')
    assert.deepEqual((await s.run('search', 'nothing', 'like', 'this')).out, ['nothing found for "nothing like this"'])
  } finally {
    await s.dir.cleanup()
  }
})

test('search --json has the documented shape, names as stored; filters and limit apply', async () => {
  const s = setup()
  try {
    const store = await openIndexStore('', s.stateDir)
    const ts = [...sampleTorrents(), evil]
    await store.insert(ts)
    await store.close()
    const r = await s.run('search', 'bunny', '--json')
    const results = JSON.parse(r.out.join('\n'))
    assert.equal(results.length, 2)
    results.push(...JSON.parse((await s.run('search', 'rabbit', '--json')).out.join('\n')))
    assert.equal(results[2].name, evil.name, 'the name as stored, control characters and all')
    const keys = ['infoHash', 'name', 'sizeBytes', 'fileCount', 'category', 'discoveredAt', 'lastSeenAt', 'seeders', 'leechers', 'magnet']
    for (const x of results) assert.deepEqual(Object.keys(x).sort(), [...keys].sort())
    const byHash = new Map(ts.map((t) => [t.infoHash, t]))
    for (const x of results) {
      const t = byHash.get(x.infoHash)!
      assert.equal(x.name, t.name)
      assert.equal(x.sizeBytes, t.sizeBytes)
      assert.equal(x.fileCount, t.files.length)
      assert.ok(x.magnet.startsWith(`magnet:?xt=urn:btih:${t.infoHash}&dn=`))
    }
    const limited = JSON.parse((await s.run('search', 'bunny', '--json', '--limit', '1')).out.join('\n'))
    assert.deepEqual(limited.map((x: { name: string }) => x.name), ['Big Buck Bunny 1080p'])
    const big = JSON.parse((await s.run('search', 'bunny', '--json', '--min-size', '250K')).out.join('\n'))
    assert.deepEqual(big.map((x: { name: string }) => x.name), ['Big Buck Bunny 1080p'])
    const books = JSON.parse((await s.run('search', 'epub', '--json', '-c', 'EBOOK')).out.join('\n'))
    assert.deepEqual(books.map((x: { name: string }) => x.name), ['Public domain books'])
  } finally {
    await s.dir.cleanup()
  }
})

test('search mistakes are one line and exit 1: no index yet (none made), bad limit, category, size, no words', async () => {
  const s = setup()
  try {
    const noIndex = await s.run('search', 'x')
    assert.equal(noIndex.code, 1)
    assert.deepEqual(noIndex.err, [`friendtorrent: no index in ${s.stateDir} yet: \`friendtorrent crawl\` makes one (or set indexDatabase to a postgres:// URL)`])
    assert.equal((await import('node:fs')).existsSync(join(s.stateDir, 'index.sqlite')), false, 'searching made no index file')
    await (await openIndexStore('', s.stateDir)).close()
    for (const [args, message] of [
      [['x', '--limit', '0'], /--limit must be a whole number from 1 to 1000, got "0"/],
      [['x', '--limit', 'ten'], /--limit must be a whole number/],
      [['x', '--category', 'movies'], /--category must be one of video, audio, archive, software, ebook, image, other, got "movies"/],
      [['x', '--min-size', 'big'], /--min-size must be a size like 700M or 1.5G, got "big"/],
      [['--', '...', '**'], /search needs at least one word/],
      [[], /search needs at least one word/],
      [['x', '--bogus'], /unknown option --bogus for search/],
    ] as const) {
      const r = await s.run('search', ...args)
      assert.equal(r.code, 1, args.join(' '))
      assert.equal(r.err.length, 1, r.err.join('\n'))
      assert.match(r.err[0], message)
    }
  } finally {
    await s.dir.cleanup()
  }
})

test('sizes for --min-size', () => {
  assert.equal(parseSize('1000'), 1000)
  assert.equal(parseSize('700M'), 700 * 1024 ** 2)
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3)
  assert.equal(parseSize('2 GiB'), 2 * 1024 ** 3)
  assert.equal(parseSize('4kb'), 4096)
  assert.throws(() => parseSize('-1'), /--min-size/)
})

test('the config blocklist reaches the index the commands open: blocked torrents are never stored', async () => {
  const [bunny, sintel] = sampleTorrents()
  const s = setup({ indexBlocklist: { words: ['sintel'], infoHashes: [bunny.infoHash] } })
  try {
    await (await openIndexStore('', s.stateDir)).close()
    const index = (await openConfiguredIndex(await loadConfig(s.configFile), s.stateDir))!
    const [, , debian] = sampleTorrents()
    await index.insert([bunny, sintel, debian])
    assert.deepEqual(await index.storedAmong([bunny.infoHash, sintel.infoHash, debian.infoHash]), new Set([debian.infoHash]))
    await index.close()
  } finally {
    await s.dir.cleanup()
  }
})
