// `friendtorrent info <file.torrent | magnet | info hash | name>`: what a torrent
// holds, without downloading anything or starting a session (as
// transmission-show, `aria2c -S` and `webtorrent info` do). A .torrent file is
// read as `add` would read it; a magnet shows what the link says; a hash, a
// unique prefix of one or a name in the library shows its stored metainfo from
// the state folder. `--json` prints one object whose shape (INFO_JSON in the
// README) stays stable: fields are only ever added. `--scrape` also asks each
// tracker (BEP 48 HTTP, BEP 15 UDP) how many seeders, leechers and completed
// downloads it counts, all at once, each within 15 s.

import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { addressKey, errorMessage, FriendError } from '../core/types.ts'
import { magnetUri, notAnInfoHashNote, parseMagnetOrInfoHash, type MagnetLink } from '../metainfo/magnet.ts'
import { parseTorrentFile, type Metainfo } from '../metainfo/metainfo.ts'
import { formatBytes } from '../tui/format/format.ts'
import { scrapeTracker, scrapeUrlFor } from '../discovery/tracker-scrape.ts'
import { parseCommandLine } from './command-line.ts'
import type { CliIo } from './io.ts'
import { find, openStore } from './library-commands.ts'
import { isoTime } from '../core/iso-time.ts'

export const INFO_USAGE = `usage: friendtorrent info <file.torrent | magnet-link | info-hash | name> [--scrape] [--json]

  Shows what a torrent holds without downloading anything: name, info hash, size,
  pieces, private flag, files, trackers by tier, web seeds, DHT nodes, comment,
  creator and date, and every path changed to be safe. A magnet link shows what
  the link says; an info hash (or a unique prefix) or a name in the library shows
  its stored metainfo.

      --scrape  ask each tracker for its seeders, leechers and completed downloads`

const MAGNET = /^magnet:\?/i
const FULL_HASH = /^(?:[0-9a-f]{40}|[a-z2-7]{32})$/i
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g
const HAS_CONTROL = /[\x00-\x1f\x7f-\x9f]/

export interface TorrentInfoJson {
  kind: 'torrent'
  source: 'file' | 'library'
  infoHash: string
  name: string
  sizeBytes: number
  pieceLength: number
  pieceCount: number
  private: boolean
  files: { index: number; path: string; sizeBytes: number; executable: boolean; symlink: string | null }[]
  trackers: string[][]
  webSeeds: string[]
  dhtNodes: string[]
  comment: string | null
  createdBy: string | null
  creationDate: string | null
  pathChanges: { file: number | null; original: string[]; safe: string; why: string }[]
  magnet: string
  /** Only with --scrape. */
  scrape?: ScrapeLine[]
}

/** One tracker's scrape for `info --scrape`: its counts, or why there are none. */
export type ScrapeLine = { url: string; seeders: number; leechers: number; completed: number } | { url: string; error: string }

const SCRAPE_TIMEOUT_MS = 15_000

export interface MagnetInfoJson {
  kind: 'magnet'
  infoHash: string
  name: string | null
  trackers: string[][]
  peers: string[]
  magnet: string
  /** Only with --scrape. */
  scrape?: ScrapeLine[]
}

export async function runInfo(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine('info', { args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, scrape: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    io.out(INFO_USAGE)
    return 0
  }
  const what = positionals[0]
  if (!what || positionals.length > 1) throw new FriendError('info needs one torrent: a .torrent file, a magnet link, an info hash or a name in the library')
  const info = await lookUp(what, io)
  if (values.scrape) info.scrape = await scrapeAll(info.trackers.flat(), Buffer.from(info.infoHash, 'hex').subarray(0, 20))
  if (values.json) io.out(JSON.stringify(info, null, 2))
  else for (const line of info.kind === 'magnet' ? magnetLines(info) : torrentLines(info)) io.out(line)
  return 0
}

async function lookUp(what: string, io: CliIo): Promise<TorrentInfoJson | MagnetInfoJson> {
  if (MAGNET.test(what.trim())) return magnetJson(parseMagnetOrInfoHash(what))
  const file = resolve(io.cwd, what)
  const st = await stat(file).catch(() => undefined)
  if (st?.isFile()) {
    const data = await readFile(file).catch((err: unknown) => { throw new FriendError(`cannot read ${file}: ${errorMessage(err)}`) })
    return torrentJson(await parseTorrentFile(data), 'file')
  }
  if (st) throw new FriendError(`${file} is a folder, not a .torrent file`)
  const store = await openStore(io)
  let entry
  try {
    entry = find(store, what)
  } catch (err) {
    // A whole hash that is not in the library: say what it names, like a magnet with nothing else.
    if (FULL_HASH.test(what) && !/^[0-9a-f]{32}$/i.test(what)) return magnetJson(parseMagnetOrInfoHash(what))
    if (/no torrent/.test(errorMessage(err))) throw new FriendError(`"${what}" is not a .torrent file, a magnet link, an info hash or a torrent in the library${notAnInfoHashNote(what)}`)
    throw err
  }
  return torrentJson(await parseTorrentFile(await store.torrentFile(entry.infoHash)), 'library')
}

function torrentJson(meta: Metainfo, source: 'file' | 'library'): TorrentInfoJson {
  return {
    kind: 'torrent',
    source,
    infoHash: meta.infoHashHex,
    name: meta.name,
    sizeBytes: meta.length,
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    private: meta.private,
    files: meta.files.flatMap((f, index) => f.padding ? [] : [{
      index,
      path: f.path.join('/'),
      sizeBytes: f.length,
      executable: f.executable === true,
      symlink: f.symlink ? f.symlink.join('/') : null,
    }]),
    trackers: meta.announce.map((tier) => tier.slice()),
    webSeeds: meta.urlList.slice(),
    dhtNodes: (meta.nodes ?? []).map((n) => addressKey(n)),
    comment: meta.comment ?? null,
    createdBy: meta.createdBy ?? null,
    creationDate: meta.creationDate !== undefined && meta.creationDate * 1000 <= 8.64e15 ? isoTime(meta.creationDate * 1000) : null,
    pathChanges: meta.pathChanges.map((c) => ({ file: c.file, original: c.original.slice(), safe: c.safe.join('/'), why: c.why })),
    magnet: magnetUri({ infoHashHex: meta.infoHashHex, infoHashV2: meta.v2?.infoHash, v1: meta.hasV1, name: meta.name, tiers: meta.announce }),
  }
}

function magnetJson(link: MagnetLink): MagnetInfoJson {
  return {
    kind: 'magnet',
    infoHash: link.infoHashHex,
    name: link.name ?? null,
    trackers: link.tiers.map((tier) => tier.slice()),
    peers: link.peers.map((p) => addressKey(p)),
    magnet: magnetUri({ infoHashHex: link.infoHashHex, infoHashV2: link.infoHashV2, v1: !link.infoHashV2 || !link.infoHashV2.subarray(0, 20).equals(link.infoHash), name: link.name, tiers: link.tiers }),
  }
}

/** Every tracker at once, each answer or failure as one line's worth. */
async function scrapeAll(urls: string[], infoHash: Buffer): Promise<ScrapeLine[]> {
  return Promise.all(
    [...new Set(urls)].map(async (url): Promise<ScrapeLine> => {
      const scrapeUrl = scrapeUrlFor(url)
      if (!scrapeUrl) return { url, error: 'this tracker cannot be scraped (BEP 48: its URL does not end in "announce")' }
      const call = scrapeTracker(scrapeUrl, infoHash)
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        call.cancel()
      }, SCRAPE_TIMEOUT_MS)
      try {
        const r = await call.result
        return { url, seeders: r.seeders, leechers: r.leechers, completed: r.completed }
      } catch (err) {
        return { url, error: timedOut ? `no scrape reply within ${SCRAPE_TIMEOUT_MS / 1000} s` : errorMessage(err) }
      } finally {
        clearTimeout(timer)
      }
    }),
  )
}

function scrapeLines(scrape: ScrapeLine[] | undefined): string[] {
  if (!scrape) return []
  return ['', 'Scrape:', ...(scrape.length ? scrape.map((s) => ('error' in s ? `  ${s.url}: ${s.error}` : `  ${s.url}: ${s.seeders} seeders, ${s.leechers} leechers, ${s.completed} completed`)) : ['  no trackers to scrape'])]
}

function torrentLines(t: TorrentInfoJson): string[] {
  const fileCount = t.files.length
  const lines = [
    `Name:        ${t.name}`,
    `Info hash:   ${t.infoHash}`,
    `Size:        ${formatBytes(t.sizeBytes)} (${t.sizeBytes} bytes) in ${fileCount} file${fileCount === 1 ? '' : 's'}`,
    `Pieces:      ${t.pieceCount} × ${formatBytes(t.pieceLength)}`,
    `Private:     ${t.private ? 'yes (trackers only: no DHT, no PEX)' : 'no'}`,
  ]
  if (t.createdBy) lines.push(`Created by:  ${shown(t.createdBy)}`)
  if (t.creationDate) lines.push(`Created on:  ${t.creationDate.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`)
  if (t.comment) lines.push(`Comment:     ${shown(t.comment)}`)
  lines.push(`Magnet:      ${t.magnet}`)
  lines.push('', 'Trackers:', ...(t.trackers.length ? t.trackers.map((tier, i) => `  tier ${i + 1}: ${tier.join(', ')}`) : ['  none']))
  lines.push(...scrapeLines(t.scrape))
  if (t.webSeeds.length) lines.push('', 'Web seeds:', ...t.webSeeds.map((u) => `  ${u}`))
  if (t.dhtNodes.length) lines.push('', 'DHT nodes:', ...t.dhtNodes.map((n) => `  ${n}`))
  lines.push('', 'Files:', ...fileTree(t.files))
  if (t.pathChanges.length) {
    lines.push('', 'Paths changed to be safe:')
    for (const c of t.pathChanges) lines.push(`  ${originalShown(c.original)} → ${c.safe} (${c.why})`)
  }
  return lines
}

function magnetLines(m: MagnetInfoJson): string[] {
  return [
    `Magnet link (the files are known once the metadata is fetched: \`friendtorrent add\`)`,
    `Info hash:   ${m.infoHash}`,
    `Name:        ${m.name ?? '(none given)'}`,
    '',
    'Trackers:',
    ...(m.trackers.length ? m.trackers.map((tier, i) => `  tier ${i + 1}: ${tier.join(', ')}`) : ['  none']),
    '',
    'Peers (x.pe):',
    ...(m.peers.length ? m.peers.map((p) => `  ${p}`) : ['  none']),
    ...scrapeLines(m.scrape),
  ]
}

interface Folder { folders: Map<string, Folder>; files: { name: string; line: string }[] }

/** Files as an indented tree, folders first (with a trailing "/"), each file with its size. */
function fileTree(files: TorrentInfoJson['files']): string[] {
  const root: Folder = { folders: new Map(), files: [] }
  for (const f of files) {
    const parts = f.path.split('/')
    let at = root
    for (const part of parts.slice(0, -1)) {
      let next = at.folders.get(part)
      if (!next) at.folders.set(part, (next = { folders: new Map(), files: [] }))
      at = next
    }
    const extra = f.symlink !== null ? (f.symlink === f.path ? '  → (target not in the torrent: not created)' : `  → ${f.symlink}`) : f.executable ? '  (executable)' : ''
    at.files.push({ name: parts[parts.length - 1], line: `${formatBytes(f.sizeBytes).padStart(10)}${extra}` })
  }
  const out: string[] = []
  const walk = (folder: Folder, depth: number): void => {
    const indent = '  '.repeat(depth + 1)
    for (const [name, sub] of folder.folders) {
      out.push(`${indent}${name}/`)
      walk(sub, depth + 1)
    }
    for (const f of folder.files) out.push(`${indent}${f.name}  ${f.line.trim()}`)
  }
  walk(root, 0)
  return out
}

/** A path as the torrent wrote it: joined with "/" when that is unambiguous, else JSON. */
function originalShown(parts: string[]): string {
  const plain = parts.every((p) => p !== '' && !/[/\\]/.test(p) && !HAS_CONTROL.test(p))
  return plain ? parts.join('/') : JSON.stringify(parts)
}

/** Text from the torrent with control characters dropped, so it cannot steer the terminal. */
function shown(text: string): string {
  return text.replace(CONTROL, '')
}
