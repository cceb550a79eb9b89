// What the dashboard's add prompt sends: a magnet link or info hash as
// `magnet`, an http(s) link as `url`, anything else as a path resolved from
// the working folder (~ is the home folder), which the session reads itself
// (same machine, same user: megabytes of torrent never cross the control
// channel); and the line that says what was added.
import { homedir } from 'node:os'
import { resolve } from 'node:path'
import type { TorrentSummary } from '../session/session.ts'
import { formatBytes } from './format/format.ts'

/** The `add` command's arguments for what was typed; undefined for nothing. */
export function addArgs(input: string, cwd: string, savePath: string | undefined): Record<string, unknown> | undefined {
  const value = input.trim()
  if (!value) return undefined
  if (/^magnet:/i.test(value) || /^([0-9a-f]{40}|[a-z2-7]{32})$/i.test(value)) return { magnet: value, savePath, cwd }
  if (/^https?:\/\//i.test(value)) return { url: value, savePath, cwd }
  return { path: resolve(cwd, value.replace(/^~(?=\/|$)/, homedir())), savePath, cwd }
}

/** The message for an `add` answer: the session's note, or the name, size and folder. */
export function addedText(result: unknown): string {
  const r = result as { summary: TorrentSummary; added: boolean; note?: string }
  return r.note ?? `added ${r.summary.name}${r.summary.sizeBytes ? ` (${formatBytes(r.summary.sizeBytes)})` : ''} → ${r.summary.savePath}`
}
