// When V8's optimising compiler (TurboFan) may run in this process. The bin
// starts Node with --no-turbofan: a transfer's JavaScript runs in V8's
// baseline code (Sparkplug) and its hot loops are native (SHA-1 in OpenSSL,
// RC4 in WebAssembly, which V8 compiles with TurboFan once, --no-liftoff).
// TurboFan's first JavaScript compile pages in ~3 MB of the compiler's code
// and its zones take ~2 MB of malloc, for a few per cent of a download's CPU
// (1 GiB `add` peak 62.9–63.3 → 60.2–60.4 MB; issue 15, README "Memory").
// Work that is bulk JavaScript, where the baseline code ran up to twice as
// long (a 100,000-file torrent's add to a running session: 1.8 against 1.0 s),
// switches it on for the rest of the process: a metainfo of 1 MiB or more,
// and the commands whose whole job is JavaScript (the crawler, the index, the
// tracker, create). The dashboard stays without it: +6 MB over a headless
// session's peak against +11 with it, 1.4–1.9 % of a core for its redraws
// (bench dashboard-idle, dashboard-peers). Started without those flags
// (`node bin/friendtorrent.js`), Node's default stands: TurboFan on.
import { setFlagsFromString } from 'node:v8'

/** A metainfo (or info dict) this large means bulk work: parsing, checking, listing its files or pieces. */
export const BULK_METAINFO_BYTES = 1024 * 1024

let wanted = !process.execArgv.includes('--no-turbofan')
let holds = 0

/** TurboFan on from now on (a no-op once on; while a hold lasts, from its end). */
export function optimizeFromNowOn(): void {
  if (wanted) return
  wanted = true
  if (holds === 0) setFlagsFromString('--turbofan')
}

/** Whether TurboFan is wanted in this process (it may still be held back for a module load). */
export function optimizing(): boolean {
  return wanted
}

/** Switches TurboFan on for good when `bytes` of metainfo are about to be parsed and used. */
export function noteMetainfoSize(bytes: number): void {
  if (bytes >= BULK_METAINFO_BYTES) optimizeFromNowOn()
}

/**
 * Runs `load` (module imports) with TurboFan held back, whatever is wanted: resolving a few
 * dozen chunks calls Node's fileURLToPath and path.normalize often enough that V8 optimises
 * them, and that first compile alone pages in ~4 MB of the compiler (`list` 49.9 → 52.6 MB).
 */
export async function withoutOptimizer<T>(load: () => Promise<T>): Promise<T> {
  if (holds++ === 0 && wanted) setFlagsFromString('--no-turbofan')
  try {
    return await load()
  } finally {
    if (--holds === 0 && wanted) setFlagsFromString('--turbofan')
  }
}
