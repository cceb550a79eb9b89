// Mouse reports and where a click lands: SGR parsing (with and without the
// ESC Ink strips), and hit-testing against the layout numbers the components
// draw with (scrolled lists, the header's views, columns and tabs).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fitColumns, viewLabel, VIEWS } from '../../src/tui/model.ts'
import { DOUBLE_CLICK_MS, hitTest, mouseAction, parseMouse, WHEEL_ROWS } from '../../src/tui/mouse.ts'
import type { MouseEvent, ScreenLayout } from '../../src/tui/mouse.ts'

const views = VIEWS.map((v, i) => [v, i * 10] as const)
const list = (over: Partial<Extract<ScreenLayout, { kind: 'list' }>> = {}): ScreenLayout => ({ kind: 'list', width: 80, bodyHeight: 20, views, count: 100, selected: 0, listHeight: 20, maxQueue: 100, ...over })
const press = (x: number, y: number, over: Partial<MouseEvent> = {}): MouseEvent => ({ button: 'left', press: true, x, y, shift: false, meta: false, ctrl: false, ...over })

describe('parseMouse', () => {
  it('reads SGR presses and releases, 1-based cells to 0-based, with or without the ESC', () => {
    assert.deepEqual(parseMouse('\x1b[<0;10;5M'), { button: 'left', press: true, x: 9, y: 4, shift: false, meta: false, ctrl: false })
    assert.deepEqual(parseMouse('[<0;10;5m'), { button: 'left', press: false, x: 9, y: 4, shift: false, meta: false, ctrl: false })
    assert.equal(parseMouse('\x1b[<2;300;1M')?.button, 'right')
    assert.equal(parseMouse('\x1b[<1;1;1M')?.button, 'middle')
    assert.equal(parseMouse('\x1b[<64;1;1M')?.button, 'wheelUp')
    assert.equal(parseMouse('\x1b[<65;1;1M')?.button, 'wheelDown')
    assert.equal(parseMouse('\x1b[<32;4;4M')?.button, 'other', 'a drag is not a click')
    const mods = parseMouse('\x1b[<28;2;2M')!
    assert.deepEqual([mods.button, mods.shift, mods.meta, mods.ctrl], ['left', true, true, true])
  })

  it('is not fooled by keys, text or broken reports', () => {
    for (const s of ['j', '[<0;10;5', '\x1b[A', '[<0;0;5M', '[<0;5;0M', '[<a;1;1M', '[<0;1;1Mj', 'x[<0;1;1M', '[<99999;1;1M']) assert.equal(parseMouse(s), undefined, JSON.stringify(s))
  })
})

describe('hitTest', () => {
  it('finds the view under a click on the header, after the title', () => {
    let x = 'friendtorrent'.length
    for (const [v, n] of views) {
      const label = viewLabel(v, n)
      assert.deepEqual(hitTest(list(), x, 0), { kind: 'view', view: v })
      assert.deepEqual(hitTest(list(), x + label.length - 1, 0), { kind: 'view', view: v })
      x += label.length
    }
    assert.equal(hitTest(list(), 3, 0), undefined, 'the title is not a view')
    assert.equal(hitTest(list(), x, 0), undefined, 'past the last view')
  })

  it('finds the column under a click on the list header', () => {
    const { columns, nameWidth } = fitColumns(80, 100)
    let x = 0
    for (const [i, c] of columns.entries()) {
      x += i === 0 ? 0 : 1
      assert.deepEqual(hitTest(list(), x, 1), { kind: 'sort', key: c.key })
      x += c.key === 'name' ? nameWidth : c.width
    }
  })

  it('maps a row to its torrent, following the scroll that keeps the selection in sight', () => {
    // 19 rows under the header; the first row is torrent 0 at the top...
    assert.deepEqual(hitTest(list(), 5, 2), { kind: 'torrent', index: 0 })
    assert.deepEqual(hitTest(list(), 5, 20), { kind: 'torrent', index: 18 })
    assert.equal(hitTest(list(), 5, 21), undefined, 'below the list')
    // ...and with torrent 50 selected, the window starts at 50 - 9.
    assert.deepEqual(hitTest(list({ selected: 50 }), 5, 2), { kind: 'torrent', index: 41 })
    // At the end the last row is the last torrent.
    assert.deepEqual(hitTest(list({ selected: 99 }), 5, 20), { kind: 'torrent', index: 99 })
    assert.equal(hitTest(list({ count: 3 }), 5, 5), undefined, 'an empty row under a short list')
    assert.equal(hitTest(list({ listHeight: 10 }), 5, 12), undefined, 'the rate graph under a shorter list')
    assert.equal(hitTest(list(), 80, 2), undefined, 'outside the width')
  })

  it('finds the tab and the files or peers row in details, and a ban', () => {
    const detail = (over: object = {}): ScreenLayout => ({ kind: 'detail', width: 80, bodyHeight: 20, views, loaded: true, tab: 'files', rowCount: 40, row: 0, ...over }) as ScreenLayout
    // The tab line is the body's third: " 1 files " from 0, then " 2 peers " after a space.
    assert.deepEqual(hitTest(detail(), 0, 3), { kind: 'tab', tab: 'files' })
    assert.deepEqual(hitTest(detail(), 10, 3), { kind: 'tab', tab: 'peers' })
    assert.equal(hitTest(detail({ loaded: false }), 0, 3), undefined)
    // Rows start under the tab's own header line (screen line 4).
    assert.equal(hitTest(detail(), 3, 4), undefined, 'the files header')
    assert.deepEqual(hitTest(detail(), 3, 5), { kind: 'row', row: 0 })
    assert.deepEqual(hitTest(detail({ row: 30 }), 3, 5), { kind: 'row', row: 23 })
    assert.deepEqual(hitTest(detail({ tab: 'peers', rowCount: 3 }), 3, 7), { kind: 'row', row: 2 })
    assert.equal(hitTest(detail({ tab: 'peers', rowCount: 3 }), 3, 8), undefined, 'the hint under the peers')
    assert.equal(hitTest(detail({ tab: 'pieces' }), 3, 5), undefined)
    const bans: ScreenLayout = { kind: 'bans', width: 80, bodyHeight: 20, views, count: 2, row: 0 }
    assert.deepEqual(hitTest(bans, 0, 3), { kind: 'row', row: 1 })
    assert.equal(hitTest(bans, 0, 4), undefined)
  })
})

describe('mouseAction', () => {
  it('a left press acts; a release, other buttons and modified clicks do not', () => {
    assert.deepEqual(mouseAction(list(), press(5, 3), undefined, 0).action, { kind: 'torrent', index: 1 })
    assert.equal(mouseAction(list(), press(5, 3, { press: false }), undefined, 0).action, undefined)
    assert.equal(mouseAction(list(), press(5, 3, { button: 'right' }), undefined, 0).action, undefined)
    assert.equal(mouseAction(list(), press(5, 3, { shift: true }), undefined, 0).action, undefined)
  })

  it('two presses on the same torrent in time open it; slower, or on another, they select', () => {
    const first = mouseAction(list(), press(5, 3), undefined, 1000)
    assert.deepEqual(mouseAction(list(), press(5, 3), first.click, 1000 + DOUBLE_CLICK_MS).action, { kind: 'open', index: 1 })
    assert.deepEqual(mouseAction(list(), press(5, 3), first.click, 1001 + DOUBLE_CLICK_MS).action, { kind: 'torrent', index: 1 })
    assert.deepEqual(mouseAction(list(), press(5, 4), first.click, 1100).action, { kind: 'torrent', index: 2 })
    // The release between the two presses of a double click keeps the first.
    const released = mouseAction(list(), press(5, 3, { press: false }), first.click, 1050)
    assert.deepEqual(mouseAction(list(), press(5, 3), released.click, 1100).action, { kind: 'open', index: 1 })
  })

  it('the wheel moves the selection where there is a list', () => {
    assert.deepEqual(mouseAction(list(), press(5, 3, { button: 'wheelDown' }), undefined, 0).action, { kind: 'move', by: WHEEL_ROWS })
    assert.deepEqual(mouseAction(list(), press(5, 3, { button: 'wheelUp' }), undefined, 0).action, { kind: 'move', by: -WHEEL_ROWS })
    assert.equal(mouseAction({ kind: 'other', width: 80, bodyHeight: 20, views }, press(5, 3, { button: 'wheelUp' }), undefined, 0).action, undefined)
  })
})
