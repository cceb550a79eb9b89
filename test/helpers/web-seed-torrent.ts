// Torrents with a url-list for web seed tests: any layout (BEP 47 pad files
// included, whose bytes are zeros), deterministic payloads, and the files laid
// out under a web server's folder as the torrent names them (pads left out).
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import bencode from 'bencode'
import { pseudoRandomBytes } from './make-torrent.ts'

export interface WebSeedFile {
  path: string[]
  length: number
  /** BEP 47 attr "p": zeros, on no server and never on disk. */
  pad?: boolean
}

export interface WebSeedTorrent {
  torrent: Buffer
  payload: Buffer
  infoHashHex: string
  pieceCount: number
  /** Each file's bytes (multi-file) or the one file's. */
  files: { path: string[]; data: Buffer; pad: boolean }[]
}

/** `files` a number: a single-file torrent of that size. */
export function buildWebSeedTorrent(opts: { name: string; files: WebSeedFile[] | number; pieceLength: number; urlList: string[]; seed?: number }): WebSeedTorrent {
  const list = typeof opts.files === 'number' ? [{ path: [], length: opts.files }] : opts.files
  const parts: Buffer[] = []
  const files: WebSeedTorrent['files'] = []
  let n = 0
  for (const f of list) {
    const data = f.pad ? Buffer.alloc(f.length) : pseudoRandomBytes(f.length, (opts.seed ?? 11) + n++)
    parts.push(data)
    files.push({ path: f.path, data, pad: f.pad === true })
  }
  const payload = Buffer.concat(parts)
  const hashes: Buffer[] = []
  for (let off = 0; off < payload.length; off += opts.pieceLength) hashes.push(createHash('sha1').update(payload.subarray(off, off + opts.pieceLength)).digest())
  const info: Record<string, unknown> = { name: opts.name, 'piece length': opts.pieceLength, pieces: Buffer.concat(hashes) }
  if (typeof opts.files === 'number') info.length = payload.length
  else info.files = opts.files.map((f) => (f.pad ? { attr: 'p', length: f.length, path: f.path } : { length: f.length, path: f.path }))
  const torrent = Buffer.from(bencode.encode({ info, 'url-list': opts.urlList }))
  return { torrent, payload, infoHashHex: createHash('sha1').update(bencode.encode(info)).digest('hex'), pieceCount: hashes.length, files }
}

/** Writes the torrent's files under `folder` as a web server would hold them: `folder/name` or `folder/name/path…`. */
export async function publish(t: WebSeedTorrent, name: string, folder: string, corrupt = false): Promise<void> {
  for (const f of t.files) {
    if (f.pad) continue
    const file = join(folder, name, ...f.path)
    await mkdir(dirname(file), { recursive: true })
    const data = corrupt ? Buffer.from(f.data.map((b) => b ^ 0x5a)) : f.data
    await writeFile(file, data)
  }
}
