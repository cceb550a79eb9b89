// Parse benchmark: how fast the pure codecs are on the inputs whose speed is a
// goal (tests check only what they return; timing goals live here, not in
// timed tests). The wire decoder on 50 000 small messages in one chunk, and
// .torrent / info-dict parsing refusing hostile sizes (deep nesting, huge
// length prefixes) without working through or allocating what they claim.
// In-process, no network; the best of a few rounds, against a goal.
import { metainfoFromInfo, parseTorrentFile } from '../src/metainfo/metainfo.ts'
import { Decoder } from '../src/wire/decoder.ts'
import { encode } from '../src/wire/messages.ts'
import { fixed, formatTable, oneLine } from './measure.ts'

const ROUNDS = 5

export interface ParseRow {
  name: string
  ok: boolean
  bestMs?: number
  goalMs: number
  error?: string
}

/** The inputs of test/unit/metainfo/fuzz.test.ts "hostile sizes are refused". */
const HOSTILE: [string, Buffer][] = [
  ['1 000 000 nested lists', Buffer.from('d4:info' + 'l'.repeat(1_000_000))],
  ['200 000 nested dicts', Buffer.from('d4:info' + 'd1:a'.repeat(200_000))],
  ['a 999 999 999 999 999-byte string', Buffer.from('d4:info999999999999999:x')],
  ['a 100 000-digit string length', Buffer.from(`d4:info${'9'.repeat(100_000)}:x`)],
  ['a 100 000-digit integer', Buffer.from(`d4:infoi${'9'.repeat(100_000)}ee`)],
]

async function best(fn: () => Promise<void> | void): Promise<number> {
  let bestMs = Infinity
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now()
    await fn()
    bestMs = Math.min(bestMs, performance.now() - started)
  }
  return bestMs
}

async function measure(name: string, goalMs: number, fn: () => Promise<void> | void): Promise<ParseRow> {
  try {
    return { name, ok: true, bestMs: await best(fn), goalMs }
  } catch (err) {
    return { name, ok: false, goalMs, error: oneLine(err) }
  }
}

async function refused(parse: () => Promise<unknown>): Promise<void> {
  const outcome = await Promise.resolve().then(parse).then(
    () => 'accepted',
    () => 'refused',
  )
  if (outcome !== 'refused') throw new Error('the hostile input was accepted')
}

export async function runParseSection(): Promise<ParseRow[]> {
  const rows: ParseRow[] = []
  const stream = Buffer.concat(Array.from({ length: 50_000 }, (_, index) => encode({ type: 'have', index })))
  rows.push(
    await measure('wire: 50 000 have messages in one chunk', 500, () => {
      const decoded = new Decoder().push(stream)
      if (decoded.length !== 50_000) throw new Error(`decoded ${decoded.length} messages, not 50 000`)
    }),
  )
  for (const [label, data] of HOSTILE) {
    rows.push(
      await measure(`metainfo: refuse ${label}`, 2000, async () => {
        await refused(() => parseTorrentFile(data))
        await refused(() => metainfoFromInfo(data.subarray(7)))
      }),
    )
  }
  return rows
}

export function formatParseSection(rows: ParseRow[]): string {
  return formatTable(
    `parse (best of ${ROUNDS}, in-process)`,
    ['case', 'best ms', 'goal ms', 'result'],
    rows.map((r) => [r.name, fixed(r.bestMs, 1), String(r.goalMs), !r.ok ? `FAILED: ${r.error}` : r.bestMs! <= r.goalMs ? 'ok' : 'OVER GOAL']),
  )
}
