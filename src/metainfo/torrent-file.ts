// Writes a .torrent for metadata we hold: the info dict byte for byte as it
// was verified (so the file's info hash is the same), with the trackers; and
// adds to a .torrent the BEP 52 piece layers fetched from peers since.
import bencode from 'bencode'
import { topLevelSpans } from './bencode-span.ts'
import { encodeCanonical } from './canonical-bencode.ts'
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
 * `torrentFile` with a "piece layers" dict of every layer meta.v2's files hold
 * now (replacing any it had); every other key, the info dict above all, keeps
 * its bytes, so the info hash stays. The top-level keys stay in their order,
 * the new one placed where bytewise order puts it.
 */
export function withPieceLayers(torrentFile: Buffer, meta: Metainfo): Buffer {
  const layers = (meta.v2?.files ?? []).filter((f) => f.layer).map((f): [Uint8Array, Uint8Array] => [f.root, f.layer!])
  const entry = Buffer.concat([encodeCanonical('piece layers'), encodeCanonical({ entries: layers })])
  const { spans } = topLevelSpans(torrentFile, 'the stored .torrent')
  const parts: Buffer[] = [Buffer.from('d')]
  let placed = false
  for (const [key, span] of spans) {
    if (key === 'piece layers') continue
    const keyBytes = Buffer.from(key, 'latin1')
    if (!placed && Buffer.compare(keyBytes, Buffer.from('piece layers')) > 0) {
      parts.push(entry)
      placed = true
    }
    parts.push(encodeCanonical(keyBytes), torrentFile.subarray(span.start, span.end))
  }
  if (!placed) parts.push(entry)
  parts.push(Buffer.from('e'))
  return Buffer.concat(parts)
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
