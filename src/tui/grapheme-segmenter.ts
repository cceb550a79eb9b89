// A stand-in for Intl.Segmenter while the dashboard's UI loads (load-ui.ts):
// Ink's text libraries (string-width, slice-ansi, @alcalzone/ansi-tokenize)
// each make a grapheme segmenter as they load, and the process's first ICU
// segmenter costs ~1.7 MB of resident memory for good (ICU's break rules and
// locale data; 2.7 MB in a bare Node). Text in which every UTF-16 unit is a
// grapheme of its own (ASCII, escape codes, Latin-1 and Latin Extended,
// punctuation, arrows, box drawing, blocks, shapes, dingbats, braille: all
// the dashboard draws) is split here, the same way ICU splits it (checked for
// every pair of such characters); any other text goes to a real
// Intl.Segmenter, made the first time one is needed.

/** Characters that, next to any other of them, always end a grapheme (no CR: CR LF is one). */
const ONE_UNIT_GRAPHEMES = /^[\0-\x0c\x0e-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u23ff\u2500-\u27bf\u2800-\u28ff]*$/

/** Intl.Segmenter itself, taken before anything stands in for it. */
const RealSegmenter = Intl.Segmenter

type Granularity = 'grapheme' | 'word' | 'sentence'
const GRANULARITIES: readonly string[] = ['grapheme', 'word', 'sentence']

/** What segment() hands back for simple text: every UTF-16 unit is one segment. */
class OneUnitSegments implements Iterable<Intl.SegmentData> {
  constructor(private readonly input: string) {}

  containing(codeUnitIndex?: number): Intl.SegmentData | undefined {
    const n = Math.trunc(Number(codeUnitIndex ?? 0)) || 0
    return n < 0 || n >= this.input.length ? undefined : { segment: this.input[n], index: n, input: this.input }
  }

  *[Symbol.iterator](): IterableIterator<Intl.SegmentData> {
    const input = this.input
    for (let index = 0; index < input.length; index++) yield { segment: input[index], index, input }
  }
}

export class LazyGraphemeSegmenter {
  readonly #locales: Intl.LocalesArgument
  readonly #options: Intl.SegmenterOptions | undefined
  readonly #grapheme: boolean
  #real: Intl.Segmenter | undefined

  constructor(locales?: Intl.LocalesArgument, options?: Intl.SegmenterOptions) {
    const granularity = options?.granularity ?? 'grapheme'
    if (!GRANULARITIES.includes(granularity)) throw new RangeError(`Value ${granularity} out of range for Intl.Segmenter options property granularity`)
    this.#locales = locales
    this.#options = options
    this.#grapheme = (granularity as Granularity) === 'grapheme'
  }

  segment(input: string): Intl.Segments | OneUnitSegments {
    const text = String(input)
    if (this.#grapheme && ONE_UNIT_GRAPHEMES.test(text)) return new OneUnitSegments(text)
    return this.#segmenter().segment(text)
  }

  resolvedOptions(): Intl.ResolvedSegmenterOptions {
    return this.#segmenter().resolvedOptions()
  }

  #segmenter(): Intl.Segmenter {
    this.#real ??= new RealSegmenter(this.#locales, this.#options)
    return this.#real
  }
}

/** Runs `load` with Intl.Segmenter standing in as LazyGraphemeSegmenter, then puts the real one back. */
export async function withLazySegmenter<T>(load: () => Promise<T>): Promise<T> {
  const intl = Intl as { Segmenter: unknown }
  intl.Segmenter = LazyGraphemeSegmenter
  try {
    return await load()
  } finally {
    intl.Segmenter = RealSegmenter
  }
}
