// `node --require ./test/helpers/record-esm-loader.cjs …` with FRIENDTORRENT_TEST_ESM_FILE set: at exit the
// process writes there, as a JSON array, the internal/modules/esm/* modules Node loaded, so a test can
// check that a command ran without Node's ES module loader (bin/friendtorrent.js, scripts/bundle-to-cjs.mjs).
'use strict'
const { writeFileSync } = require('node:fs')

const file = process.env.FRIENDTORRENT_TEST_ESM_FILE
if (file) {
  process.on('exit', () => {
    const esm = process.moduleLoadList.filter((m) => m.includes('internal/modules/esm/')).map((m) => m.replace(/^NativeModule /, ''))
    writeFileSync(file, JSON.stringify(esm))
  })
}
