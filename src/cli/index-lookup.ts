// `add` of a magnet or bare info hash the index holds: the .torrent is made
// from the stored info dict (plus the link's trackers), checked against the
// hash, and added like a file, so the download starts with no metadata fetch.
// No index, or a hash it lacks: undefined, and `add` goes on as before. An
// index that cannot be read is a warning, never the end of the add.
import bencode from 'bencode'
import { errorMessage } from '../core/types.ts'
import type { MagnetLink } from '../metainfo/magnet.ts'
import { parseTorrentFile, type Metainfo } from '../metainfo/metainfo.ts'
import type { Config } from './config.ts'
import { mayHaveIndex, openConfiguredIndex } from './index-access.ts'

/** `d[announce…]4:info<info dict as stored>e`: the info dict's bytes untouched, so the info hash is the stored one. */
export function torrentFromInfoDict(infoDict: Buffer, tiers: string[][]): Buffer {
  const outer = tiers.length > 0 ? Buffer.from(bencode.encode({ announce: tiers[0][0], 'announce-list': tiers })) : Buffer.from('de')
  // Keys sort as bencode wants: announce, announce-list, then info.
  return Buffer.concat([outer.subarray(0, outer.length - 1), Buffer.from('4:info'), infoDict, Buffer.from('e')])
}

/** Looks `link` up with `infoDictOf`; a torrent made from the stored info dict, or undefined (then fetch the metadata as before). */
export async function fromIndex(link: MagnetLink, infoDictOf: (infoHash: string) => Promise<Buffer | undefined>, warn: (line: string) => void): Promise<{ meta: Metainfo; data: Buffer } | undefined> {
  let infoDict: Buffer | undefined
  try {
    infoDict = await infoDictOf(link.infoHashHex)
  } catch (err) {
    warn(`${errorMessage(err)}; fetching the metadata from peers instead`)
    return undefined
  }
  if (!infoDict) return undefined
  const data = torrentFromInfoDict(infoDict, link.tiers)
  const meta = await parseTorrentFile(data).catch((err: unknown) => {
    warn(`the index's info dict for ${link.infoHashHex} does not parse (${errorMessage(err)}); fetching the metadata from peers instead`)
    return undefined
  })
  if (!meta) return undefined
  if (meta.infoHashHex !== link.infoHashHex) {
    warn(`the index's info dict for ${link.infoHashHex} hashes to ${meta.infoHashHex}; fetching the metadata from peers instead`)
    return undefined
  }
  return { meta, data }
}

/** One lookup in the configured index, opened and closed for it (the foreground `add`). */
export function infoDictFromConfig(config: Config, stateDir: string): (infoHash: string) => Promise<Buffer | undefined> {
  return async (infoHash) => {
    if (!mayHaveIndex(config, stateDir)) return undefined
    const index = await openConfiguredIndex(config, stateDir)
    if (!index) return undefined
    try {
      return await index.infoDict(infoHash)
    } finally {
      await index.close()
    }
  }
}
