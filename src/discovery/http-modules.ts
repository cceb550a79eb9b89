// Node's https module (and with it tls), loaded at the first https URL: a
// session whose trackers, web seeds and .torrent links are plain http never
// loads them (~0.5 MB less RSS at start-up, issue 15, README "Memory").
import type * as Https from 'node:https'

export type HttpsModule = typeof Https

let loading: Promise<HttpsModule> | undefined

export function httpsModule(): Promise<HttpsModule> {
  return (loading ??= import('node:https'))
}
