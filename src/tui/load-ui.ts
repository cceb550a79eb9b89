// Loads the dashboard's UI code (Ink, React, yoga-layout and the views) on
// demand, so the CLI's other commands never load it, and without Node's
// fetch: yoga-layout's loader turns its WebAssembly out of a base64 `data:`
// URL with `fetch()` whenever `fetch` exists, and the first call to Node's
// fetch loads its whole HTTP client (undici) for good: +6 MB of resident
// memory for the life of the dashboard, to decode 72 KB. With `fetch` out of
// sight it decodes the same bytes itself. Nothing else in the process may
// call fetch meanwhile: this runs before the dashboard starts or attaches to
// a session (and the session and CLI never use fetch).
import type { Instance, RenderOptions } from 'ink'
import type { ReactElement } from 'react'
import type { DashboardProps } from './dashboard.tsx'

export interface DashboardUi {
  render(tree: ReactElement, options: RenderOptions): Instance
  dashboard(props: DashboardProps): ReactElement
}

export async function loadDashboardUi(): Promise<DashboardUi> {
  const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch')
  if (fetchProperty?.configurable) delete (globalThis as { fetch?: unknown }).fetch
  try {
    const { render, dashboard } = await import('./dashboard-ui.ts')
    return { render, dashboard }
  } finally {
    if (fetchProperty?.configurable) Object.defineProperty(globalThis, 'fetch', fetchProperty)
  }
}
