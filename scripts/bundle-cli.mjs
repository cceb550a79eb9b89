// Build step after tsc: bundles the CLI (dist/cli/main.js, dist/cli/io.js and everything they
// import, ours and npm's) into dist/bundle/, the modules bin/friendtorrent.js loads.
// Loading the CLI as ~150 separate ES modules costs memory each (module records, their
// source kept for lazy compilation); one bundle loads in fewer MB (issue 15).
// What the CLI import()s where used stays out of the start-up file: esbuild splits each
// such import into a chunk of its own (the dashboard with Ink and React, the index stores,
// the tracker server, create-torrent, the DHT), and code shared by several goes into a
// shared chunk, so there is one copy of the session code and `instanceof FriendError` holds.
// External (loaded from node_modules as they are): better-sqlite3 (an optional native
// dependency: the client must run without it), pg (only when the index is in PostgreSQL),
// and ws's optional native helpers.
// Node's built-in modules that a module imports statically are taken with `require` (the
// banner's), not `import`: an ES import of a built-in makes Node build its ES facade, which
// reads every export once and so runs the lazy getters behind them (node:crypto's webcrypto
// with all of internal/crypto, node:dns's promises API, node:stream's and node:fs's). A
// built-in's export is then read only where it is used; `import()` of one stays as it is
// (loaded when reached).
// For the dashboard's chunk: React, react-reconciler and scheduler are built with their
// production code only (their index files pick a build by NODE_ENV at run time, so both
// builds were in the chunk: 1.2 MB of source, kept whole in V8's heap, where 0.66 MB
// is needed; the CLI sets NODE_ENV=production before the dashboard loads, main.ts), and
// Ink's import of @alcalzone/ansi-tokenize gets scripts/ink-ansi-tokenize.mjs (a frame
// made without ~5 MB of garbage), its measure-text.js and wrap-text.js get
// scripts/ink-text-caches.mjs's (caches that do not grow for ever), and its output.js is
// scripts/ink-output.mjs (the frame's grid without an object per cell); every string-width
// measures plain text first with scripts/ink-string-width.mjs (no emoji pattern compiled
// for "↓" or braille). Issue 15, README "Memory".
// Identifiers are kept (whitespace and syntax minified only) so stack traces name our
// functions; dist/bundle/*.js.map maps them back to src/ for `node --enable-source-maps`.
// Measured, not kept (issue 15, README "Memory"): each chunk turned into CommonJS after this
// build (esbuild's transform; yoga-layout's chunk, with top-level await, left an ES module for the
// dashboard), so `add` and `seed` ran without Node's ES module loader: 1 GiB `add` peak −0.3 MB
// (5 pairs), `seed` to two leechers no lower (4 pairs); the loader costs ~0.3 MB in the CLI and the
// CommonJS chunks are 3 % more source.
// Minified identifiers were measured (issue 15, README "Memory"): with keepNames the start-up
// chunks are 12–27 % smaller but an idle seed's heap and RSS larger; without keepNames −0.3 MB at most.
import { build } from 'esbuild'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { builtinModules, createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = resolve(root, 'dist')
const outdir = resolve(dist, 'bundle')
const entries = { main: resolve(dist, 'cli', 'main.js'), io: resolve(dist, 'cli', 'io.js') }
const devtoolsStub = resolve(root, 'scripts', 'react-devtools-stub.mjs')
const inkAnsiTokenize = resolve(root, 'scripts', 'ink-ansi-tokenize.mjs')
const stringWidthFast = resolve(root, 'scripts', 'ink-string-width.mjs')
const inkModules = {
  './measure-text.js': resolve(root, 'scripts', 'ink-measure-text.mjs'),
  './wrap-text.js': resolve(root, 'scripts', 'ink-wrap-text.mjs'),
  './output.js': resolve(root, 'scripts', 'ink-output.mjs'),
}

/** React's packages with `process.env.NODE_ENV` read as "production", so their development builds drop out. */
const reactProductionOnly = {
  name: 'react-production-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/](react|react-reconciler|scheduler)[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll('process.env.NODE_ENV', '"production"'),
      loader: 'js',
    }))
  },
}

/**
 * In Ink's own modules: @alcalzone/ansi-tokenize is scripts/ink-ansi-tokenize.mjs (which wraps the
 * package), ./measure-text.js and ./wrap-text.js are scripts/ink-text-caches.mjs's (bounded caches),
 * ./output.js is scripts/ink-output.mjs (a frame's grid without an object per cell).
 */
const inkWrappers = {
  name: 'ink-wrappers',
  setup(b) {
    const fromInk = (args) => /[\\/]node_modules[\\/]ink[\\/]/.test(args.importer)
    b.onResolve({ filter: /^@alcalzone\/ansi-tokenize$/ }, (args) => (fromInk(args) ? { path: inkAnsiTokenize } : undefined))
    b.onResolve({ filter: /^\.\/(measure-text|wrap-text|output)\.js$/ }, (args) => (fromInk(args) ? { path: inkModules[args.path] } : undefined))
  },
}

/**
 * Every import of string-width gets a module that measures plain text itself
 * (scripts/ink-string-width.mjs) and hands the rest to the string-width the importer resolves to.
 */
const stringWidthFastPath = {
  name: 'string-width-fast-path',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      // The resolution below comes back through here: then esbuild resolves it as usual.
      if (args.pluginData?.real) return undefined
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { real: true } })
      if (real.errors.length > 0) return { errors: real.errors }
      return { path: real.path, namespace: 'string-width-fast-path' }
    })
    b.onLoad({ filter: /.*/, namespace: 'string-width-fast-path' }, (args) => ({
      contents: [
        `import realStringWidth from ${JSON.stringify(args.path)}`,
        `import { plainWidth } from ${JSON.stringify(stringWidthFast)}`,
        'export default function stringWidth(text, options) { return plainWidth(text, options) ?? realStringWidth(text, options) }',
      ].join('\n'),
      resolveDir: root,
      loader: 'js',
    }))
  },
}

for (const entry of Object.values(entries)) {
  if (!existsSync(entry)) throw new Error(`bundle-cli: ${entry} is missing; run tsc first (npm run build)`)
}
rmSync(outdir, { recursive: true, force: true })

const builtins = new Set(builtinModules)
const nodeRequire = createRequire(import.meta.url)
/**
 * A static import of a built-in becomes a small ES module in the importer's chunk that takes
 * the built-in with `require` and exports each of its exports as `pick(m, name)`, marked pure
 * so that esbuild drops the ones the importer does not use: an export is read only if it is
 * imported (or the importer uses the built-in as a namespace object). One such module per
 * importer: shared by several chunks, each built-in would become a chunk (an ES module) of its own.
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_][a-z0-9_/]*$/ }, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (args.kind !== 'import-statement' || !builtins.has(name)) return undefined
      return { path: `${name}?${args.importer}`, namespace: 'node-builtin' }
    })
    b.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const name = args.path.slice(0, args.path.indexOf('?'))
      const exported = Object.keys(nodeRequire(`node:${name}`)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k))
      const contents = [
        `const m = require(${JSON.stringify(`node:${name}`)})`,
        'const pick = (o, k) => o[k]',
        'export default m',
        ...exported.map((k) => `export const ${k} = /* @__PURE__ */ pick(m, ${JSON.stringify(k)})`),
      ].join('\n')
      return { contents, loader: 'js' }
    })
  },
}

await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // CommonJS parts of the bundle (react, signal-exit, …) call require for Node's own modules.
  banner: { js: "import { createRequire as __ftCreateRequire } from 'node:module'; const require = __ftCreateRequire(import.meta.url);" },
  // Ink loads React DevTools only when DEV=true; it is not installed, and never needed here.
  alias: { 'react-devtools-core': devtoolsStub },
  external: ['better-sqlite3', 'pg', 'bufferutil', 'utf-8-validate'],
  plugins: [builtinsByRequire, reactProductionOnly, inkWrappers, stringWidthFastPath],
  logLevel: 'warning',
})
