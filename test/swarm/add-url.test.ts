// `add <http(s)://…/x.torrent>`: the .torrent is downloaded first, from a
// node:http server on 127.0.0.1 — a plain answer, a redirect, a redirect loop,
// a 404, a file over the size limit (declared and streamed), one that is not
// a torrent, and a server that never answers — by the CLI and by the control
// command the dashboard's add uses.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { controlHandler } from '../../src/cli/session-control.ts'
import { MAX_TORRENT_BYTES } from '../../src/metainfo/torrent-file.ts'
import { fetchTorrentUrl } from '../../src/session/torrent-url.ts'
import { describeRun, runCli } from '../helpers/cli.ts'
import { buildTorrent, ODD_LAYOUT } from '../helpers/make-torrent.ts'
import { freePort, tempDir } from '../helpers/net.ts'
import { openTestSession } from '../helpers/session.ts'
import { startWirePeer } from '../helpers/wire-peer.ts'

const built = buildTorrent({ name: 'linked-file', files: ODD_LAYOUT, pieceLength: 32 * 1024, seed: 51 })

/** The test's web server: one route per case; `requests` counts what it was asked. */
async function startServer(): Promise<{ base: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '')
    switch (req.url) {
      case '/x.torrent':
        res.writeHead(200, { 'content-type': 'application/x-bittorrent' }).end(built.torrent)
        return
      case '/moved':
        res.writeHead(302, { location: '/x.torrent' }).end()
        return
      case '/loop':
        res.writeHead(301, { location: '/loop' }).end()
        return
      case '/huge':
        // Declared too big: refused before any of it is read.
        res.writeHead(200, { 'content-length': String(MAX_TORRENT_BYTES + 1) })
        res.write(Buffer.alloc(1024))
        return
      case '/stream':
        // No length given: refused once what arrives passes the limit.
        res.writeHead(200)
        res.write(Buffer.alloc(4096))
        res.end(Buffer.alloc(4096))
        return
      case '/not-a-torrent':
        res.writeHead(200).end('<html>hello</html>')
        return
      case '/never':
        return // no answer at all
      default:
        res.writeHead(404, 'Not Found').end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

test('add <url>: the .torrent is fetched (directly or through a redirect), then downloaded like any other', { timeout: 90_000 }, async () => {
  const web = await startServer()
  const peer = await startWirePeer({ infoHash: built.infoHash, payload: built.payload, pieceLength: built.pieceLength })
  const work = tempDir('ft-add-url')
  try {
    for (const path of ['/x.torrent', '/moved']) {
      const out = join(work.path, `out${path.replace('/', '-')}`)
      const run = await runCli(['add', `${web.base}${path}`, '-o', out, '--port', String(await freePort()), '--peer', `127.0.0.1:${peer.port}`], { timeoutMs: 30_000 })
      assert.equal(run.code, 0, describeRun(run))
      assert.match(run.stdout, /done: linked-file/)
      let offset = 0
      for (const f of ODD_LAYOUT) {
        assert.ok(readFileSync(join(out, 'linked-file', ...f.path)).equals(built.payload.subarray(offset, offset + f.length)), f.path.join('/'))
        offset += f.length
      }
    }
    assert.deepEqual(web.requests, ['/x.torrent', '/moved', '/x.torrent'])
  } finally {
    await peer.close()
    await web.close()
    await work.cleanup()
  }
})

test('add <url> that fails: one line naming the link and what went wrong, exit 1, nothing written', { timeout: 90_000 }, async () => {
  const web = await startServer()
  const work = tempDir('ft-add-url-bad')
  try {
    const out = join(work.path, 'out')
    for (const [path, pattern] of [
      ['/missing', /cannot download http:\/\/127\.0\.0\.1:\d+\/missing: the server answered 404 Not Found$/],
      ['/loop', /cannot download .*\/loop: more than 5 redirects$/],
      ['/huge', new RegExp(`cannot download .*/huge: it is ${MAX_TORRENT_BYTES + 1} bytes, over the ${MAX_TORRENT_BYTES}-byte limit for a \\.torrent$`)],
      ['/not-a-torrent', /\/not-a-torrent: not a torrent file/],
    ] as const) {
      const run = await runCli(['add', `${web.base}${path}`, '-o', out], { timeoutMs: 30_000 })
      assert.equal(run.code, 1, describeRun(run))
      const lines = run.stderr.trim().split('\n')
      assert.equal(lines.length, 1, `one line, got: ${run.stderr}`)
      assert.match(lines[0], pattern)
    }
    assert.throws(() => readFileSync(out), /ENOENT/, 'no save folder was created')
  } finally {
    await web.close()
    await work.cleanup()
  }
})

test('fetchTorrentUrl: a body streamed past the limit and a server that never answers are refused, each in one line', async () => {
  const web = await startServer()
  try {
    await assert.rejects(fetchTorrentUrl(`${web.base}/stream`, { maxBytes: 6000 }), /^FriendError: cannot download .*\/stream: it is over the 6000-byte limit for a \.torrent$/)
    const started = Date.now()
    await assert.rejects(fetchTorrentUrl(`${web.base}/never`, { timeoutMs: 300 }), /cannot download .*\/never: no answer within 0\.3 s$/)
    assert.ok(Date.now() - started < 5_000, 'the time limit held')
    await assert.rejects(fetchTorrentUrl('ftp://127.0.0.1/x.torrent'), /cannot download ftp:/)
    assert.ok((await fetchTorrentUrl(`${web.base}/stream`, { maxBytes: 8192 })).length === 8192)
  } finally {
    await web.close()
  }
})

test('the control command `add` (the dashboard\'s add) takes a link too', { timeout: 30_000 }, async () => {
  const web = await startServer()
  const work = tempDir('ft-add-url-control')
  const session = await openTestSession(join(work.path, 'state'))
  try {
    const handler = controlHandler(session, work.path, join(work.path, 'out'))
    const added = (await handler('add', { url: `${web.base}/moved` })) as { added: boolean; summary: { name: string; infoHash: string } }
    assert.equal(added.added, true)
    assert.equal(added.summary.infoHash, built.infoHash.toString('hex'))
    await assert.rejects(handler('add', { url: `${web.base}/missing` }), /cannot download .*\/missing: the server answered 404/)
    await assert.rejects(handler('add', { url: `${web.base}/not-a-torrent` }), /\/not-a-torrent: not a torrent file/)
    assert.deepEqual(session.list().map((t) => t.name), ['linked-file'])
  } finally {
    await session.close()
    await web.close()
    await work.cleanup()
  }
})
