// What every benchmark section measures with and prints through: peak RSS of
// a child by VmHWM sampling, a file's SHA-1, `sync`, a log tail for one-line
// errors, and a plain-text table. Never starts or kills a process itself.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'

export const MIB = 1024 * 1024
const RSS_SAMPLE_INTERVAL_MS = 100

/** VmHWM (peak resident set) of a live process in bytes, or undefined once it is gone. */
export function peakRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** Samples VmHWM of `pid` until stopped; VmHWM only grows, so the last sample before exit is the peak (±100 ms). */
export function sampleRss(pid: number): { stop(): number | undefined } {
  let peak: number | undefined
  const take = (): void => {
    const v = peakRssBytes(pid)
    if (v !== undefined) peak = Math.max(peak ?? 0, v)
  }
  take()
  const timer = setInterval(take, RSS_SAMPLE_INTERVAL_MS)
  return {
    stop() {
      take()
      clearInterval(timer)
      return peak
    },
  }
}

export function sha1File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha1')
    createReadStream(path, { highWaterMark: 4 * MIB })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')))
  })
}

/** Runs a command to its end, ignoring its output and failure (for `sync`). */
export function runCommand(command: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: 'ignore' })
    child.once('error', () => resolvePromise())
    child.once('exit', () => resolvePromise())
  })
}

export function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ')
}

/** An error as one line short enough for a table cell. */
export function oneLine(err: unknown, maxChars = 300): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, maxChars)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms))
}

/** A title line, then columns: the first and last left-aligned, the others right-aligned (numbers). */
export function formatTable(title: string, header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

export function fixed(value: number | undefined, digits: number): string {
  return value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '-'
}
