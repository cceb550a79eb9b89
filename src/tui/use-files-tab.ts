// The files tab's state and keys: which folders are open, tree or flat list,
// the window of rows the poll asks the session for (file-page.ts: the session
// keeps the tree and sends only rows near the highlighted one), and what
// ← → Enter, space, + and - do to the highlighted row. A folder's priority
// change is one `priority` command naming the folder.
import type { Key } from 'ink'
import { useEffect, useState } from 'react'
import type { FilePage, FilePageRow, FilesWindow } from '../session/file-page.ts'
import type { TorrentDetails } from '../session/session.ts'
import type { FilePriority } from '../storage/file-priorities.ts'

const PRIORITY_UP: Record<FilePriority, FilePriority> = { skip: 'low', low: 'normal', normal: 'high', high: 'high' }
const PRIORITY_DOWN: Record<FilePriority, FilePriority> = { skip: 'skip', low: 'skip', normal: 'low', high: 'normal' }

type Act = (what: string, command: string, args: Record<string, unknown>, done?: (result: unknown) => string | undefined) => Promise<void>

/**
 * `pageRows`: rows in sight. The window asked for starts a screen before the
 * highlighted row's screen and spans three, so moving within it needs no
 * new request; crossing into the next screen asks again at once (`refresh`).
 */
export function useFilesTab(details: TorrentDetails | undefined, row: number, setRow: (row: number) => void, act: Act, pageRows: number, refresh: () => void) {
  const hash = details?.summary.infoHash
  const [view, setView] = useState<{ hash: string | undefined; flat: boolean; expanded?: string[] }>({ hash, flat: false })
  const mine = view.hash === hash ? view : { hash, flat: false }
  const page: FilePage | undefined = details?.files
  const rows = Math.max(1, pageRows)
  const from = Math.max(0, (Math.floor(row / rows) - 1) * rows)
  const window: FilesWindow = { flat: mine.flat, from, count: rows * 3, ...(mine.expanded && { expanded: mine.expanded }) }
  const windowKey = JSON.stringify(window)
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => refresh(), [windowKey])
  const flat = page ? page.flat : mine.flat
  const at = (i: number): FilePageRow | undefined => (page && i >= page.from ? page.rows[i - page.from] : undefined)

  /** A file's or a folder's priority: everything below a folder in one command. */
  const changePriority = async (how: 'toggle' | 'up' | 'down') => {
    const node = at(row)
    if (!details || !node) return
    const now = node.priority
    const from = now === 'mixed' ? 'normal' : now
    const priority = how === 'toggle' ? (now === 'skip' ? 'normal' : 'skip') : how === 'up' ? PRIORITY_UP[from] : PRIORITY_DOWN[from]
    if (priority === now) return
    const id = details.summary.infoHash
    const args = node.folder ? { id, folder: node.path, priority } : { id, files: [node.fileIndex], priority }
    const name = node.folder ? `${node.name}/` : node.name
    await act('priority', 'priority', args, () => `${name}: ${priority}${node.files > 1 ? ` (${node.files} files)` : ''}`)
  }

  /** ← → Enter in the tree: true when the key folded, unfolded or moved. */
  const foldKey = (key: Key): boolean => {
    const node = at(row)
    if (!page || !node || flat) return false
    const setOpen = (open: boolean) => {
      const next = new Set(mine.expanded ?? page.expanded)
      if (open) next.add(node.path)
      else next.delete(node.path)
      setView({ hash, flat: mine.flat, expanded: [...next] })
    }
    if (key.return) {
      if (node.folder) setOpen(!node.open)
      return true
    }
    if (key.rightArrow) {
      if (node.folder && !node.open) setOpen(true)
      else if (node.folder) setRow(row + 1)
      return true
    }
    if (key.leftArrow) {
      if (node.folder && node.open) setOpen(false)
      else {
        // The parent is the nearest row above that is one level up.
        for (let i = row - 1; i >= page.from; i--) {
          if (at(i)!.depth < node.depth) {
            setRow(i)
            break
          }
        }
      }
      return true
    }
    return false
  }

  const toggleFlat = () => {
    setView({ hash, flat: !flat, expanded: mine.expanded })
    setRow(0)
  }

  return { page, window, total: page?.total ?? 0, flat, changePriority, foldKey, toggleFlat }
}
