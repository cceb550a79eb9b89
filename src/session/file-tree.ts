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

export interface FileTree {
  /** Node 0 is the root (never shown). */
  nodes: TreeNode[]
  /** Positions in the files array, in tree order (a folder's files are contiguous). */
  order: Int32Array
  /** Node id of each file position. */
  nodeOfFile: Int32Array
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
  const nodes: TreeNode[] = [{ name: '', depth: -1, parent: -1, children: [], file: -1, from: 0, to: 0 }]
  /** Each folder's sub-folders by name. */
  const folderChildren = new Map<number, Map<string, number>>([[0, new Map()]])
  let hasFolders = false
  for (let pos = 0; pos < count; pos++) {
    const parts = partsOf(pos)
    let at = 0
    for (let p = 0; p < parts.length - 1; p++) {
      const subfolders = folderChildren.get(at)!
      let next = subfolders.get(parts[p])
      if (next === undefined) {
        next = nodes.length
        nodes.push({ name: parts[p], depth: p, parent: at, children: [], file: -1, from: 0, to: 0 })
        folderChildren.set(next, new Map())
        subfolders.set(parts[p], next)
        nodes[at].children.push(next)
        hasFolders = true
      }
      at = next
    }
    const id = nodes.length
    nodes.push({ name: parts[parts.length - 1], depth: parts.length - 1, parent: at, children: NO_CHILDREN, file: pos, from: 0, to: 0 })
    nodes[at].children.push(id)
  }
  const order = new Int32Array(count)
  const nodeOfFile = new Int32Array(count)
  let n = 0
  // Iterative DFS: 100,000-deep recursion is not a risk, but deep paths are cheap this way too.
  const stack: { id: number; child: number }[] = [{ id: 0, child: 0 }]
  sortChildren(nodes[0], nodes)
  nodes[0].from = 0
  while (stack.length) {
    const top = stack[stack.length - 1]
    const node = nodes[top.id]
    if (top.child === 0) node.from = n
    if (top.child < node.children.length) {
      const c = node.children[top.child++]
      const child = nodes[c]
      if (child.file >= 0) {
        child.from = n
        order[n] = child.file
        nodeOfFile[child.file] = c
        n++
        child.to = n
      } else {
        sortChildren(child, nodes)
        stack.push({ id: c, child: 0 })
      }
    } else {
      node.to = n
      stack.pop()
    }
  }
  return { nodes, order, nodeOfFile, hasFolders }
}

/** Folders first, then by name (code-unit order: a locale collator costs seconds on 100,000 files). */
function sortChildren(node: TreeNode, nodes: TreeNode[]): void {
  node.children.sort((a, b) => {
    const x = nodes[a]
    const y = nodes[b]
    if ((x.file < 0) !== (y.file < 0)) return x.file < 0 ? -1 : 1
    return x.name < y.name ? -1 : x.name > y.name ? 1 : 0
  })
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
  const top = tree.nodes[0].children
  for (const c of top) if (tree.nodes[c].file < 0) open.add(c)
  if (top.length === 1 && open.size === 1) for (const c of tree.nodes[top[0]].children) if (tree.nodes[c].file < 0) open.add(c)
  return open
}

/** Node ids shown, in order: the tree with `expanded` folders open, or every file (flat). */
export function visibleNodes(tree: FileTree, expanded: ReadonlySet<number>, flat: boolean): number[] {
  if (flat) return Array.from(tree.order, (pos) => tree.nodeOfFile[pos])
  const out: number[] = []
  const stack = tree.nodes[0].children.slice().reverse()
  while (stack.length) {
    const id = stack.pop()!
    out.push(id)
    const node = tree.nodes[id]
    if (node.file < 0 && expanded.has(id)) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i])
  }
  return out
}
