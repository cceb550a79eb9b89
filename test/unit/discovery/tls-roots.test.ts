// tls-roots.ts: the PEM certificates taken from a NODE_EXTRA_CA_CERTS file, and
// the one secure context (bundled roots plus the file's) or the one line saying why not.
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { rootCertificates } from 'node:tls'
import { deferredRootsContext, EXTRA_CA_DEFERRED, loadExtraRoots, onExtraRootsWarning, pemCertificates } from '../../../src/discovery/tls-roots.ts'
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

test('deferred by the bin, a missing file is reported once to the listening session, and HTTPS goes on with the bundled roots', async () => {
  const dir = tempDir('lazyca-tls-deferred')
  const saved = process.env.NODE_EXTRA_CA_CERTS
  const marks = globalThis as Record<symbol, unknown>
  const lines: string[] = []
  const stop = onExtraRootsWarning((line) => lines.push(line))
  try {
    const missing = join(dir.path, 'gone.pem')
    process.env.NODE_EXTRA_CA_CERTS = missing
    marks[EXTRA_CA_DEFERRED] = true
    // Several requests at once, then a later one: the file is tried once.
    const contexts = await Promise.all([deferredRootsContext(), deferredRootsContext()])
    assert.deepEqual(contexts, [undefined, undefined])
    assert.equal(await deferredRootsContext(), undefined)
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.ok(lines[0].startsWith(`Ignoring extra certs from \`${missing}\`, load failed: ENOENT`), lines[0])
  } finally {
    stop()
    delete marks[EXTRA_CA_DEFERRED]
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS
    else process.env.NODE_EXTRA_CA_CERTS = saved
    await dir.cleanup()
  }
})
