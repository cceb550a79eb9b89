// What each colour means on the dashboard, in one place, and NO_COLOR
// (https://no-color.org): with it set, no colour at all; bold, dim and inverse
// still mark the selection, headers and what is skipped. Components read the
// palette from the context the dashboard provides; the default has colour.
import { createContext, useContext } from 'react'

export interface Palette {
  /** Download rates and graphs. */
  down?: string
  /** Upload rates and graphs. */
  up?: string
  /** Done: seeding, verified pieces, a tracker that answered. */
  ok?: string
  /** In progress or waiting: checking, pieces in flight, queued work. */
  busy?: string
  /** Needs a person: errors, bans, pieces nobody has. */
  bad?: string
  /** Headings and the app's name. */
  accent?: string
  /** Quiet: paused, queued, idle. */
  quiet?: string
}

export const COLOURS: Palette = { down: 'cyan', up: 'magenta', ok: 'green', busy: 'yellow', bad: 'red', accent: 'cyan', quiet: 'gray' }
export const NO_COLOURS: Palette = {}

/** NO_COLOR, when present and not empty, turns colour off. */
export function paletteFor(env: Record<string, string | undefined>): Palette {
  return env.NO_COLOR ? NO_COLOURS : COLOURS
}

export const PaletteContext = createContext<Palette>(COLOURS)

export function usePalette(): Palette {
  return useContext(PaletteContext)
}

/** A torrent state's colour. */
export function stateColour(p: Palette, state: string): string | undefined {
  switch (state) {
    case 'downloading':
      return p.down
    case 'seeding':
      return p.ok
    case 'checking':
    case 'fetching metadata':
      return p.busy
    case 'error':
      return p.bad
    default:
      return p.quiet
  }
}
