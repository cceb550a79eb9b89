// The dashboard's keyboard and mouse, one input at a time. Keys can come
// faster than renders (a paste, a fast typist, a test): each waits for the
// render of the one before it, so it sees the state that input left, and
// every input renders once, so the queue always drains. A chunk of plain
// characters is one key each (outside prompts, where it is pasted text).
// With `mouse`, xterm SGR mouse reports (mouse.ts) go to `onMouse` in the same
// order as the keys around them; mouse reports never reach `onKey` as typed text.
import { useInput } from 'ink'
import type { Key } from 'ink'
import { useEffect, useRef, useState } from 'react'
import { parseMouse } from './mouse.ts'
import type { MouseEvent } from './mouse.ts'

type Input = { input: string; key: Key } | { mouse: MouseEvent }

export interface KeyQueueHandlers {
  onKey: (input: string, key: Key) => void
  onMouse: (event: MouseEvent) => void
  /** Whether a chunk of several characters is typed keys (true) or pasted text for a prompt (false). */
  splitChunks: () => boolean
  mouse: boolean
}

export function useKeyQueue(handlers: KeyQueueHandlers): void {
  const latest = useRef(handlers)
  latest.current = handlers
  // `sent` counts inputs handled; the next waits for a render whose tick has reached it. A render
  // for another reason (a poll) can commit between an input and its own render: its effect must
  // not let the next input run against state from before the last one.
  const queue = useRef({ items: [] as Input[], sent: 0, rendered: 0 })
  const [tick, setTick] = useState(0)
  const drain = () => {
    const q = queue.current
    while (q.items.length && q.rendered >= q.sent) {
      const item = q.items.shift()!
      q.sent++
      if ('mouse' in item) latest.current.onMouse(item.mouse)
      else latest.current.onKey(item.input, item.key)
      setTick(q.sent)
    }
  }
  useInput((input, key) => {
    const h = latest.current
    const mouse = parseMouse(input)
    // Reports that come with the mouse off (another program left it on) are dropped, never typed.
    if (mouse) {
      if (h.mouse) queue.current.items.push({ mouse })
    } else if (!key.ctrl && !key.meta && !key.escape && [...input].length > 1 && h.splitChunks())
      for (const ch of input) queue.current.items.push({ input: ch, key: { ...key, return: ch === '\r', tab: ch === '\t' } })
    else queue.current.items.push({ input, key })
    drain()
  })
  useEffect(() => {
    queue.current.rendered = Math.max(queue.current.rendered, tick)
    drain()
  })
}
