// One BEP 9 ut_metadata message from a peer, applied to a MetadataFetcher: the part every
// metadata download shares (a magnet's metadata task and the index's fetch). Requests are
// rejected (we have no metadata to give), rejects free the piece, data feeds the fetcher.
// Knows a connection only as something that can send an extended message and be closed.

import { errorMessage } from '../core/types.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../wire/ut-metadata.ts'
import type { MetadataFetcher } from './metadata-fetcher.ts'
import { metadataResponse } from './metadata-server.ts'

export interface MetadataChannel {
  close(reason: string): void
  sendExtended(name: string, payload: Buffer): boolean
}

/**
 * What the caller does next: `idle` nothing; `more` ask for more pieces; `failed` the dict did not
 * check out and `liars` sent parts of it (the caller drops them); `done` the whole checked dict.
 */
export type MetadataStep =
  | { kind: 'idle' }
  | { kind: 'more' }
  | { kind: 'failed'; reason: string; liars: string[] }
  | { kind: 'done'; infoDict: Buffer }

export function receiveMetadataMessage(fetcher: MetadataFetcher, channel: MetadataChannel, key: string, payload: Buffer): MetadataStep {
  let message
  try {
    message = decodeMetadataMessage(payload)
  } catch (err) {
    channel.close(`bad ut_metadata message: ${errorMessage(err)}`)
    return { kind: 'idle' }
  }
  if (message.msgType === 'request') {
    channel.sendExtended('ut_metadata', encodeMetadataMessage(metadataResponse(undefined, message.piece)))
    return { kind: 'idle' }
  }
  if (message.msgType === 'reject') {
    fetcher.handleReject(key, message.piece)
    return { kind: 'more' }
  }
  const result = fetcher.handleData(key, message.piece, message.totalSize, message.data)
  if (!result.ok) return { kind: 'failed', reason: result.reason, liars: [...new Set([key, ...fetcher.lastFailedPeers])] }
  if (result.done) return { kind: 'done', infoDict: result.done }
  return { kind: 'more' }
}

/** Sends every request the fetcher wants sent now, to the connections `channelOf` finds. */
export function sendMetadataRequests(fetcher: MetadataFetcher, now: number, channelOf: (key: string) => MetadataChannel | undefined): void {
  for (const { peer, piece } of fetcher.nextRequests(now)) {
    channelOf(peer)?.sendExtended('ut_metadata', encodeMetadataMessage({ msgType: 'request', piece }))
  }
}
