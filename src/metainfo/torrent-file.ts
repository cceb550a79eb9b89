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
 * The largest .torrent we read (from a file, a link or the control channel)
 * and the largest info dict we fetch over BEP 9: one number, libtorrent's
 * default max_metadata_size (3 * 1024 * 10240 bytes, 30 MiB). libtorrent reads
 * .torrent files of up to 10 MB (load_torrent_limits), but an info dict of
 * 500,000 pieces alone is 10 MB of hashes, so the metadata limit is the one
 * that fits every torrent libtorrent would run. The whole torrent is held in
 * memory once, parsed, so this also bounds what one add can cost.
 */
export const MAX_TORRENT_BYTES = 3 * 1024 * 10240

/** Names the limit for a refusal: "`what` is N bytes, over the 31457280-byte limit for a .torrent". */
export function overTorrentLimit(what: string, sizeBytes: number): string {
  return `${what} is ${sizeBytes} bytes, over the ${MAX_TORRENT_BYTES}-byte limit for a .torrent`
}
