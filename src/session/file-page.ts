// The files tab's rows, worked out by the session: the dashboard says which
// folders are open, tree or flat list, and which rows it needs (a window
// around the highlighted row), and gets only those rows, each folder with
// the size, progress and priority of everything below it. So a poll of a
// 100,000-file torrent sends a few hundred rows, not every file. The tree
// is built once per torrent (kept with its Metainfo) and folders are named
// by their path, which stays the same from poll to poll. Pure.
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { FilePriority } from '../storage/file-priorities.ts'
import { buildTree, buildTreeOf, columnsOf, filesBelow, initialExpanded, nodeAt, nodeTotals, treeTotals, visibleNodes } from './file-tree.ts'
import type { FileColumns, FileTree, TreeFile, TreeNode } from './file-tree.ts'

/** What the files tab shows: read from a control request, so every field is checked (filesWindow). */
export interface FilesWindow {
  /** Every file as a path (true), or the tree (false, the default). */
  flat: boolean
  /** Open folders by path ('/'-separated); undefined: the top level, and a lone top folder's children. */
  expanded?: string[]
  /** The first row wanted and how many. */
  from: number
  count: number
}

export interface FilePageRow {
  /** A folder's path (what `expanded` and `priority --folder` take), or a file's. */
  path: string
  /** What the row shows: the last part in the tree, the whole path in the flat list. */
  name: string
  depth: number
  folder: boolean
  open: boolean
  /** The file's number in the torrent; -1 for a folder. */
  fileIndex: number
  /** Files below a folder; 1 for a file. */
  files: number
  sizeBytes: number
  verifiedBytes: number
  priority: FilePriority | 'mixed'
}

export interface FilePage {
  /** Rows in the whole view (tree as folded, or the flat list). */
  total: number
  from: number
  rows: FilePageRow[]
  flat: boolean
  hasFolders: boolean
  /** The open folders this page was made with (the default ones when none were given). */
  expanded: string[]
}

export const DEFAULT_WINDOW: FilesWindow = { flat: false, from: 0, count: 100 }
const MAX_ROWS = 2000
const MAX_EXPANDED = 10_000

interface IndexedTree {
  tree: FileTree
  /** Per position in the tree's files: the torrent's file number. */
  fileIndex: Int32Array
  /** Per folder's node id: its path (a file's is made when shown: 100,000 kept strings otherwise). */
  folderPaths: Map<number, string>
  folderIds: Map<string, number>
}

const trees = new WeakMap<Metainfo, IndexedTree>()

/** The window a control request asks for; a one-line Error for a malformed one. */
export function filesWindow(raw: unknown): FilesWindow {
  if (raw === undefined) return DEFAULT_WINDOW
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('files must be {"flat", "expanded", "from", "count"}')
  const r = raw as Record<string, unknown>
  const whole = (v: unknown, fallback: number) => (v === undefined ? fallback : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : NaN)
  const from = whole(r.from, 0)
  const count = whole(r.count, DEFAULT_WINDOW.count)
  if (Number.isNaN(from) || Number.isNaN(count)) throw new Error('files.from and files.count are whole numbers 0 or more')
  if (r.expanded !== undefined && (!Array.isArray(r.expanded) || r.expanded.length > MAX_EXPANDED || !r.expanded.every((p) => typeof p === 'string'))) {
    throw new Error(`files.expanded is a list of at most ${MAX_EXPANDED} folder paths`)
  }
  return { flat: r.flat === true, from, count: Math.min(count, MAX_ROWS), ...(r.expanded !== undefined && { expanded: r.expanded as string[] }) }
}

/** The page of a torrent's files: `priorities` and `verifiedBytes` are per file number, as the session keeps them. */
export function filePage(meta: Metainfo, priorities: readonly FilePriority[] | undefined, verifiedBytes: readonly number[], window: FilesWindow): FilePage {
  const t = indexedTree(meta)
  const columns: FileColumns = {
    sizeBytes: (pos) => meta.files[t.fileIndex[pos]].length,
    verifiedBytes: (pos) => verifiedBytes[t.fileIndex[pos]],
    priority: (pos) => priorities?.[t.fileIndex[pos]] ?? 'normal',
  }
  return pageOf(t, columns, window)
}

/** The same page over a plain list of files (a dashboard test's fixed session). */
export function filePageOf(files: readonly TreeFile[], window: FilesWindow): FilePage {
  const tree = buildTree(files)
  return pageOf(indexTree(tree, Int32Array.from(files, (f) => f.index)), columnsOf(files), window)
}

/** The file numbers below a folder of the tree (by path); a one-line Error when there is no such folder. */
export function filesInFolder(meta: Metainfo, folder: string): number[] {
  const t = indexedTree(meta)
  const id = t.folderIds.get(folder)
  if (id === undefined) throw new Error(`${meta.name} has no folder "${folder}"`)
  return filesBelow(t.tree, t.tree.folders[id]).map((pos) => t.fileIndex[pos])
}

function pageOf(t: IndexedTree, columns: FileColumns, window: FilesWindow): FilePage {
  const { tree } = t
  const flat = window.flat || !tree.hasFolders
  const open = window.expanded ? new Set(window.expanded.flatMap((p) => t.folderIds.get(p) ?? [])) : initialExpanded(tree)
  const visible = visibleNodes(tree, open, flat)
  const totals = treeTotals(tree, columns)
  const from = Math.min(window.from, visible.length)
  const rows = visible.slice(from, from + window.count).map((id): FilePageRow => {
    const node = nodeAt(tree, id)
    const folder = node.file < 0
    const sums = nodeTotals(node, totals)
    return {
      path: pathOf(t, node, id),
      name: flat ? pathOf(t, node, id) : node.name,
      depth: flat ? 0 : node.depth,
      folder,
      open: folder && open.has(id),
      fileIndex: folder ? -1 : t.fileIndex[node.file],
      files: node.to - node.from,
      ...sums,
    }
  })
  return { total: visible.length, from, rows, flat, hasFolders: tree.hasFolders, expanded: [...open].map((id) => t.folderPaths.get(id)!) }
}

function indexedTree(meta: Metainfo): IndexedTree {
  let t = trees.get(meta)
  if (!t) {
    const fileIndex: number[] = []
    meta.files.forEach((f, i) => {
      if (!f.padding) fileIndex.push(i)
    })
    t = indexTree(buildTreeOf(fileIndex.length, (pos) => meta.files[fileIndex[pos]].path), Int32Array.from(fileIndex))
    trees.set(meta, t)
  }
  return t
}

function indexTree(tree: FileTree, fileIndex: Int32Array): IndexedTree {
  const folderPaths = new Map<number, string>([[0, '']])
  const folderIds = new Map<string, number>()
  // Parents come before their children in `folders`, so one pass names every folder.
  for (let id = 1; id < tree.folders.length; id++) {
    const node = tree.folders[id]
    const folderPath = node.parent > 0 ? `${folderPaths.get(node.parent)}/${node.name}` : node.name
    folderPaths.set(id, folderPath)
    folderIds.set(folderPath, id)
  }
  return { tree, fileIndex, folderPaths, folderIds }
}

/** The path ('/'-separated) of `node`, node `id`. */
function pathOf(t: IndexedTree, node: TreeNode, id: number): string {
  if (node.file < 0) return t.folderPaths.get(id)!
  return node.parent > 0 ? `${t.folderPaths.get(node.parent)}/${node.name}` : node.name
}
