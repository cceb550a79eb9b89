import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { FriendError } from '../../../src/core/types.ts'
import { parseTorrentFile } from '../../../src/metainfo/metainfo.ts'
import { StateStore, type LibraryEntry, type ResumeData } from '../../../src/session/state-store.ts'
import { buildTorrent } from '../../helpers/make-torrent.ts'

const STORE_URL = pathToFileURL(path.resolve(import.meta.dirname, '../../../src/session/state-store.ts')).href
const REPO_ROOT = path.resolve(import.meta.dirname, '../../..')

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'friendtorrent-state-'))
  try {
    await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function torrentFor(name: string): { torrent: Buffer; hash: string } {
  const built = buildTorrent({ name, files: 40_000, pieceLength: 16384, seed: name.length })
  return { torrent: built.torrent, hash: built.infoHash.toString('hex') }
}

function entryFor(hash: string, over: Partial<LibraryEntry> = {}): LibraryEntry {
  return {
    infoHash: hash,
    name: `torrent ${hash.slice(0, 6)}`,
    savePath: '/srv/downloads',
    state: 'queued',
    uploadedBytes: 0,
    downloadedBytes: 0,
    addedAtMs: 1_700_000_000_000,
    queuePosition: 0,
    ...over,
  }
}

function mode(st: { mode: number }): number {
  return st.mode & 0o777
}

const A = torrentFor('alpha')
const B = torrentFor('beta-two')
const C = torrentFor('gamma-three')

function resumeFor(hash: string, pieceCount = 3): ResumeData {
  return { infoHash: hash, pieceCount, bitfield: Buffer.from([0b1010_0000]) }
}

test('open creates the folder 0700 and tightens an existing one; every file is written 0600', async () => {
  await withTemp(async (tmp) => {
    const fresh = path.join(tmp, 'a', 'b', 'state')
    const store = await StateStore.open(fresh)
    assert.equal(mode(await stat(fresh)), 0o700)
    assert.equal(mode(await stat(path.join(fresh, 'torrents'))), 0o700)
    assert.equal(mode(await stat(path.join(fresh, 'resume'))), 0o700)
    await store.add(entryFor(A.hash), A.torrent)
    await store.saveResume(resumeFor(A.hash))
    await store.flush()
    for (const file of ['library.json', `torrents/${A.hash}.torrent`, `resume/${A.hash}.resume`]) {
      assert.equal(mode(await stat(path.join(fresh, file))), 0o600, file)
    }

    const loose = path.join(tmp, 'loose')
    await mkdir(loose, { mode: 0o755 })
    await chmod(loose, 0o755)
    await StateStore.open(loose)
    assert.equal(mode(await stat(loose)), 0o700)
  })
})

test('library round trip: entries in queue order survive a reopen, with their .torrent', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    assert.deepEqual(store.list(), [])
    const a = entryFor(A.hash, { queuePosition: 2, state: 'seeding', completedAtMs: 1_700_000_500_000, uploadedBytes: 5_000_000_000 })
    const b = entryFor(B.hash, { queuePosition: 0, state: 'error', error: 'disk full' })
    const c = entryFor(C.hash, { queuePosition: 1, state: 'paused' })
    for (const [e, t] of [[a, A.torrent], [b, B.torrent], [c, C.torrent]] as const) assert.deepEqual(await store.add(e, t), { added: true })
    assert.deepEqual(store.list().map((e) => e.infoHash), [B.hash, C.hash, A.hash])

    const again = await StateStore.open(dir)
    assert.deepEqual(again.list(), [b, c, a])
    assert.deepEqual(again.get(A.hash.toUpperCase()), a)
    assert.equal(again.get('0'.repeat(40)), undefined)
    assert.ok((await again.torrentFile(A.hash)).equals(A.torrent))
    assert.equal((await parseTorrentFile(await again.torrentFile(C.hash))).infoHashHex, C.hash)

    const copy = again.list()[0]
    copy.name = 'changed by caller'
    assert.equal(again.get(B.hash)?.name, b.name, 'list() hands out copies')
  })
})

test('adding the same torrent twice keeps one entry, unchanged, even when the adds overlap', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    const first = entryFor(A.hash, { name: 'first' })
    assert.deepEqual(await store.add(first, A.torrent), { added: true })
    assert.deepEqual(await store.add(entryFor(A.hash, { name: 'second' }), A.torrent), { added: false })
    assert.deepEqual(store.list(), [first])

    const results = await Promise.all([store.add(entryFor(B.hash), B.torrent), store.add(entryFor(B.hash, { name: 'x' }), B.torrent)])
    assert.deepEqual(results.map((r) => r.added).sort(), [false, true])
    assert.equal(store.list().length, 2)
    assert.deepEqual((await readdir(path.join(dir, 'torrents'))).sort(), [`${A.hash}.torrent`, `${B.hash}.torrent`].sort())
    const saved = JSON.parse(await readFile(path.join(dir, 'library.json'), 'utf8'))
    assert.equal(saved.torrents.length, 2)
    assert.equal(saved.torrents.find((t: LibraryEntry) => t.infoHash === A.hash).name, 'first')
  })
})

test('add refuses a .torrent of another hash and malformed entries', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await assert.rejects(store.add(entryFor(A.hash), B.torrent), (err: Error) => err instanceof FriendError && err.message.includes(B.hash))
    await assert.rejects(store.add(entryFor(A.hash, { uploadedBytes: -1 }), A.torrent), /uploadedBytes/)
    await assert.rejects(store.add(entryFor('../../etc/passwd'), A.torrent), /40 hex digits/)
    assert.deepEqual(store.list(), [])
    assert.deepEqual(await readdir(path.join(dir, 'torrents')), [])
  })
})

test('update merges, persists and can clear optional fields; unknown hashes and hash changes are refused', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash, { state: 'error', error: 'boom' }), A.torrent)
    await store.update(A.hash, { state: 'downloading', error: undefined, downloadedBytes: 12345 })
    const again = await StateStore.open(dir)
    const got = again.get(A.hash)
    assert.equal(got?.state, 'downloading')
    assert.equal(got?.downloadedBytes, 12345)
    assert.equal('error' in (got ?? {}), false)
    await assert.rejects(again.update(B.hash, { state: 'paused' }), FriendError)
    await assert.rejects(again.update(A.hash, { infoHash: B.hash }), /cannot change/)
    await assert.rejects(again.update(A.hash, { state: 'bogus' as never }), /state/)
    assert.equal(again.get(A.hash)?.state, 'downloading')
  })
})

test('verifiedBytes, forceStart and waitsForSpace survive a reopen; wrong types are refused', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash, { state: 'error', error: 'disk full', waitsForSpace: true, verifiedBytes: 32768 }), A.torrent)
    await store.add(entryFor(B.hash, { forceStart: true, queuePosition: 1 }), B.torrent)
    await store.flush()
    const again = await StateStore.open(dir)
    assert.equal(again.get(A.hash)?.waitsForSpace, true)
    assert.equal(again.get(A.hash)?.verifiedBytes, 32768)
    assert.equal(again.get(B.hash)?.forceStart, true)
    await assert.rejects(again.update(A.hash, { verifiedBytes: -1 }), /verifiedBytes/)
    await assert.rejects(again.update(A.hash, { forceStart: 'yes' as never }), /forceStart/)
  })
})

test('remove deletes the library entry, the .torrent and the resume data', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    await store.add(entryFor(B.hash, { queuePosition: 1 }), B.torrent)
    await store.saveResume(resumeFor(A.hash))
    await store.saveResume(resumeFor(B.hash))
    await store.remove(A.hash)
    assert.equal(store.get(A.hash), undefined)
    assert.deepEqual(await readdir(path.join(dir, 'torrents')), [`${B.hash}.torrent`])
    assert.deepEqual(await readdir(path.join(dir, 'resume')), [`${B.hash}.resume`])
    const again = await StateStore.open(dir)
    assert.deepEqual(again.list().map((e) => e.infoHash), [B.hash])
    assert.equal(await again.loadResume(A.hash), undefined)
    await assert.rejects(again.torrentFile(A.hash), /remove the torrent and add it again/)
    await assert.rejects(again.saveResume(resumeFor(A.hash)), /not in the library/)
    assert.deepEqual(await readdir(path.join(dir, 'resume')), [`${B.hash}.resume`])
  })
})

test('resume data round trips (the verified pieces, nothing per file); absent is undefined', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    assert.equal(await store.loadResume(A.hash), undefined)
    const data: ResumeData = { infoHash: A.hash, pieceCount: 11, bitfield: Buffer.from([0xff, 0b1110_0000]) }
    await store.saveResume(data)
    const loaded = await (await StateStore.open(dir)).loadResume(A.hash)
    assert.deepEqual(loaded, data)
    const saved = bencode.decode(await readFile(path.join(dir, 'resume', `${A.hash}.resume`))) as { format: number; resume: Uint8Array }
    assert.equal(saved.format, 3)
    assert.deepEqual(Object.keys(bencode.decode(saved.resume) as object).sort(), ['bitfield', 'info hash', 'piece count'])
    await store.clearResume(A.hash)
    assert.equal(await store.loadResume(A.hash), undefined, 'cleared')
    assert.deepEqual(await readdir(path.join(dir, 'resume')), [])
    await assert.rejects(store.saveResume({ ...data, bitfield: Buffer.from([0xff, 0xff]) }), /past the last piece/)
    await assert.rejects(store.saveResume({ ...data, pieceCount: 30 }), /bytes/)
  })
})

test('resume data of formats 1 and 2 (with per-file sizes and mtimes) still loads, the files ignored; a save writes format 3', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    const file = path.join(dir, 'resume', `${A.hash}.resume`)
    const bitfield = Buffer.from([0b1010_0000])
    const olderFiles = { 1: [[7, 1_700_000_000_123], [0, -1]], 2: Buffer.alloc(2 * 16, 1) }
    for (const format of [1, 2] as const) {
      const body = Buffer.from(bencode.encode({ 'info hash': Buffer.from(A.hash, 'hex'), 'piece count': 3, bitfield, files: olderFiles[format] }))
      await writeFile(file, bencode.encode({ format, resume: body, sha1: createHash('sha1').update(body).digest() }))
      assert.deepEqual(await store.loadResume(A.hash), { infoHash: A.hash, pieceCount: 3, bitfield }, `format ${format}`)
    }
    await store.saveResume((await store.loadResume(A.hash))!)
    assert.equal((bencode.decode(await readFile(file)) as { format: number }).format, 3)
    assert.deepEqual(await store.loadResume(A.hash), { infoHash: A.hash, pieceCount: 3, bitfield })
  })
})

test('corrupt, truncated, tampered or misplaced resume data loads as undefined, never throws', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    await store.add(entryFor(B.hash), B.torrent)
    await store.saveResume(resumeFor(A.hash))
    const file = path.join(dir, 'resume', `${A.hash}.resume`)
    const good = await readFile(file)
    assert.ok(await store.loadResume(A.hash))

    const flipped = Buffer.from(good)
    const at = flipped.indexOf(Buffer.from([0b1010_0000]))
    assert.ok(at > 0)
    flipped[at] = 0xff
    const variants = [Buffer.from('garbage'), Buffer.alloc(0), good.subarray(0, good.length - 7), flipped, Buffer.from(bencode.encode({ format: 1 }))]
    for (const bad of variants) {
      await writeFile(file, bad)
      assert.equal(await store.loadResume(A.hash), undefined, bad.toString('latin1').slice(0, 40))
    }
    await writeFile(path.join(dir, 'resume', `${B.hash}.resume`), good)
    assert.equal(await store.loadResume(B.hash), undefined, 'resume data of another torrent')
  })
})

test('a corrupt library.json fails open with a FriendError naming it, and is left untouched', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    const file = path.join(dir, 'library.json')
    const good = await readFile(file, 'utf8')
    const cases = [
      good.slice(0, good.length / 2),
      '[]',
      JSON.stringify({ version: 1, torrents: [{ ...entryFor(A.hash), state: 'flying' }] }),
      JSON.stringify({ version: 1, torrents: [entryFor(A.hash), entryFor(A.hash)] }),
    ]
    for (const text of cases) {
      await writeFile(file, text)
      await assert.rejects(StateStore.open(dir), (err: Error) => {
        assert.ok(err instanceof FriendError)
        assert.ok(err.message.includes(file), err.message)
        assert.match(err.message, /corrupt.*move it aside/)
        assert.equal(err.message.includes('\n'), false)
        return true
      })
      assert.equal(await readFile(file, 'utf8'), text)
    }
    await writeFile(file, JSON.stringify({ version: 9, torrents: [] }))
    await assert.rejects(StateStore.open(dir), /newer friendtorrent.*upgrade/)
  })
})

test('writes are serialised: a burst of updates and saves ends with the last values and no temp files', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    await store.add(entryFor(A.hash), A.torrent)
    const jobs: Promise<void>[] = []
    for (let i = 1; i <= 50; i++) {
      jobs.push(store.update(A.hash, { uploadedBytes: i }))
      jobs.push(store.saveResume({ infoHash: A.hash, pieceCount: 8 * i, bitfield: Buffer.alloc(i, i) }))
    }
    await Promise.all(jobs)
    await store.flush()
    const again = await StateStore.open(dir)
    assert.equal(again.get(A.hash)?.uploadedBytes, 50)
    assert.equal((await again.loadResume(A.hash))?.pieceCount, 400)
    for (const sub of ['', 'torrents', 'resume']) {
      assert.deepEqual((await readdir(path.join(dir, sub))).filter((n) => n.endsWith('.tmp')), [])
    }
  })
})

test('open removes temp files left by a dead writer and keeps other files', async () => {
  await withTemp(async (dir) => {
    await StateStore.open(dir)
    const dead = path.join(dir, 'resume', `.${A.hash}.resume.999999999.1700000000000.tmp`)
    const other = path.join(dir, 'resume', 'notes.txt')
    await writeFile(dead, 'half')
    await writeFile(other, 'mine')
    await StateStore.open(dir)
    assert.deepEqual(await readdir(path.join(dir, 'resume')), ['notes.txt'])
  })
})

/** Each save k is fully determined by k, so a loaded record can be checked for being whole. */
function recordFor(hash: string, k: number): ResumeData {
  const pieceCount = 20_000 + (k % 50) * 997
  const bitfield = Buffer.alloc(Math.ceil(pieceCount / 8), k & 0xff)
  const spare = bitfield.length * 8 - pieceCount
  bitfield.writeUInt32BE(k, 0)
  bitfield[bitfield.length - 1] &= (0xff << spare) & 0xff
  return { infoHash: hash, pieceCount, bitfield }
}

const CHILD_SOURCE = (hash: string) => `
import { readFile } from 'node:fs/promises'
import { StateStore } from ${JSON.stringify(STORE_URL)}
${recordFor.toString()}
const [dir, torrentPath, start] = process.argv.slice(2)
const store = await StateStore.open(dir)
await store.add({ infoHash: ${JSON.stringify(hash)}, name: 'crash', savePath: '/tmp', state: 'downloading',
  uploadedBytes: 0, downloadedBytes: 0, addedAtMs: 1, queuePosition: 0 }, await readFile(torrentPath))
process.stdout.write('ready\\n')
for (let k = Number(start); ; k++) {
  await store.saveResume(recordFor(${JSON.stringify(hash)}, k))
  process.stdout.write('saved ' + k + '\\n')
}
`

test('kill -9 while saving resume data in a tight loop never leaves a torn record', { timeout: 120_000 }, async (t) => {
  await withTemp(async (tmp) => {
    const dir = path.join(tmp, 'state')
    const script = path.join(tmp, 'child.mjs')
    const torrentPath = path.join(tmp, 'a.torrent')
    await writeFile(script, CHILD_SOURCE(A.hash))
    await writeFile(torrentPath, A.torrent)
    let lastSaved = -1
    let everReady = false
    let recordsSeen = 0
    let savesCompleted = 0
    for (let round = 0; round < 10; round++) {
      const start = (round + 1) * 1_000_000
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, torrentPath, String(start)], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
      let stderr = ''
      let buffered = ''
      let ready!: () => void
      const readySeen = new Promise<void>((resolve) => { ready = resolve })
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          if (line === 'ready') {
            everReady = true
            ready()
          } else if (line.startsWith('saved ')) {
            lastSaved = Number(line.slice(6))
            savesCompleted++
          }
        }
      })
      try {
        await Promise.race([readySeen, exited.then((how) => { throw new Error(`child exited (${how}) before it was ready: ${stderr}`) })])
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 40)))
        child.kill('SIGKILL')
        assert.equal(await exited, 'SIGKILL', stderr)
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL')
          await exited
        }
      }

      const store = await StateStore.open(dir)
      if (everReady) assert.equal(store.get(A.hash)?.name, 'crash')
      const loaded = await store.loadResume(A.hash)
      if (loaded === undefined) {
        assert.equal(lastSaved, -1, `round ${round}: save ${lastSaved} completed but nothing loads`)
        continue
      }
      recordsSeen++
      const k = loaded.bitfield.readUInt32BE(0)
      assert.ok(k >= lastSaved, `round ${round}: loaded save ${k}, older than completed save ${lastSaved}`)
      assert.deepEqual(loaded, recordFor(A.hash, k), `round ${round}: save ${k} is not whole`)
    }
    assert.ok(recordsSeen > 0, 'no round got as far as saving resume data')
    t.diagnostic(`${recordsSeen}/10 rounds loaded a whole record; ${savesCompleted} saves completed before the kills`)
  })
})

test('bans: kept canonical in library.json across reopen, lifted, and a bad list is reported as corrupt', async () => {
  await withTemp(async (dir) => {
    const store = await StateStore.open(dir)
    assert.equal(await store.ban('::ffff:192.0.2.7'), '192.0.2.7')
    assert.equal(await store.ban('[2001:DB8::0:7]'), '2001:db8::7')
    await store.ban('192.0.2.7')
    await assert.rejects(store.ban('example.org'), (err: Error) => err instanceof FriendError && /a ban is an IP address/.test(err.message))
    await store.flush()
    const reopened = await StateStore.open(dir)
    assert.deepEqual(reopened.bans(), ['192.0.2.7', '2001:db8::7'])
    assert.equal(await reopened.unban('192.0.2.7'), true)
    assert.equal(await reopened.unban('192.0.2.7'), false)
    await reopened.flush()
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'library.json'), 'utf8')).bans, ['2001:db8::7'])
    await writeFile(path.join(dir, 'library.json'), JSON.stringify({ version: 1, torrents: [], bans: ['not an address'] }))
    await assert.rejects(StateStore.open(dir), /"bans" is not a list of IP addresses/)
  })
})
