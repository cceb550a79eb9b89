// Stands in for Ink's measure-text.js and wrap-text.js in the dashboard bundle: the same
// functions, but their caches (one entry per distinct text ever laid out, never dropped:
// Ink issue #986) are emptied once they hold CACHE_LIMIT entries. The dashboard's rates,
// sizes and times make new texts every poll while data moves: ~5 entries a second, some
// MB an hour kept for the life of the process (issue 15, README "Memory").
// test/unit/tui/ink-text-caches.test.ts checks the results are Ink's.
import cliTruncate from 'cli-truncate'
import widestLine from 'widest-line'
import wrapAnsi from 'wrap-ansi'

export const CACHE_LIMIT = 1000

const measured = new Map()
const wrapped = new Map()

/** Stores `value` under `key` and returns it; a cache at CACHE_LIMIT entries is emptied first. */
export function remember(cache, key, value) {
  if (cache.size >= CACHE_LIMIT) cache.clear()
  cache.set(key, value)
  return value
}

/** Ink's measureText: the widest line's width and the number of lines. */
export function measureText(text) {
  if (text.length === 0) return { width: 0, height: 0 }
  return measured.get(text) ?? remember(measured, text, { width: widestLine(text), height: text.split('\n').length })
}

/** Ink's wrapText: `text` wrapped or truncated to `maxWidth` columns. */
export function wrapText(text, maxWidth, wrapType) {
  const key = text + String(maxWidth) + String(wrapType)
  const hit = wrapped.get(key)
  if (hit) return hit
  let out = text
  if (wrapType === 'wrap') out = wrapAnsi(text, maxWidth, { trim: false, hard: true })
  if (wrapType.startsWith('truncate')) {
    const position = wrapType === 'truncate-middle' ? 'middle' : wrapType === 'truncate-start' ? 'start' : 'end'
    out = cliTruncate(text, maxWidth, { position })
  }
  return remember(wrapped, key, out)
}

/** Entries held, for tests. */
export function cachedTexts() {
  return measured.size + wrapped.size
}
