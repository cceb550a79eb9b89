import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const OPTIMIZER = fileURLToPath(new URL('../../../src/core/optimizer.ts', import.meta.url))

/**
 * Runs `body` in a Node started as bin/friendtorrent.js starts it (--no-turbofan), with
 * `hot(name)`: a fresh function run hot, then whether V8 compiled it with TurboFan
 * (%GetOptimizationStatus bit 6). Prints and returns what `body` collects.
 */
function inNoTurbofanNode(body: string): Record<string, unknown> {
  const script = `
    import * as o from ${JSON.stringify(OPTIMIZER)}
    const status = new Function('f', 'return %GetOptimizationStatus(f)')
    const data = new Array(1000).fill(1)
    function hot() {
      const f = new Function('a', 'let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s')
      for (let k = 0; k < 20000; k++) f(data)
      return (status(f) & 64) !== 0
    }
    const out = {}
    ${body}
    process.stdout.write(JSON.stringify(out))
  `
  const flags = ['--no-turbofan', '--no-concurrent-recompilation', '--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', script]
  return JSON.parse(execFileSync(process.execPath, flags, { encoding: 'utf8' })) as Record<string, unknown>
}

test('TurboFan stays off until asked for, then optimises hot code; a module load holds it back', () => {
  const out = inNoTurbofanNode(`
    out.wantedAtStart = o.optimizing()
    out.hotAtStart = hot()
    o.noteMetainfoSize(o.BULK_METAINFO_BYTES - 1)
    out.wantedAfterSmall = o.optimizing()
    await o.withoutOptimizer(async () => {
      o.optimizeFromNowOn()
      out.wantedInHold = o.optimizing()
      out.hotInHold = hot()
    })
    out.hotAfterHold = hot()
  `)
  assert.deepEqual(out, {
    wantedAtStart: false,
    hotAtStart: false,
    wantedAfterSmall: false,
    wantedInHold: true,
    hotInHold: false,
    hotAfterHold: true,
  })
})

test('a metainfo of BULK_METAINFO_BYTES switches TurboFan on for the rest of the process', () => {
  const out = inNoTurbofanNode(`
    o.noteMetainfoSize(o.BULK_METAINFO_BYTES)
    out.wanted = o.optimizing()
    out.hot = hot()
    await o.withoutOptimizer(async () => { out.hotInHold = hot() })
    out.hotAfter = hot()
  `)
  assert.deepEqual(out, { wanted: true, hot: true, hotInHold: false, hotAfter: true })
})

test('parsing a .torrent of 1 MiB or more switches it on; a small one does not', () => {
  const METAINFO = fileURLToPath(new URL('../../../src/metainfo/metainfo.ts', import.meta.url))
  const out = inNoTurbofanNode(`
    const { parseTorrentFile } = await import(${JSON.stringify(METAINFO)})
    const torrent = (pieces) => Buffer.concat([
      Buffer.from('d4:infod6:lengthi' + pieces * 16384 + 'e4:name1:a12:piece lengthi16384e6:pieces' + pieces * 20 + ':'),
      Buffer.alloc(pieces * 20, 7),
      Buffer.from('ee'),
    ])
    await parseTorrentFile(torrent(1000))
    out.afterSmall = o.optimizing()
    const big = torrent(Math.ceil(o.BULK_METAINFO_BYTES / 20))
    await parseTorrentFile(big)
    out.afterBig = o.optimizing()
  `)
  assert.deepEqual(out, { afterSmall: false, afterBig: true })
})
