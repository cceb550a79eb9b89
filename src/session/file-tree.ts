// The files tab's tree, kept by the session: folders built once per torrent
// from the file paths, sizes, progress and priority of every folder
// recomputed per request in one pass (prefix sums over the files in tree
// order), and the rows a fold state shows. Pure. Cheap for 100,000 files: the
// tree is built once, a request costs O(files) in typed arrays, a fold
// O(rows shown); file-page.ts sends only the rows in sight.
import type { FilePriority } from '../storage/file-priorities.ts'

export interface TreeFile {
  index: number
  path: string
  sizeBytes: number
  priority: FilePriority
  verifiedBytes: number
}

export interface TreeNode {
  name: string
  depth: number
  /** Node id of the folder holding it (-1 for the root). */
  parent: number
  /** Child node ids, folders first, then by name. */
  children: number[]
  /** Position in the files array for a file, -1 for a folder. */
  file: number
  /** The files below it: positions [from, to) of `order`. */
  from: number
  to: number
}

/**
 * Folders are TreeNode objects; files are not (100,000 of them took 8 MB):
 * file position `pos` is node id `folders.length + pos`, and nodeAt() makes
 * its TreeNode when a row shows it, from its path parts and three typed arrays.
 */
export interface FileTree {
  /** Node ids 0..folders.length - 1; node 0 is the root (never shown). */
  folders: TreeNode[]
  /** Positions in the files array, in tree order (a folder's files are contiguous). */
  order: Int32Array
  /** Per file position: its place in `order`. */
  rankOfFile: Int32Array
  /** Per file position: the node id of its folder. */
  folderOfFile: Int32Array
  /** Per file position: its path parts (the torrent's own strings, not copies). */
  partsOf: (pos: number) => readonly string[]
  /** Whether any folder exists (a flat list otherwise). */
  hasFolders: boolean
}

/** A file's children: one shared empty list, not one per file. */
const NO_CHILDREN: number[] = []

/** Builds the tree from the file paths ('/'-separated). */
export function buildTree(files: readonly { path: string }[]): FileTree {
  return buildTreeOf(files.length, (pos) => files[pos].path.split('/'))
}

/**
 * Builds the tree from each file's path parts. Node names are the parts'
 * own strings: a torrent's file list is neither joined nor split again.
 */
export function buildTreeOf(count: number, partsOf: (pos: number) => readonly string[]): FileTree {
  const folders: TreeNode[] = [{ name: '', depth: -1, parent: -1, children: [], file: -1, from: 0, to: 0 }]
  /** Each folder's sub-folders by name. */
  const folderChildren = new Map<number, Map<string, number>>([[0, new Map()]])
  const folderOfFile = new Int32Array(count)
  // While building, a file in a folder's children is -(pos + 1): folder ids are not all known yet.
  for (let pos = 0; pos < count; pos++) {
    const parts = partsOf(pos)
    let at = 0
    for (let p = 0; p < parts.length - 1; p++) {
      const subfolders = folderChildren.get(at)!
      let next = subfolders.get(parts[p])
      if (next === undefined) {
        next = folders.length
        folders.push({ name: parts[p], depth: p, parent: at, children: [], file: -1, from: 0, to: 0 })
        folderChildren.set(next, new Map())
        subfolders.set(parts[p], next)
        folders[at].children.push(next)
      }
      at = next
    }
    folderOfFile[pos] = at
    folders[at].children.push(-(pos + 1))
  }
  const fileBase = folders.length
  const isFolder = (id: number) => id >= 0
  const nameOf = (id: number) => (id >= 0 ? folders[id].name : lastOf(partsOf(-id - 1)))
  for (const folder of folders) {
    // Folders first, then by name (code-unit order: a locale collator costs seconds on 100,000 files).
    folder.children.sort((a, b) => {
      if (isFolder(a) !== isFolder(b)) return isFolder(a) ? -1 : 1
      const x = nameOf(a)
      const y = nameOf(b)
      return x < y ? -1 : x > y ? 1 : 0
    })
    for (let i = 0; i < folder.children.length; i++) if (folder.children[i] < 0) folder.children[i] = fileBase - folder.children[i] - 1
  }
  const order = new Int32Array(count)
  const rankOfFile = new Int32Array(count)
  let n = 0
  // Iterative DFS: 100,000-deep recursion is not a risk, but deep paths are cheap this way too.
  const stack: { id: number; child: number }[] = [{ id: 0, child: 0 }]
  while (stack.length) {
    const top = stack[stack.length - 1]
    const folder = folders[top.id]
    if (top.child === 0) folder.from = n
    if (top.child < folder.children.length) {
      const c = folder.children[top.child++]
      if (c >= fileBase) {
        order[n] = c - fileBase
        rankOfFile[c - fileBase] = n
        n++
      } else {
        stack.push({ id: c, child: 0 })
      }
    } else {
      folder.to = n
      stack.pop()
    }
  }
  return { folders, order, rankOfFile, folderOfFile, partsOf, hasFolders: folders.length > 1 }
}

/** Node `id` of the tree: a folder's own node, or a file's made now. */
export function nodeAt(tree: FileTree, id: number): TreeNode {
  if (id < tree.folders.length) return tree.folders[id]
  const pos = id - tree.folders.length
  const parts = tree.partsOf(pos)
  const rank = tree.rankOfFile[pos]
  return { name: lastOf(parts), depth: parts.length - 1, parent: tree.folderOfFile[pos], children: NO_CHILDREN, file: pos, from: rank, to: rank + 1 }
}

function lastOf(parts: readonly string[]): string {
  return parts[parts.length - 1]
}

/** A node's size, verified bytes and priority ('mixed' when the files below differ). */
export interface NodeTotals {
  sizeBytes: number
  verifiedBytes: number
  priority: FilePriority | 'mixed'
}

const PRIORITY_CODE: Record<FilePriority, number> = { skip: 0, low: 1, normal: 2, high: 3 }
const PRIORITIES: FilePriority[] = ['skip', 'low', 'normal', 'high']

/** Prefix sums over the files in tree order, so any folder's totals cost O(1). One pass per poll. */
export interface TreeTotals {
  size: Float64Array
  verified: Float64Array
  /** Files with each priority, prefix counts: [skip, low, normal, high] × (files + 1). */
  priorities: Int32Array[]
}

/** Per position in the files array: what totals add up (functions, so no object per file is made per request). */
export interface FileColumns {
  sizeBytes(pos: number): number
  verifiedBytes(pos: number): number
  priority(pos: number): FilePriority
}

export function columnsOf(files: readonly TreeFile[]): FileColumns {
  return { sizeBytes: (pos) => files[pos].sizeBytes, verifiedBytes: (pos) => files[pos].verifiedBytes, priority: (pos) => files[pos].priority }
}

export function treeTotals(tree: FileTree, files: FileColumns): TreeTotals {
  const count = tree.order.length
  const size = new Float64Array(count + 1)
  const verified = new Float64Array(count + 1)
  const [p0, p1, p2, p3] = PRIORITIES.map(() => new Int32Array(count + 1))
  for (let i = 0; i < count; i++) {
    const pos = tree.order[i]
    size[i + 1] = size[i] + files.sizeBytes(pos)
    verified[i + 1] = verified[i] + files.verifiedBytes(pos)
    const code = PRIORITY_CODE[files.priority(pos)] ?? 2
    p0[i + 1] = p0[i] + (code === 0 ? 1 : 0)
    p1[i + 1] = p1[i] + (code === 1 ? 1 : 0)
    p2[i + 1] = p2[i] + (code === 2 ? 1 : 0)
    p3[i + 1] = p3[i] + (code === 3 ? 1 : 0)
  }
  const priorities = [p0, p1, p2, p3]
  return { size, verified, priorities }
}

export function nodeTotals(node: TreeNode, totals: TreeTotals): NodeTotals {
  const { from, to } = node
  let priority: FilePriority | 'mixed' = 'mixed'
  for (let p = 0; p < 4; p++) if (to > from && totals.priorities[p][to] - totals.priorities[p][from] === to - from) priority = PRIORITIES[p]
  return { sizeBytes: totals.size[to] - totals.size[from], verifiedBytes: totals.verified[to] - totals.verified[from], priority }
}

/** The positions in the files array of every file below a node. */
export function filesBelow(tree: FileTree, node: TreeNode): number[] {
  return Array.from(tree.order.subarray(node.from, node.to))
}

/** Folders open at first: the top level, and a lone top folder's children too. */
export function initialExpanded(tree: FileTree): Set<number> {
  const open = new Set<number>()
  const { folders } = tree
  const top = folders[0].children
  for (const c of top) if (c < folders.length) open.add(c)
  if (top.length === 1 && open.size === 1) for (const c of folders[top[0]].children) if (c < folders.length) open.add(c)
  return open
}

/** Node ids shown, in order: the tree with `expanded` folders open, or every file (flat). */
export function visibleNodes(tree: FileTree, expanded: ReadonlySet<number>, flat: boolean): number[] {
  const { folders } = tree
  if (flat) return Array.from(tree.order, (pos) => folders.length + pos)
  const out: number[] = []
  const stack = folders[0].children.slice().reverse()
  while (stack.length) {
    const id = stack.pop()!
    out.push(id)
    if (id < folders.length && expanded.has(id)) for (let i = folders[id].children.length - 1; i >= 0; i--) stack.push(folders[id].children[i])
  }
  return out
}
