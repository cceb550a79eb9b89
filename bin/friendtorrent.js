#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=30 --optimize-for-size --max-opt=1
// Runs the compiled, bundled CLI (dist/bundle/, built by `npm install` through `prepare`, or `npm run build`).
// The small young generation keeps peak memory low at hundreds of MB/s (measured: −25 MB RSS, no loss of speed).
// The old generation grows by 30 % of what survived a full GC, not by V8's up to ×4: a download's live heap
// is ~8 MB, and without it the heap ran to 33 MB of garbage before V8 collected (1 GiB: peak RSS 97 → 83 MB,
// same CPU time; issue 15).
// --optimize-for-size: V8 then lets the old generation grow by 2 MB past a full GC rather than 8 MB
// (plus smaller JIT budgets): 256 MiB `add` peak 78 → 73.5–78 MB, `seed` 70.5 → 66–69 MB, 1 GiB `add`
// 83 → 81 MB, download speed no lower in alternating runs (issue 15, README "Memory").
// --max-opt=1: JavaScript runs in Ignition and Sparkplug, never TurboFan. TurboFan's first compile
// maps ~4 MB of the compiler's code in Node's binary and its zones: `seed` up 58.5 → 54.2 MB and its
// peak 68 → 64 MB; CPU seconds per transfer unchanged (seed and add, plain and RC4, alternating; the
// hot paths are native: sockets, reads, SHA-1, and RC4 in WebAssembly, which this flag leaves alone).
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
const code = await main(process.argv.slice(2), processIo())
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
