// The house rules on imports, checked on the real source: no import circle
// anywhere in src/ (type-only imports count: they tie the modules' designs
// together just the same), src/tui never imports src/cli, and the pure parts
// (picker, choker, storage, metadata, discovery) never import peer, torrent
// or session. The small parser is tested first on text made here, so a
// parser that found nothing could not make the real checks pass.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

/** The module specifiers a file names: static imports and re-exports (type-only too), side-effect imports, dynamic import(). */
function specifiers(text: string): string[] {
  const code = text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '')
  const found: string[] = []
  for (const m of code.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm)) found.push(m[1])
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1])
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1])
  return found
}

/** The specifiers a file loads when it is loaded: static imports and re-exports that are not type-only, side-effect imports. */
function runtimeSpecifiers(text: string): string[] {
  const code = text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '')
  const found: string[] = []
  for (const m of code.matchAll(/^\s*(?:import|export)\b(\s+type\b)?[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm)) if (!m[1]) found.push(m[2])
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1])
  return found
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(e.name) ? [path] : []
  })
}

/** File (relative to src) → the files in src it imports. Package imports are left out. */
function importGraph(files: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const [file, text] of files) {
    const targets: string[] = []
    for (const spec of specifiers(text)) {
      if (!spec.startsWith('.')) continue
      const base = join(dirname(file), spec)
      const target = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((p) => files.has(p))
      assert.ok(target, `${file} imports ${spec}, which is no file in src`)
      targets.push(target)
    }
    graph.set(file, targets)
  }
  return graph
}

/** Every file in src loaded, at start, with `entry`: the closure of runtimeSpecifiers; and the packages those files load. */
function loadedWith(entry: string, files: Map<string, string>): { files: Set<string>; packages: Map<string, string> } {
  const seen = new Set<string>()
  const packages = new Map<string, string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const spec of runtimeSpecifiers(files.get(file)!)) {
      if (!spec.startsWith('.')) {
        packages.set(spec, file)
        continue
      }
      const base = join(dirname(file), spec)
      const target = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')].find((p) => files.has(p))
      assert.ok(target, `${file} imports ${spec}, which is no file in src`)
      visit(target)
    }
  }
  visit(entry)
  return { files: seen, packages }
}

/** Every circle, as a path that starts and ends at the same file (one per strongly connected group). */
function circles(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components, recursive (src is small).
  let index = 0
  const order = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const groups: string[][] = []
  const visit = (v: string): void => {
    order.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!))
    }
    if (low.get(v) === order.get(v)) {
      const group: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        group.push(w)
      } while (w !== v)
      if (group.length > 1 || (graph.get(v) ?? []).includes(v)) groups.push(group)
    }
  }
  for (const v of graph.keys()) if (!order.has(v)) visit(v)
  // One concrete circle per group, for the message: walk inside the group until a file repeats.
  return groups.map((group) => {
    const inGroup = new Set(group)
    const path = [group[0]]
    for (;;) {
      const next = graph.get(path.at(-1)!)!.find((w) => inGroup.has(w))!
      const seen = path.indexOf(next)
      path.push(next)
      if (seen >= 0) return path.slice(seen)
    }
  })
}

function readSrc(): Map<string, string> {
  return new Map(sourceFiles(SRC).map((path) => [relative(SRC, path), readFileSync(path, 'utf8')]))
}

test('the parser finds every kind of import and nothing else', () => {
  const text = [
    "import { a } from './a.ts'",
    'import type {',
    '  B,',
    '  C,',
    "} from '../b/b.ts'",
    "export { d } from './d.ts'",
    "export type { E } from './e.ts'",
    "import './side-effect.ts'",
    "import pLimit from 'p-limit'",
    "const { f } = await import('./f.ts')",
    "// import { g } from './commented.ts'",
    "/* import { h } from './block-commented.ts' */",
    "const s = 'import x from \"./not-at-line-start.ts\"'",
    "export const i = 'from'",
    "export function j() { return k.from('./not-a-module.ts') }",
  ].join('\n')
  assert.deepEqual(specifiers(text).sort(), ['../b/b.ts', './a.ts', './d.ts', './e.ts', './f.ts', './side-effect.ts', 'p-limit'].sort())
})

test('the circle finder finds a circle of three and a file importing itself, and none in a tree', () => {
  const files = new Map([
    ['x/a.ts', "import { b } from './b.ts'"],
    ['x/b.ts', "import type { C } from '../y/c.ts'"],
    ['y/c.ts', "import { a } from '../x/a.ts'\nimport { d } from './d.ts'"],
    ['y/d.ts', ''],
    ['z/self.ts', "export { s } from './self.ts'"],
  ])
  const found = circles(importGraph(files)).map((c) => c.join(' → ')).sort()
  assert.equal(found.length, 2)
  assert.match(found[0], /^(x\/a\.ts|x\/b\.ts|y\/c\.ts) → .* → .* → \1$/)
  assert.equal(found[1], 'z/self.ts → z/self.ts')
  assert.deepEqual(circles(importGraph(new Map([['a.ts', "import './b.ts'"], ['b.ts', '']]))), [])
})

test('src has no import circle', () => {
  const graph = importGraph(readSrc())
  assert.ok(graph.size > 50, `only ${graph.size} files found under ${SRC}`)
  assert.ok([...graph.values()].flat().length > 100, 'hardly any imports found: the parser is broken')
  const found = circles(graph)
  assert.deepEqual(found.map((c) => c.join(' → ')), [], `import circles in src:\n${found.map((c) => `  ${c.join(' → ')}`).join('\n')}`)
})

test('imports point one way: tui never imports cli; picker, choker, storage, metadata and discovery never import peer, torrent or session', () => {
  const graph = importGraph(readSrc())
  const forbidden: [from: string, to: string][] = [['tui', 'cli']]
  for (const pure of ['picker', 'choker', 'storage', 'metadata', 'discovery']) for (const owner of ['peer', 'torrent', 'session']) forbidden.push([pure, owner])
  const wrong: string[] = []
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const [fromDir, toDir] = [file.split('/')[0], target.split('/')[0]]
      if (forbidden.some(([f, t]) => f === fromDir && t === toDir)) wrong.push(`${file} imports ${target}`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('the runtime parser leaves out type-only imports and dynamic imports', () => {
  const text = [
    "import { a } from './a.ts'",
    "import type { B } from './b.ts'",
    "import type Db from 'better-sqlite3'",
    "export type { C } from './c.ts'",
    "export { d } from './d.ts'",
    "import './e.ts'",
    "const pg = await import('pg')",
  ].join('\n')
  assert.deepEqual(runtimeSpecifiers(text).sort(), ['./a.ts', './d.ts', './e.ts'])
})

test('the download path never loads the index or its database drivers (better-sqlite3 and pg are loaded only when an index is opened)', () => {
  const files = readSrc()
  for (const entry of ['cli/add-command.ts', 'session/session.ts', 'cli/seed-command.ts']) {
    assert.ok(files.has(entry), `${entry} is no file in src`)
    const loaded = loadedWith(entry, files)
    assert.ok(loaded.files.size > 10, `${entry} loads only ${loaded.files.size} files: the parser is broken`)
    assert.ok(loaded.packages.size > 0, `${entry} loads no package: the parser is broken`)
    assert.deepEqual([...loaded.files].filter((f) => f.startsWith('index/')), [], `${entry} loads index modules`)
    for (const driver of ['better-sqlite3', 'pg']) assert.equal(loaded.packages.get(driver), undefined, `${entry} loads ${driver}`)
  }
  // And the index itself loads its drivers only dynamically: a static import would defeat the above once anything imported it.
  for (const [file, text] of files) {
    for (const driver of ['better-sqlite3', 'pg']) assert.ok(!runtimeSpecifiers(text).includes(driver), `${file} imports ${driver} statically`)
  }
})

test('main.ts loads no command statically: each command\'s modules load only when it runs (`--version` holds no session code)', () => {
  const files = readSrc()
  const loaded = loadedWith('cli/main.ts', files)
  assert.deepEqual([...loaded.files].filter((f) => f.endsWith('-command.ts') || f.endsWith('-commands.ts') || f.startsWith('session/')), [])
})
