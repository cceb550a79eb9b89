// The README keeps up with the code: a row for every config key with its
// default, and every Debian package .ci/run installs for the tests named.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { CONFIG_OPTIONS } from '../../../src/cli/config.ts'

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')

test('the README\'s configuration table has every config key, with its default', () => {
  for (const [key, option] of Object.entries(CONFIG_OPTIONS)) {
    const row = README.split('\n').find((line) => line.startsWith(`| \`${key}\` |`))
    assert.ok(row, `README has no row for ${key}`)
    const shown = row.split('|')[2].trim()
    if (typeof option.default === 'number' || typeof option.default === 'boolean') assert.equal(shown, String(option.default), `default of ${key}`)
    else if (typeof option.default === 'string') assert.equal(shown, JSON.stringify(option.default), `default of ${key}`)
  }
})

test('every Debian package .ci/run installs is named in the README', () => {
  const ci = readFileSync(new URL('../../../.ci/run', import.meta.url), 'utf8')
  // The install command with its continuation lines, up to the redirection that ends it.
  const install = ci.match(/apt-get install[^\n]*\\\n((?:[^\n]*\\\n)*[^\n]*)/)
  assert.ok(install, '.ci/run has an apt-get install line')
  const packages = install[1].replace(/>.*$/s, '').replace(/\\\n/g, ' ').trim().split(/\s+/)
  assert.ok(packages.includes('opentracker') && packages.length > 5, packages.join(' '))
  const text = README.replace(/\s+/g, ' ')
  for (const name of packages) assert.match(text, new RegExp(`[\`\\s]${name}[\`\\s)]`), `README names ${name}`)
})
