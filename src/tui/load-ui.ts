// Loads the dashboard's UI code (Ink, React, yoga-layout and the views) on
// demand, so the CLI's other commands never load it, and without Node's
// fetch: yoga-layout's loader turns its WebAssembly out of a base64 `data:`
// URL with `fetch()` whenever `fetch` exists, and the first call to Node's
// fetch loads its whole HTTP client (undici) for good: +6 MB of resident
// memory for the life of the dashboard, to decode 72 KB. With `fetch` out of
// sight it decodes the same bytes itself. Nothing else in the process may
// call fetch meanwhile: this runs before the dashboard starts or attaches to
// a session (and the session and CLI never use fetch).
// Meanwhile too: Intl.Segmenter stands in as grapheme-segmenter.ts's lazy one
// (ICU's segmenter only for text that needs it), and V8 compiles WebAssembly
// with Liftoff only, never TurboFan: yoga's module stays in Liftoff code for
// the life of the dashboard (its tier-up compiled yoga's layout functions with
// ~7 MB of compiler memory, kept by malloc in the V8 workers' arenas; the
// dashboard's CPU did not rise, bench dashboard-idle). Modules compiled
// afterwards, MSE's RC4 among them, tier up as usual (issue 15, README "Memory").
import { setFlagsFromString } from 'node:v8'
import type { Instance, RenderOptions } from 'ink'
import type { ReactElement } from 'react'
import type { DashboardProps } from './dashboard.tsx'
import { withLazySegmenter } from './grapheme-segmenter.ts'

export interface DashboardUi {
  render(tree: ReactElement, options: RenderOptions): Instance
  dashboard(props: DashboardProps): ReactElement
}

export async function loadDashboardUi(): Promise<DashboardUi> {
  const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch')
  if (fetchProperty?.configurable) delete (globalThis as { fetch?: unknown }).fetch
  // Liftoff back on (bin/friendtorrent.js starts Node with --no-liftoff) and alone; afterwards,
  // V8's defaults in Node 20: Liftoff first, TurboFan for functions that run hot.
  setFlagsFromString('--liftoff')
  setFlagsFromString('--liftoff-only')
  try {
    const { render, dashboard } = await withLazySegmenter(() => import('./dashboard-ui.ts'))
    return { render, dashboard }
  } finally {
    setFlagsFromString('--no-liftoff-only')
    setFlagsFromString('--wasm-dynamic-tiering')
    if (fetchProperty?.configurable) Object.defineProperty(globalThis, 'fetch', fetchProperty)
  }
}
