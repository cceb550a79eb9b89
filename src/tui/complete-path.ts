// Tab completion for the add prompt: completes the last path in the input
// against the folder it names, the way a shell does. Folders and .torrent
// files are offered; hidden entries only when the prefix starts with a dot.
import { readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { resolve } from 'node:path'

export interface Completion {
  /** The input with the path completed as far as it is unambiguous. */
  value: string
  /** What the path could still become, when more than one (at most `limit`). */
  candidates: string[]
}

export async function completePath(input: string, cwd: string, home = homedir(), limit = 20): Promise<Completion> {
  if (/^magnet:/i.test(input)) return { value: input, candidates: [] }
  const slash = input.lastIndexOf('/')
  const dirPart = slash >= 0 ? input.slice(0, slash + 1) : ''
  const prefix = input.slice(slash + 1)
  const dir = resolve(cwd, dirPart === '' ? '.' : dirPart.replace(/^~(?=\/)/, home))
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return { value: input, candidates: [] }
  }
  const names = entries
    .filter((e) => e.name.startsWith(prefix) && (prefix.startsWith('.') || !e.name.startsWith('.')))
    .filter((e) => e.isDirectory() || e.isSymbolicLink() || e.name.endsWith('.torrent'))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort()
  if (names.length === 0) return { value: input, candidates: [] }
  if (names.length === 1) return { value: dirPart + names[0], candidates: [] }
  return { value: dirPart + commonPrefix(names), candidates: names.slice(0, limit) }
}

function commonPrefix(names: string[]): string {
  let p = names[0]
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1)
  return p
}
