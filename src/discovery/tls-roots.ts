// The CA certificates of NODE_EXTRA_CA_CERTS for a process that did not let
// Node load them at start-up. Node 20 builds its whole root store (~140
// bundled roots plus the file's) before any JavaScript runs when the variable
// is set: 1.2–1.5 MB of peak RSS for a session that may never speak TLS
// (issue 15). bin/friendtorrent.js's shebang moves the variable aside and the
// bin marks the process (EXTRA_CA_DEFERRED); here, at the first HTTPS request,
// the file is read once and ONE secure context with Node's bundled roots plus
// the file's certificates is made and kept for the process, for every HTTPS
// request to use (http-modules.ts). It never touches a process whose Node
// loaded the file itself. A file that cannot be used costs one warning line,
// worded as Node's own (into a running session's warnings when one listens,
// else on stderr), and HTTPS goes on with the bundled roots.
import { readFile } from 'node:fs/promises'
import type { SecureContext } from 'node:tls'
import { errorMessage } from '../core/types.ts'

/** Set to true on globalThis by bin/friendtorrent.js when it kept Node from loading NODE_EXTRA_CA_CERTS; never inherited by child processes. */
export const EXTRA_CA_DEFERRED = Symbol.for('friendtorrent.extraCaCertsDeferred')

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g

/** The PEM certificates in a file's text, each from its BEGIN line to its END line. */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? []
}

export type ExtraRoots = { secureContext: SecureContext } | { warning: string }

/** A secure context trusting Node's bundled roots plus the PEM certificates in `file`, or the one line saying why not. */
export async function loadExtraRoots(file: string): Promise<ExtraRoots> {
  const failed = (reason: string): ExtraRoots => ({ warning: `Ignoring extra certs from \`${file}\`, load failed: ${reason}` })
  let text: string
  try {
    text = await readFile(file, 'latin1')
  } catch (err) {
    return failed(errorMessage(err))
  }
  const extra = pemCertificates(text)
  if (extra.length === 0) return failed('it holds no PEM certificate')
  const [tls, { X509Certificate }] = await Promise.all([import('node:tls'), import('node:crypto')])
  // createSecureContext skips a certificate it cannot parse without a word: each is parsed here first.
  for (const [i, pem] of extra.entries()) {
    try {
      new X509Certificate(pem)
    } catch (err) {
      return failed(`certificate ${i + 1} of ${extra.length}: ${errorMessage(err)}`)
    }
  }
  try {
    return { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, ...extra] }) }
  } catch (err) {
    return failed(errorMessage(err))
  }
}

let loading: Promise<SecureContext | undefined> | undefined
const warningListeners = new Set<(line: string) => void>()

/**
 * Hands the warning about an unusable file to `listener` (a running session's warnings,
 * cli/session-host.ts) rather than to stderr, until the returned function is called.
 */
export function onExtraRootsWarning(listener: (line: string) => void): () => void {
  warningListeners.add(listener)
  return () => warningListeners.delete(listener)
}

/**
 * The process's secure context with the deferred extra certificates, made at the first call;
 * undefined when nothing was deferred (Node's default store already has them, or there are none)
 * or when the file could not be used (then one warning line said why, once).
 */
export function deferredRootsContext(): Promise<SecureContext | undefined> {
  return (loading ??= (async () => {
    const file = process.env.NODE_EXTRA_CA_CERTS
    if ((globalThis as Record<symbol, unknown>)[EXTRA_CA_DEFERRED] !== true || !file) return undefined
    const roots = await loadExtraRoots(file)
    if ('secureContext' in roots) return roots.secureContext
    if (warningListeners.size === 0) process.stderr.write(`friendtorrent: warning: ${roots.warning}\n`)
    for (const listener of warningListeners) listener(roots.warning)
    return undefined
  })())
}
