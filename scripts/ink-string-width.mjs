// Stands in for string-width wherever the dashboard bundle imports it (Ink, its
// text libraries, scripts/ink-output.mjs): text made only of characters one column wide
// that are each a grapheme of their own (printable ASCII, Latin-1, dashes and quotes,
// the ellipsis, most arrows, box drawing, blocks, most geometric shapes, braille: all the
// dashboard draws) and SGR colour codes is measured here; any other text goes to the
// string-width the importer asked for. string-width (8.x: /^\p{RGI_Emoji}$/v; 7.x: the
// emoji-regex package) tests every character past ASCII against an emoji pattern, and V8
// compiles that pattern to ~0.6 MB of machine code, kept for the life of the dashboard,
// to learn that "↓" or a braille dot is one column wide (issue 15, README "Memory").
// scripts/bundle-cli.mjs makes, per string-width it finds, a module whose default export
// is `(text, options) => plainWidth(text, options) ?? realStringWidth(text, options)`.
// test/unit/tui/ink-string-width.test.ts checks every such character, and random text,
// against both string-width versions.

/**
 * Characters that string-width 7.x's emoji-regex counts as two columns (emoji with text
 * presentation: © ® ↔ ↕ ↖–↙ ↩ ↪ ▪ ▫ ▶ ◀ ◻ ◼), where 8.x counts one: left to each.
 */
const EMOJI_WITH_TEXT_PRESENTATION = new Set([0xa9, 0xae, 0x2194, 0x2195, 0x2196, 0x2197, 0x2198, 0x2199, 0x21a9, 0x21aa, 0x25aa, 0x25ab, 0x25b6, 0x25c0, 0x25fb, 0x25fc])

/** Whether code unit `c` is a character of one column that is a grapheme of its own. */
function isNarrow(c) {
  if (c >= 0x20 && c <= 0x7e) return true
  const narrow = (c >= 0xa0 && c <= 0xff && c !== 0xad) || (c >= 0x2010 && c <= 0x2027) || (c >= 0x2190 && c <= 0x21ff) || (c >= 0x2500 && c <= 0x25fc) || (c >= 0x2800 && c <= 0x28ff)
  return narrow && !EMOJI_WITH_TEXT_PRESENTATION.has(c)
}

/** The end of the SGR sequence `\x1b[…m` at `i` (the index of its m), or -1. */
export function sgrEnd(text, i) {
  if (text.charCodeAt(i + 1) !== 0x5b) return -1
  for (let j = i + 2; j < text.length; j++) {
    const c = text.charCodeAt(j)
    if (c === 0x6d) return j
    if (c !== 0x3b && (c < 0x30 || c > 0x39)) return -1
  }
  return -1
}

/** The columns of `text` if it is only narrow characters and SGR sequences (`\x1b[…m`) and no options are given, else undefined. */
export function plainWidth(text, options) {
  if (typeof text !== 'string' || options !== undefined) return undefined
  let width = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x1b) {
      const end = sgrEnd(text, i)
      if (end === -1) return undefined
      i = end
    } else if (isNarrow(c)) width++
    else return undefined
  }
  return width
}
