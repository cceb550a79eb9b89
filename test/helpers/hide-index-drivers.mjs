// `node --import ./test/helpers/hide-index-drivers.mjs …`: the process runs as
// if better-sqlite3 and pg were not installed (resolving either fails with
// ERR_MODULE_NOT_FOUND), so a test can check the client runs without them.
import { register } from 'node:module'

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === 'better-sqlite3' || specifier === 'pg') {
    const err = new Error("Cannot find package '" + specifier + "' (hidden by the test)")
    err.code = 'ERR_MODULE_NOT_FOUND'
    throw err
  }
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
