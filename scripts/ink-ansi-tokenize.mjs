// Stands in for @alcalzone/ansi-tokenize where Ink imports it in the dashboard bundle: the
// package's own functions, but styledCharsToString does not diff a character's styles
// against the previous character's when they are the same (the diff is then empty).
// Ink 6 builds every frame as a grid of styled characters (120×40: 4,800) and turns each
// row into a string here; the package's 0.2.x diffs every pair of neighbours, three Sets
// and half a dozen arrays each, ~5 MB of garbage per frame (issue 15, README "Memory").
// 0.3.x has the same check, but Ink 6 asks for ^0.2.4 and 0.3 also changes the tokens.
// test/unit/tui/ink-ansi-tokenize.test.ts checks the output is the package's.
import { ansiCodesToString, diffAnsiCodes } from '@alcalzone/ansi-tokenize'

export * from '@alcalzone/ansi-tokenize'

function sameStyles(a, b) {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i].code !== b[i].code || a[i].endCode !== b[i].endCode) return false
  }
  return true
}

export function styledCharsToString(chars) {
  let out = ''
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]
    if (i === 0) out += ansiCodesToString(char.styles)
    else if (!sameStyles(chars[i - 1].styles, char.styles)) out += ansiCodesToString(diffAnsiCodes(chars[i - 1].styles, char.styles))
    out += char.value
    if (i === chars.length - 1) out += ansiCodesToString(diffAnsiCodes(char.styles, []))
  }
  return out
}
