// Compresses the raw info dict kept with each indexed torrent (so `add` needs
// no second metadata fetch) and gives it back byte for byte. Raw deflate from
// node:zlib: piece hashes do not compress, the file list does, and deflate is
// several times faster than brotli at the same gain on such data.
import { deflateRawSync, inflateRawSync } from 'node:zlib'

/** Sanity bound on what a stored dict may inflate to (the metadata fetcher's own cap is lower). */
const MAX_INFO_DICT_BYTES = 64 * 1024 * 1024

export function compressInfoDict(raw: Buffer): Buffer {
  return deflateRawSync(raw, { level: 6 })
}

export function decompressInfoDict(stored: Buffer): Buffer {
  return inflateRawSync(stored, { maxOutputLength: MAX_INFO_DICT_BYTES })
}
