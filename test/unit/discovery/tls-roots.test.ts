// tls-roots.ts: the PEM certificates taken from a NODE_EXTRA_CA_CERTS file, and
// the one secure context (bundled roots plus the file's) or the one line saying why not.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { rootCertificates } from 'node:tls'
import { loadExtraRoots, pemCertificates } from '../../../src/discovery/tls-roots.ts'
import { tempDir } from '../../helpers/net.ts'

const [first, second] = rootCertificates

test('pemCertificates takes each certificate whole, skipping text around and between them, CRLF or not', () => {
  const text = `# a bundle\r\n${first.replaceAll('\n', '\r\n')}\r\nsubject=whatever\n${second}\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`
  const found = pemCertificates(text)
  assert.equal(found.length, 2)
  assert.equal(found[0].replaceAll('\r\n', '\n'), first)
  assert.equal(found[1], second)
  assert.deepEqual(pemCertificates('no certificate here\n'), [])
})

test('loadExtraRoots: a context from a bundle; a missing, empty or unparsable file is one line naming it and why', async () => {
  const dir = tempDir('lazyca-tls-roots')
  try {
    const good = join(dir.path, 'good.pem')
    await writeFile(good, `${first}\n${second}\n`)
    const roots = await loadExtraRoots(good)
    assert.ok('secureContext' in roots, JSON.stringify(roots))
    const missing = join(dir.path, 'missing.pem')
    const gone = await loadExtraRoots(missing)
    assert.ok('warning' in gone)
    assert.match(gone.warning, new RegExp(`^Ignoring extra certs from \`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`, load failed: ENOENT`))
    const empty = join(dir.path, 'empty.pem')
    await writeFile(empty, 'nothing\n')
    assert.deepEqual(await loadExtraRoots(empty), { warning: `Ignoring extra certs from \`${empty}\`, load failed: it holds no PEM certificate` })
    const broken = join(dir.path, 'broken.pem')
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')
    const bad = await loadExtraRoots(broken)
    assert.ok('warning' in bad, 'an unparsable certificate is refused')
    assert.ok(bad.warning.startsWith(`Ignoring extra certs from \`${broken}\`, load failed: `) && !bad.warning.includes('\n'), bad.warning)
  } finally {
    await dir.cleanup()
  }
})
