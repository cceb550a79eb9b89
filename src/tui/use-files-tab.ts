// The files tab's state and keys: the tree of the open torrent (built once
// per torrent, not per poll), which folders are open, tree or flat list, and
// what ← → Enter, space, + and - do to the highlighted row. A folder's
// priority change is one `priority` command for every file below it.
import type { Key } from 'ink'
import { useMemo, useState } from 'react'
import type { TorrentDetails } from '../session/session.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import { buildTree, fileIndexesBelow, initialExpanded, nodeTotals, treeTotals, visibleNodes } from './file-tree.ts'
import type { FileTree } from './file-tree.ts'

const EMPTY_SET: ReadonlySet<number> = new Set()
const PRIORITY_UP: Record<FilePriority, FilePriority> = { skip: 'low', low: 'normal', normal: 'high', high: 'high' }
const PRIORITY_DOWN: Record<FilePriority, FilePriority> = { skip: 'skip', low: 'skip', normal: 'low', high: 'normal' }

type Act = (what: string, command: string, args: Record<string, unknown>, done?: (result: unknown) => string | undefined) => Promise<void>

export function useFilesTab(details: TorrentDetails | undefined, row: number, setRow: (row: number) => void, act: Act) {
  const [flatChosen, setFlat] = useState(false)
  const hash = details?.summary.infoHash
  const fileCount = details?.files.length ?? -1
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const tree = useMemo(() => (details ? buildTree(details.files) : undefined), [hash, fileCount])
  const initialFolds = useMemo(() => (tree ? initialExpanded(tree) : EMPTY_SET), [tree])
  const [folds, setFolds] = useState<{ tree: FileTree | undefined; expanded: ReadonlySet<number> }>({ tree: undefined, expanded: EMPTY_SET })
  const expanded = folds.tree === tree ? folds.expanded : initialFolds
  const flat = flatChosen || !tree?.hasFolders
  const rows = useMemo(() => (tree ? visibleNodes(tree, expanded, flat) : []), [tree, expanded, flat])

  /** A file's or a folder's priority: everything below a folder in one command. */
  const changePriority = async (how: 'toggle' | 'up' | 'down') => {
    const node = tree?.nodes[rows[row]]
    if (!details || !tree || !node) return
    const now = nodeTotals(node, treeTotals(tree, details.files)).priority
    const from = now === 'mixed' ? 'normal' : now
    const priority = how === 'toggle' ? (now === 'skip' ? 'normal' : 'skip') : how === 'up' ? PRIORITY_UP[from] : PRIORITY_DOWN[from]
    if (priority === now) return
    const files = fileIndexesBelow(tree, node, details.files)
    const name = flat ? details.files[node.file].path : node.name + (node.file < 0 ? '/' : '')
    await act('priority', 'priority', { id: details.summary.infoHash, files, priority }, () => `${name}: ${priority}${files.length > 1 ? ` (${files.length} files)` : ''}`)
  }

  /** ← → Enter in the tree: true when the key folded, unfolded or moved. */
  const foldKey = (key: Key): boolean => {
    const id = rows[row]
    const node = tree?.nodes[id]
    if (!tree || !node || flat) return false
    const setExpanded = (open: boolean) => {
      const next = new Set(expanded)
      if (open) next.add(id)
      else next.delete(id)
      setFolds({ tree, expanded: next })
    }
    const folder = node.file < 0
    if (key.return) {
      if (folder) setExpanded(!expanded.has(id))
      return true
    }
    if (key.rightArrow) {
      if (folder && !expanded.has(id)) setExpanded(true)
      else if (folder) setRow(row + 1)
      return true
    }
    if (key.leftArrow) {
      if (folder && expanded.has(id)) setExpanded(false)
      else if (node.parent > 0) setRow(Math.max(0, rows.indexOf(node.parent)))
      return true
    }
    return false
  }

  const toggleFlat = () => {
    setFlat(!flat)
    setRow(0)
  }

  return { tree, rows, expanded, flat, changePriority, foldKey, toggleFlat }
}
