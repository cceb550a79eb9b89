// Node's http and https modules, each loaded at its first use (an http or
// https tracker, web seed, .torrent link, UPnP router): a session that needs
// neither (UDP trackers, the DHT, a seed of nothing yet) never loads them.
// http is Node's whole HTTP client and server (~0.7 MB RSS at start-up),
// https adds tls (~0.5 MB); issue 15, README "Memory".
import type * as Http from 'node:http'
import type * as Https from 'node:https'

export type HttpModule = typeof Http
export type HttpsModule = typeof Https

let loadingHttp: Promise<HttpModule> | undefined
let loadingHttps: Promise<HttpsModule> | undefined

export function httpModule(): Promise<HttpModule> {
  return (loadingHttp ??= import('node:http'))
}

export function httpsModule(): Promise<HttpsModule> {
  return (loadingHttps ??= import('node:https'))
}

/** The module for an http: or https: URL. */
export function httpModuleFor(url: URL): Promise<HttpModule | HttpsModule> {
  return url.protocol === 'https:' ? httpsModule() : httpModule()
}
