// Node's http and https modules, each loaded at its first use (an http or
// https tracker, web seed, .torrent link, UPnP router): a session that needs
// neither (UDP trackers, the DHT, a seed of nothing yet) never loads them.
// http is Node's whole HTTP client and server (~0.7 MB RSS at start-up),
// https adds tls (~0.5 MB); issue 15, README "Memory".
// Every https request (and https Agent) takes tlsOptionsFor(url) in its
// options: the CA certificates of NODE_EXTRA_CA_CERTS when the bin kept Node
// from loading them at start-up (tls-roots.ts).
import type * as Http from 'node:http'
import type * as Https from 'node:https'
import type { SecureContext } from 'node:tls'
import { deferredRootsContext } from './tls-roots.ts'

export type HttpModule = typeof Http
export type HttpsModule = typeof Https

let loadingHttp: Promise<HttpModule> | undefined
let loadingHttps: Promise<HttpsModule> | undefined
let secureContext: SecureContext | undefined

export function httpModule(): Promise<HttpModule> {
  return (loadingHttp ??= import('node:http'))
}

/** Resolves once the deferred CA certificates, if any, are loaded too: tlsOptionsFor() has them from then on. */
export function httpsModule(): Promise<HttpsModule> {
  return (loadingHttps ??= Promise.all([import('node:https'), deferredRootsContext()]).then(([https, context]) => {
    secureContext = context
    return https
  }))
}

/** The module for an http: or https: URL. */
export function httpModuleFor(url: URL): Promise<HttpModule | HttpsModule> {
  return url.protocol === 'https:' ? httpsModule() : httpModule()
}

/**
 * What a request or Agent for `url` adds to its options, once httpModuleFor(url) has
 * resolved: for https, the secure context with the deferred extra CA certificates
 * (Node's Agent hands it to tls.connect, which then makes no context of its own).
 */
export function tlsOptionsFor(url: URL): { secureContext?: SecureContext } {
  return url.protocol === 'https:' && secureContext ? { secureContext } : {}
}
