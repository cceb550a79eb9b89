// The dashboard's UI as one module for load-ui.ts to import on demand: Ink's
// render and a Dashboard element maker (React, Ink and yoga-layout load with it).
import { render } from 'ink'
import { createElement } from 'react'
import { Dashboard } from './dashboard.tsx'
import type { DashboardProps } from './dashboard.tsx'

export { render }

export function dashboard(props: DashboardProps) {
  return createElement(Dashboard, props)
}
