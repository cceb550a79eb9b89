// Writes a .torrent for metadata we hold: the info dict byte for byte as it
// was verified (so the file's info hash is the same), with the trackers.
import bencode from 'bencode'
import type { Metainfo } from './metainfo.ts'

export function torrentFileBytes(meta: Metainfo): Buffer {
  // Keys in sorted order (BEP 3): announce, announce-list, info. The info dict
  // is spliced in raw: re-encoding a decoded dict could change its hash.
  const head: Record<string, unknown> = {}
  if (meta.announce.length > 0) {
    head.announce = meta.announce[0][0]
    head['announce-list'] = meta.announce
  }
  const encodedHead = Buffer.from(bencode.encode(head))
  return Buffer.concat([encodedHead.subarray(0, encodedHead.length - 1), Buffer.from('4:info'), meta.infoBuffer, Buffer.from('e')])
}

/**
 * The largest .torrent we read, from a file or a URL: an info dict we accept
 * over BEP 9 is at most 8 MiB, and 2 MiB more leaves room for trackers, web
 * seeds and comments.
 */
export const MAX_TORRENT_FILE_BYTES = 10 * 1024 * 1024
