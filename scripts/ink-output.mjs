// Stands in for Ink's output.js in the dashboard bundle: the same Output class (the
// frame's writes, clips and the grid they make, as one string), but its grid is not
// a new object per cell. Ink 6 builds every frame as a width×height grid of
// styled-character objects (120×40: 4,800 blank ones, each with its own empty styles
// array) and tokenizes every written line into more (a segment, a token and a styled
// character per character, each with a copy of the styles): ~0.8 MB per frame, which
// outlives the scavenge of its own render and is promoted to V8's old generation
// (issue 15, README "Memory"). Here the grid is two arrays per row, reused from frame
// to frame: each cell's text and its styles, one shared array per style. A line of
// printable characters that are each their own grapheme (ASCII, Latin-1, the symbols,
// box drawing and braille the dashboard draws) and plain SGR colour codes is read
// character by character, with no tokens; any other line (links, emoji, combining
// marks, other escapes) goes through @alcalzone/ansi-tokenize as in Ink.
// test/unit/tui/ink-output.test.ts checks frames are Ink's, character for character.
import sliceAnsi from 'slice-ansi'
import stringWidth from 'string-width'
import { ansiCodesToString, diffAnsiCodes, reduceAnsiCodesIncremental, styledCharsFromTokens, tokenize } from '@alcalzone/ansi-tokenize'
import { remember } from './ink-text-caches.mjs'
import { sgrEnd } from './ink-string-width.mjs'

const NO_STYLES = Object.freeze([])

/** The grid, reused by every frame: per row, each cell's text (undefined: nothing) and styles. */
const texts = []
const styles = []

/** A character's columns, Ink's way (string-width, at least 1), for characters past ASCII. */
const widths = new Map()
/** Styles after an SGR sequence, by the styles before it: the same array for the same style. */
const afterCode = new Map()
/** The codes that go from one style to another in a row's string. */
const changes = new Map()


function charWidth(char) {
  return widths.get(char) ?? remember(widths, char, Math.max(1, stringWidth(char)))
}

function applyCode(from, code) {
  let byCode = afterCode.get(from)
  if (byCode === undefined) byCode = remember(afterCode, from, new Map())
  let to = byCode.get(code)
  if (to === undefined) {
    to = reduceAnsiCodesIncremental(from, tokenize(code))
    to = remember(byCode, code, to.length === 0 ? NO_STYLES : to)
  }
  return to
}

function sameStyles(a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i].code !== b[i].code || a[i].endCode !== b[i].endCode) return false
  return true
}

/** The codes between a cell of styles `from` and the next of styles `to`, as @alcalzone/ansi-tokenize's styledCharsToString writes them. */
function change(from, to) {
  if (from === to || sameStyles(from, to)) return ''
  let byTo = changes.get(from)
  if (byTo === undefined) byTo = remember(changes, from, new Map())
  let codes = byTo.get(to)
  if (codes === undefined) {
    codes = remember(byTo, to, ansiCodesToString(diffAnsiCodes(from, to)))
  }
  return codes
}

/**
 * Whether code unit `c` is a character that is a grapheme of its own whatever is next to it:
 * the printable part of src/tui/grapheme-segmenter.ts's set (checked there against ICU for
 * every pair).
 */
function isPlain(c) {
  return (
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0x2ff) ||
    (c >= 0x2010 && c <= 0x2027) ||
    (c >= 0x2030 && c <= 0x205e) ||
    (c >= 0x2190 && c <= 0x23ff) ||
    (c >= 0x2500 && c <= 0x27bf) ||
    (c >= 0x2800 && c <= 0x28ff)
  )
}

/** Whether `line` is only plain characters and SGR sequences. */
function isSimple(line) {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i)
    if (c === 0x1b) {
      const end = sgrEnd(line, i)
      if (end === -1) return false
      i = end
    } else if (!isPlain(c)) return false
  }
  return true
}

function put(row, rowStyles, x, text, style) {
  // Ink sets currentLine[x]: a negative or fractional x is no cell of the row's string.
  if (x >= 0 && Number.isInteger(x)) {
    row[x] = text
    rowStyles[x] = style
  }
}

/** Writes `line` into row `y` from column `x`, as Ink's Output.get does. */
function writeLine(y, x, line) {
  const row = texts[y]
  const rowStyles = styles[y]
  if (isSimple(line)) {
    let style = NO_STYLES
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i)
      if (c === 0x1b) {
        const end = sgrEnd(line, i)
        style = applyCode(style, line.slice(i, end + 1))
        i = end
        continue
      }
      const char = line[i]
      const width = c < 0x7f ? 1 : charWidth(char)
      put(row, rowStyles, x, char, style)
      for (let k = 1; k < width; k++) put(row, rowStyles, x + k, '', style)
      x += width
    }
    return
  }
  for (const char of styledCharsFromTokens(tokenize(line))) {
    const width = charWidth(char.value)
    put(row, rowStyles, x, char.value, char.styles)
    for (let k = 1; k < width; k++) put(row, rowStyles, x + k, '', char.styles)
    x += width
  }
}

/** Row `y` as a string: its cells' texts with the codes between styles, trailing blanks trimmed. */
function rowString(y) {
  const row = texts[y]
  const rowStyles = styles[y]
  let out = ''
  let last
  for (let x = 0; x < row.length; x++) {
    const text = row[x]
    if (text === undefined) continue
    const style = rowStyles[x]
    if (last === undefined) out += style.length === 0 ? '' : ansiCodesToString(style)
    else if (style !== last) out += change(last, style)
    out += text
    last = style
  }
  if (last !== undefined && last.length > 0) out += change(last, NO_STYLES)
  return out.trimEnd()
}

class OutputCaches {
  widths = new Map()
  blockWidths = new Map()
  getStringWidth(text) {
    let cached = this.widths.get(text)
    if (cached === undefined) {
      cached = stringWidth(text)
      this.widths.set(text, cached)
    }
    return cached
  }
  getWidestLine(text) {
    let cached = this.blockWidths.get(text)
    if (cached === undefined) {
      let lineWidth = 0
      for (const line of text.split('\n')) lineWidth = Math.max(lineWidth, this.getStringWidth(line))
      cached = lineWidth
      this.blockWidths.set(text, cached)
    }
    return cached
  }
}

export default class Output {
  width
  height
  operations = []
  caches = new OutputCaches()
  constructor(options) {
    const { width, height } = options
    this.width = width
    this.height = height
  }
  write(x, y, text, options) {
    const { transformers } = options
    if (!text) return
    this.operations.push({ type: 'write', x, y, text, transformers })
  }
  clip(clip) {
    this.operations.push({ type: 'clip', clip })
  }
  unclip() {
    this.operations.push({ type: 'unclip' })
  }
  get() {
    const { width, height } = this
    let rows = 0
    for (let y = 0; y < height; y++, rows++) {
      if (texts[y] === undefined) {
        texts[y] = []
        styles[y] = []
      }
      const row = texts[y]
      const rowStyles = styles[y]
      let x = 0
      for (; x < width; x++) {
        row[x] = ' '
        rowStyles[x] = NO_STYLES
      }
      if (row.length > x) {
        row.length = x
        rowStyles.length = x
      }
    }
    const clips = []
    for (const operation of this.operations) {
      if (operation.type === 'clip') clips.push(operation.clip)
      if (operation.type === 'unclip') clips.pop()
      if (operation.type !== 'write') continue
      const { text, transformers } = operation
      let { x, y } = operation
      let lines = text.split('\n')
      const clip = clips.at(-1)
      if (clip) {
        const clipHorizontally = typeof clip?.x1 === 'number' && typeof clip?.x2 === 'number'
        const clipVertically = typeof clip?.y1 === 'number' && typeof clip?.y2 === 'number'
        if (clipHorizontally) {
          const lineWidth = this.caches.getWidestLine(text)
          if (x + lineWidth < clip.x1 || x > clip.x2) continue
        }
        if (clipVertically) {
          if (y + lines.length < clip.y1 || y > clip.y2) continue
        }
        if (clipHorizontally) {
          lines = lines.map((line) => {
            const from = x < clip.x1 ? clip.x1 - x : 0
            const lineWidth = this.caches.getStringWidth(line)
            const to = x + lineWidth > clip.x2 ? clip.x2 - x : lineWidth
            return sliceAnsi(line, from, to)
          })
          if (x < clip.x1) x = clip.x1
        }
        if (clipVertically) {
          const from = y < clip.y1 ? clip.y1 - y : 0
          const to = y + lines.length > clip.y2 ? clip.y2 - y : lines.length
          lines = lines.slice(from, to)
          if (y < clip.y1) y = clip.y1
        }
      }
      let offsetY = 0
      for (let index = 0; index < lines.length; index++) {
        // Ink: a line past the grid (or above it) is skipped, and the next tries the same row.
        const rowY = y + offsetY
        if (!(rowY >= 0 && rowY < rows && Number.isInteger(rowY))) continue
        let line = lines[index]
        for (const transformer of transformers) line = transformer(line, index)
        writeLine(rowY, x, line)
        offsetY++
      }
    }
    let output = ''
    for (let y = 0; y < rows; y++) output += y === 0 ? rowString(y) : '\n' + rowString(y)
    return { output, height: rows }
  }
}
