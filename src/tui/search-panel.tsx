// The dashboard's index search, live: each change of the words asks the
// session's `search` control command (after a short pause in typing; an
// answer to older words is dropped), ↑ ↓ choose, Enter adds the selected
// result through `add` (the session starts it from the stored info dict),
// Esc goes back. Holds the keyboard while open; SearchView draws it (with the
// background crawl's counters the dashboard's poll brings).
import { useInput, type Key } from 'ink'
import { useEffect, useRef, useState } from 'react'
import type { SearchResult } from '../index/search.ts'
import type { CrawlStatus } from '../index/crawl-stats.ts'
import type { DashboardBackend } from './backend.ts'
import { parseMouse } from './mouse.ts'
import { SearchView } from './search-view.tsx'

export interface SearchPanelProps {
  backend: DashboardBackend
  width: number
  height: number
  /** Where an added result is saved; the session's default when undefined. */
  saveDir?: string
  /** The session's background crawl, from its status. */
  crawl?: CrawlStatus
  /** Back to the list, with what happened (an add, or its error). */
  onClose: (message?: { text: string; error?: boolean }) => void
  /** Pause after the last key before searching (ms). */
  debounceMs?: number
}

export function SearchPanel({ backend, width, height, saveDir, crawl, onClose, debounceMs = 150 }: SearchPanelProps) {
  const [text, setText] = useState('')
  const [results, setResults] = useState<SearchResult[]>([])
  const [selected, setSelected] = useState(0)
  const [note, setNote] = useState<{ text: string; error?: boolean } | undefined>()
  const asked = useRef(0)

  useEffect(() => {
    const ask = ++asked.current
    if (text.trim() === '') {
      setResults([])
      setNote(undefined)
      return
    }
    const timer = setTimeout(() => {
      setNote({ text: 'searching…' })
      backend.call('search', { text, limit: 100, prefix: true }).then(
        (found) => {
          if (ask !== asked.current) return
          setResults(found as SearchResult[])
          setSelected(0)
          setNote(undefined)
        },
        (err: unknown) => ask === asked.current && setNote({ text: err instanceof Error ? err.message : String(err), error: true }),
      )
    }, debounceMs)
    return () => clearTimeout(timer)
  }, [text])

  // Keys can come before Ink re-subscribes after a render: the subscription calls the newest handler.
  const onKey = useRef<(input: string, key: Key) => void>(() => {})
  useInput((input, key) => onKey.current(input, key))
  onKey.current = (input, key) => {
    // A click while searching is not typed into the words.
    if (parseMouse(input)) return
    if (key.escape) return onClose()
    if (key.upArrow) return setSelected((s) => Math.max(0, s - 1))
    if (key.downArrow) return setSelected((s) => Math.max(0, Math.min(results.length - 1, s + 1)))
    if (key.return) {
      const r = results[selected]
      if (!r) return
      backend.call('add', { magnet: r.magnet, ...(saveDir && { savePath: saveDir }) }).then(
        (result) => {
          const { summary, added, note: already, fromIndex } = result as { summary: { name: string }; added: boolean; note?: string; fromIndex?: boolean }
          onClose({ text: added ? `added ${summary.name}${fromIndex ? ' from the index' : ''}` : (already ?? `${summary.name} is already in the library`) })
        },
        (err: unknown) => onClose({ text: err instanceof Error ? err.message : String(err), error: true }),
      )
      return
    }
    if (key.backspace || key.delete) return setText((t) => [...t].slice(0, -1).join(''))
    if (key.ctrl && input === 'u') return setText('')
    if (key.ctrl || key.meta || key.tab || input === '') return
    // Pasted text arrives as one input; control characters never reach the query.
    setText((t) => t + input.replace(/[\u0000-\u001f\u007f]/g, ''))
  }

  return <SearchView text={text} results={results} selected={selected} note={note} crawl={crawl} width={width} height={height} />
}
