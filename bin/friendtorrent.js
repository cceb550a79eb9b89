#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS FT_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=30 --optimize-for-size --no-turbofan --no-short-builtin-calls --no-concurrent-recompilation
// Runs the compiled, bundled CLI (dist/bundle/, built by `npm install` through `prepare`, or `npm run build`).
// The small young generation keeps peak memory low at hundreds of MB/s (measured: −25 MB RSS, no loss of speed).
// The old generation grows by 30 % of what survived a full GC, not by V8's up to ×4: a download's live heap
// is ~8 MB, and without it the heap ran to 33 MB of garbage before V8 collected (1 GiB: peak RSS 97 → 83 MB,
// same CPU time; issue 15).
// --optimize-for-size: V8 then lets the old generation grow by 2 MB past a full GC rather than 8 MB
// (plus smaller JIT budgets): 256 MiB `add` peak 78 → 73.5–78 MB, `seed` 70.5 → 66–69 MB, 1 GiB `add`
// 83 → 81 MB, download speed no lower in alternating runs (issue 15, README "Memory").
// --no-turbofan: V8's optimising compiler stays off unless the work is bulk JavaScript
// (src/core/optimizer.ts switches it on: the crawler, the index, the tracker, create, a metainfo of
// 1 MiB or more). A transfer's hot loops are native or WebAssembly; TurboFan's first compile
// pages in ~3 MB of the compiler's code, and loading the bundle's chunks alone would trigger
// one (Node's fileURLToPath and path.normalize run hot): 1 GiB `add` peak 62.9–63.3 → 60.2–60.4 MB,
// `seed` to two leechers 62.2 → 58.2 MB (issue 15, README "Memory").
// --no-short-builtin-calls: V8 otherwise maps a second copy of its builtins' code beside the
// JIT's code range, for shorter calls into them: −0.9 MB for an idle seed, −0.3 MB at a
// 1 GiB `add`'s peak, CPU time no higher in alternating runs (issue 15, README "Memory").
// MALLOC_ARENA_MAX=2: glibc's malloc gives threads that allocate at once arenas of their own, up to
// 8 per core, and each keeps what was freed in it; V8's workers (TurboFan compiles, GC) and libuv's
// pool are such threads. Two arenas: 1 GiB `add` peak 65.7–66.6 → 64.6–65.5 MB (5 runs each),
// `seed` to two leechers 64.0–64.3 → 62.3–64.0 MB, CPU time no higher in alternating runs; one arena
// was as small but the seed slower and +10 % CPU (issue 15, README "Memory"). Other mallocs ignore
// it; the processes the CLI starts (coreutils' `sync -f`) inherit it, harmlessly.
// --no-concurrent-recompilation: TurboFan compiles on the main thread, not on a worker, so its
// zone memory comes from and goes back to the main thread's arena (a compile takes milliseconds,
// and a download compiles a few dozen functions). Alternating with MALLOC_ARENA_MAX=2 alone:
// 512 MiB `add` 64.2–65.2 → 63.9–64.4 MB, `seed` to two leechers 63.3–63.5 → 62.1–62.3 MB, the
// dashboard's session 74–75 → 69–71 MB; download and upload speed no lower (issue 15, README "Memory").
// -u NODE_EXTRA_CA_CERTS FT_EXTRA_CA_CERTS=${…}: with NODE_EXTRA_CA_CERTS set (as machines
// behind TLS-inspecting proxies set it for every process), Node 20 builds its whole root store, its
// ~140 bundled roots plus the file's, at start-up before any JavaScript runs: 1.2–1.5 MB of peak RSS
// (1 GiB `add` 62.9/63.3/63.1 → 62.7/61.4/61.7 MB without it), though only https trackers, web seeds
// and .torrent links use TLS. env moves the value aside (unset: the empty string); below, it is put
// back for the processes we start, and src/discovery/tls-roots.ts loads the file at the first HTTPS
// request (issue 15, README "Memory").
import { setFlagsFromString } from 'node:v8'
// The kernel reads a shebang line's first 255 bytes and drops the rest without a word
// (test/unit/cli/bin-shebang.test.ts holds it under that), so V8 flags that need not be
// set before Node starts are set here, before the CLI's modules load:
// --no-liftoff: WebAssembly (MSE's RC4) is compiled once, by TurboFan's backend, rather than
// by Liftoff first and TurboFan again when hot: one compiler's code paged in, not two
// (1 GiB `add` 63.2–63.8 → 62.7–63.3 MB, alternating; issue 15, README "Memory").
setFlagsFromString('--no-liftoff')
// The shebang kept Node from loading NODE_EXTRA_CA_CERTS: put it back for the processes we start
// (Node reads it only at start-up), and tell tls-roots.ts that this process has not loaded it.
// Run without the shebang (`node bin/friendtorrent.js`), Node has loaded it and nothing changes.
const deferredCa = process.env.FT_EXTRA_CA_CERTS
delete process.env.FT_EXTRA_CA_CERTS
if (deferredCa) {
  process.env.NODE_EXTRA_CA_CERTS = deferredCa
  globalThis[Symbol.for('friendtorrent.extraCaCertsDeferred')] = true
}
const args = process.argv.slice(2)
let cli
try {
  cli = await import('../dist/bundle/main.js')
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist')) throw err
  process.stderr.write('friendtorrent: not built yet; run `npm run build` (or `npm install`) in the project folder\n')
  process.exit(1)
}
const { main } = cli
const { processIo } = await import('../dist/bundle/io.js')
const code = await main(args, processIo())
process.exitCode = code
// Everything is closed by now and the process ends on its own. Should something still hold
// the event loop after a grace period, a user's shell is not kept waiting: exit anyway.
// Tests set FRIENDTORRENT_NO_FORCED_EXIT=1: then a handle left open is a bug, named on
// stderr, and the exit code is 70 (EX_SOFTWARE) so the test that ran the command fails.
const GRACE_MS = 2000
const strict = process.env.FRIENDTORRENT_NO_FORCED_EXIT === '1'
setTimeout(() => {
  if (!strict) process.exit(code)
  const open = process.getActiveResourcesInfo().join(', ') || 'nothing Node can name'
  process.stderr.write(`friendtorrent: still running ${GRACE_MS} ms after the command finished (exit code ${code}); open: ${open}\n`)
  process.exit(70)
}, GRACE_MS).unref()
