// Build step after scripts/bundle-cli.mjs's esbuild run: turns the split ES-module build
// (dist/bundle/*.mjs) into CommonJS chunks (*.cjs) wherever CommonJS can express the chunk, so
// every command but the dashboard runs without Node's ES module loader (issue 15, README "Memory").
// A chunk with top-level await (yoga-layout's, for the dashboard) stays an ES module, and so does
// every chunk that imports one statically; CommonJS code loads those with a real import().
// The conversion is esbuild's transform, per chunk: its static imports become require, its
// import() of a CommonJS chunk, of a built-in or of better-sqlite3/pg becomes
// `Promise.resolve().then(() => __toESM(require(…)))` (a namespace object with `default` and the
// named exports), and each chunk ends with esbuild's `0 && (module.exports = {…})`, from which
// Node's cjs-module-lexer learns the names an ES chunk imports from it. The chunk's source map is
// handed to the transform inline, so the new map still points into src/.
// A renamed chunk's name keeps its length (.mjs → .cjs), so renaming the specifiers that name it
// moves no column that a source map points to.
import { transform } from 'esbuild'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'

const TOP_LEVEL_AWAIT = /Top-level await is currently not supported with the "cjs" output format/
/** Stands for `import(` in a CommonJS chunk's input (same length), so the transform keeps it an import(). */
const KEEP_IMPORT = '__ftIm('

const cjsName = (name) => name.replace(/\.mjs$/, '.cjs')

/** The transform of `code` (an ES chunk, its map inline) to CommonJS; throws what esbuild reports. */
async function toCjs(code, sourcefile) {
  const result = await transform(code, {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    supported: { 'dynamic-import': false },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    sourcemap: 'external',
    sourcefile,
    logLevel: 'silent',
  })
  if (result.warnings.length > 0) throw new Error(`bundle-to-cjs: ${sourcefile}: ${result.warnings[0].text}`)
  return result
}

/**
 * Converts `outdir`'s chunks as described above. `metafile` is esbuild's for the build that wrote
 * them (every output named *.mjs); `banner` is the build's banner, which CommonJS chunks drop.
 * Returns the names of the chunks that stay ES modules.
 */
export async function toCommonJs(outdir, metafile, banner) {
  /** Chunk name → the chunks it imports, with how (import-statement or dynamic-import). */
  const imports = new Map()
  for (const [path, output] of Object.entries(metafile.outputs)) {
    if (!path.endsWith('.mjs')) continue
    imports.set(basename(path), output.imports.filter((i) => !i.external).map((i) => ({ name: basename(i.path), kind: i.kind })))
  }
  const source = new Map([...imports.keys()].map((name) => [name, readFileSync(join(outdir, name), 'utf8')]))

  const esm = new Set()
  for (const [name, code] of source) {
    try {
      await toCjs(code.replace(banner, ''), name)
    } catch (err) {
      if (!TOP_LEVEL_AWAIT.test(String(err.message))) throw err
      esm.add(name)
    }
  }
  for (let grew = true; grew; ) {
    grew = false
    for (const [name, list] of imports) {
      if (esm.has(name) || !list.some((i) => i.kind === 'import-statement' && esm.has(i.name))) continue
      esm.add(name)
      grew = true
    }
  }

  /** "./chunk-X.mjs" → "./chunk-X.cjs" for each chunk that becomes CommonJS. */
  const renameSpecifiers = (code) => code.replace(/"\.\/([\w-]+\.mjs)"/g, (whole, name) => (imports.has(name) && !esm.has(name) ? `"./${cjsName(name)}"` : whole))

  for (const [name, original] of source) {
    const file = join(outdir, name)
    const mapLine = `//# sourceMappingURL=${name}.map\n`
    if (!original.startsWith(banner) || !original.endsWith(mapLine)) throw new Error(`bundle-to-cjs: ${name} does not start with the banner and end with its map's name`)
    if (esm.has(name)) {
      writeFileSync(file, renameSpecifiers(original))
      continue
    }
    if (original.includes(KEEP_IMPORT)) throw new Error(`bundle-to-cjs: ${name} already contains ${KEEP_IMPORT}`)
    const map = readFileSync(`${file}.map`)
    // The banner's line stays (empty), so the map's lines still match.
    const code = renameSpecifiers(original.slice(banner.length, -mapLine.length))
      .replace(/\bimport\("\.\/([\w-]+\.mjs)"\)/g, (whole, target) => (esm.has(target) ? `${KEEP_IMPORT}"./${target}")` : whole))
    const result = await toCjs(`${code}//# sourceMappingURL=data:application/json;base64,${map.toString('base64')}\n`, cjsName(name))
    if (/\bimport\.meta\b/.test(result.code)) throw new Error(`bundle-to-cjs: ${name} uses import.meta, which CommonJS does not have`)
    writeFileSync(join(outdir, cjsName(name)), `${result.code.replaceAll(KEEP_IMPORT, 'import(')}//# sourceMappingURL=${cjsName(name)}.map\n`)
    writeFileSync(join(outdir, `${cjsName(name)}.map`), result.map)
    rmSync(file)
    rmSync(`${file}.map`)
  }
  return esm
}
