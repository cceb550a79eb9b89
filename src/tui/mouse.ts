// Mouse input for the dashboard: xterm's SGR mouse reports (mode 1006 on top
// of 1000, press and release) parsed from what Ink hands over, and a click
// placed on the dashboard's layout (which torrent row, view, column, tab or
// list row is under it). Pure: no React, no I/O; the layout is described by
// the same numbers the components draw with (model.ts's scrollFirst and
// fitColumns, the labels of the view and tab headers), so a click lands on
// what the person sees.
import { DETAIL_TABS, fitColumns, scrollFirst, tabLabel, viewLabel } from './model.ts'
import type { DetailTab, SortKey, View } from './model.ts'

/** Press and release reports (1000) in the SGR encoding (1006): no 223-column limit, no bytes over 127. */
export const MOUSE_ON = '\x1b[?1000h\x1b[?1006h'
export const MOUSE_OFF = '\x1b[?1006l\x1b[?1000l'

export interface MouseEvent {
  button: 'left' | 'middle' | 'right' | 'wheelUp' | 'wheelDown' | 'other'
  /** A press (M), or a release (m). */
  press: boolean
  /** 0-based cell, from the top-left of the terminal. */
  x: number
  y: number
  shift: boolean
  meta: boolean
  ctrl: boolean
}

// ESC [ < b ; x ; y M|m. Ink strips the ESC before handing input to useInput.
const SGR = /^\x1b?\[<(\d{1,4});(\d{1,5});(\d{1,5})([Mm])$/

/** One SGR mouse report, or undefined when `input` is anything else (a key, pasted text). */
export function parseMouse(input: string): MouseEvent | undefined {
  const m = SGR.exec(input)
  if (!m) return undefined
  const code = Number(m[1])
  const x = Number(m[2]) - 1
  const y = Number(m[3]) - 1
  if (x < 0 || y < 0) return undefined
  // Bits: 0-1 the button, 2 shift, 3 meta, 4 ctrl, 5 motion, 6 wheel.
  const low = code & 3
  const wheel = (code & 64) !== 0
  const motion = (code & 32) !== 0
  const button = wheel ? (low === 0 ? 'wheelUp' : low === 1 ? 'wheelDown' : 'other') : motion || code >= 128 ? 'other' : low === 0 ? 'left' : low === 1 ? 'middle' : low === 2 ? 'right' : 'other'
  return { button, press: m[4] === 'M', x, y, shift: (code & 4) !== 0, meta: (code & 8) !== 0, ctrl: (code & 16) !== 0 }
}

/** What the dashboard shows, in the numbers its components lay it out with. */
export type ScreenLayout = {
  width: number
  /** Rows between the header line and the rate graph / bottom lines. */
  bodyHeight: number
  /** The header's views with their counts, in order. */
  views: readonly (readonly [View, number])[]
} & (
  | { kind: 'list'; count: number; selected: number; listHeight: number; maxQueue: number }
  | { kind: 'detail'; loaded: boolean; tab: DetailTab; rowCount: number; row: number }
  | { kind: 'bans'; count: number; row: number }
  | { kind: 'other' }
)

/** What a click is on. */
export type ClickTarget =
  | { kind: 'view'; view: View }
  | { kind: 'sort'; key: SortKey }
  | { kind: 'torrent'; index: number }
  | { kind: 'tab'; tab: DetailTab }
  /** A row of the open list: files or peers in details, an address in the ban list. */
  | { kind: 'row'; row: number }

const TITLE = 'friendtorrent'

/** Which of `labels`, drawn one after another from column `start`, covers column `x`. */
function spanAt<T>(labels: readonly (readonly [T, string])[], start: number, x: number): T | undefined {
  let at = start
  for (const [value, label] of labels) {
    const end = at + [...label].length
    if (x >= at && x < end) return value
    at = end
  }
  return undefined
}

/** The target under the cell (x, y), 0-based from the top-left, or undefined for nothing clickable. */
export function hitTest(layout: ScreenLayout, x: number, y: number): ClickTarget | undefined {
  if (x < 0 || x >= layout.width) return undefined
  if (y === 0) {
    const view = spanAt(layout.views.map(([v, n]) => [v, viewLabel(v, n)] as const), TITLE.length, x)
    return view && { kind: 'view', view }
  }
  const line = y - 1
  if (line >= layout.bodyHeight) return undefined
  switch (layout.kind) {
    case 'list': {
      if (line >= layout.listHeight) return undefined
      if (line === 0) {
        const { columns, nameWidth } = fitColumns(layout.width, layout.maxQueue)
        const key = spanAt(columns.map((c, i) => [c.key, ' '.repeat(i === 0 ? 0 : 1) + ' '.repeat(c.key === 'name' ? nameWidth : c.width)] as const), 0, x)
        return key && { kind: 'sort', key }
      }
      const rows = Math.max(1, layout.listHeight - 1)
      const index = scrollFirst(layout.selected, layout.count, rows) + line - 1
      return line - 1 < rows && index < layout.count ? { kind: 'torrent', index } : undefined
    }
    case 'detail': {
      // Title, state, tabs, then the tab's header line and its rows (files-tab, detail-view's peers).
      if (!layout.loaded) return undefined
      if (line === 2) {
        const tab = spanAt(DETAIL_TABS.map((t, i) => [t, tabLabel(t, i)] as const), 0, x)
        return tab && { kind: 'tab', tab }
      }
      if (layout.tab !== 'files' && layout.tab !== 'peers') return undefined
      const height = Math.max(1, layout.bodyHeight - 4)
      const rows = layout.tab === 'files' ? Math.max(1, height - 2) : height - 2
      const index = line - 4
      if (index < 0 || index >= rows) return undefined
      const row = scrollFirst(layout.row, layout.rowCount, rows) + index
      return row < layout.rowCount ? { kind: 'row', row } : undefined
    }
    case 'bans': {
      const rows = Math.max(1, layout.bodyHeight - 2)
      const index = line - 1
      if (index < 0 || index >= rows) return undefined
      const row = scrollFirst(layout.row, layout.count, rows) + index
      return row < layout.count ? { kind: 'row', row } : undefined
    }
    case 'other':
      return undefined
  }
}

/** Two left presses on the same torrent within this long open its details. */
export const DOUBLE_CLICK_MS = 400

/** Rows one wheel notch moves the selection. */
export const WHEEL_ROWS = 3

/** What a mouse report does: a click on a target, a double click opening a torrent, or the wheel moving the selection. */
export type MouseAction = ClickTarget | { kind: 'open'; index: number } | { kind: 'move'; by: number }

export interface Click {
  target: ClickTarget
  atMs: number
}

/**
 * The action of one report over `layout`, and the click to remember for the
 * next (a double click is two left presses on the same torrent row). Releases,
 * the middle and right buttons and modified clicks do nothing.
 */
export function mouseAction(layout: ScreenLayout, event: MouseEvent, previous: Click | undefined, nowMs: number): { action?: MouseAction; click?: Click } {
  if (!event.press || event.shift || event.meta || event.ctrl) return { click: previous }
  if (event.button === 'wheelUp' || event.button === 'wheelDown') {
    if (layout.kind === 'other' || (layout.kind === 'detail' && layout.tab !== 'files' && layout.tab !== 'peers')) return {}
    return { action: { kind: 'move', by: event.button === 'wheelUp' ? -WHEEL_ROWS : WHEEL_ROWS } }
  }
  if (event.button !== 'left') return { click: previous }
  const target = hitTest(layout, event.x, event.y)
  if (!target) return {}
  const click = { target, atMs: nowMs }
  if (target.kind === 'torrent' && previous?.target.kind === 'torrent' && previous.target.index === target.index && nowMs - previous.atMs <= DOUBLE_CLICK_MS)
    return { action: { kind: 'open', index: target.index } }
  return { action: target, click }
}
