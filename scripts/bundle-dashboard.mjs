// Build step after tsc: bundles the dashboard (dist/cli/dashboard-command.js,
// dist/tui/, Ink, React and their helpers) into one minified module in place.
// Loading Ink as some hundred separate ES modules costs ~17 MB more RSS than
// one minified file (measured: +40 MB vs +23 MB for ink and react), and the
// dashboard's goal is < 20 MB over a headless session.
// Our modules outside src/tui stay external, shared with the rest of the CLI:
// one copy of the session code, so `instanceof FriendError` and the like hold.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dist = resolve(root, 'dist')
const entry = resolve(dist, 'cli', 'dashboard-command.js')
const tui = resolve(dist, 'tui') + sep
const devtoolsStub = resolve(root, 'scripts', 'react-devtools-stub.mjs')

if (!existsSync(entry)) throw new Error(`bundle-dashboard: ${entry} is missing; run tsc first (npm run build)`)

const ownModulesExternal = {
  name: 'own-modules-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer.includes(`${sep}node_modules${sep}`)) return undefined
      const target = resolve(args.resolveDir, args.path)
      if (target === entry || target.startsWith(tui)) return undefined
      // Kept as an import, relative to where the bundle is written (beside the entry).
      let path = relative(dirname(entry), target).split(sep).join('/')
      if (!path.startsWith('.')) path = `./${path}`
      return { path, external: true }
    })
  },
}

await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  // CommonJS parts of the bundle (react, signal-exit) call require for Node's own modules.
  banner: { js: "import { createRequire as __ftCreateRequire } from 'node:module'; const require = __ftCreateRequire(import.meta.url);" },
  // Ink loads React DevTools only when DEV=true; it is not installed, and never needed here.
  alias: { 'react-devtools-core': devtoolsStub },
  external: ['bufferutil', 'utf-8-validate'],
  plugins: [ownModulesExternal],
  logLevel: 'warning',
})
