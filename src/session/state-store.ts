// The session's persistence: the library (library.json: the torrents and the
// banned peer addresses), each torrent's .torrent file and its resume data,
// in one private folder. Every write goes
// through writeFileAtomic, one at a time, so a kill -9 leaves old or new files,
// never torn ones. It never decides what to download: it only stores.
import { FILE_PRIORITIES, type FilePriority } from '../storage/file-priorities.ts'
import { createHash } from 'node:crypto'
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { isIP } from 'node:net'
import path from 'node:path'
import bencode from 'bencode'
import { canonicalHost } from '../core/address.ts'
import { writeFileAtomic } from '../core/atomic-write.ts'
import { Bitfield } from '../core/bitfield.ts'
import { FriendError, errorMessage } from '../core/types.ts'
import { infoHashHexOf } from '../metainfo/metainfo.ts'

export type StoredState = 'queued' | 'downloading' | 'seeding' | 'paused' | 'error'

export interface LibraryEntry {
  /** 40 lowercase hex digits. */
  infoHash: string
  name: string
  savePath: string
  state: StoredState
  error?: string
  /** Set with a disk-full error: the session resumes the torrent once there is space, after a restart too. */
  waitsForSpace?: boolean
  uploadedBytes: number
  downloadedBytes: number
  addedAtMs: number
  completedAtMs?: number
  queuePosition: number
  /** Verified bytes when it last stopped (what a stopped torrent's progress shows). */
  verifiedBytes?: number
  /** Runs whatever the queue limits say (the dashboard's "start now"); pausing clears it. */
  forceStart?: boolean
  /** One per file in the torrent; absent means every file at normal priority. */
  filePriorities?: FilePriority[]
}

/**
 * What a restart trusts without looking at the files: the verified pieces.
 * Nothing per file (a start never stats 100,000 files); a file missing or
 * short under a trusted piece is found when it is read or written.
 */
export interface ResumeData {
  infoHash: string
  pieceCount: number
  /** Verified pieces, BEP 3 bit order, spare bits zero. */
  bitfield: Buffer
}

const LIBRARY_FILE = 'library.json'
const LIBRARY_VERSION = 1
const RESUME_FORMAT = 3
/** Resume data written before format 3, still read: their per-file sizes and mtimes (1: bencoded lists, 2: 16 bytes a file) are ignored. */
const OLDER_RESUME_FORMATS: readonly unknown[] = [1, 2]
const DIR_MODE = 0o700
const STATES: readonly StoredState[] = ['queued', 'downloading', 'seeding', 'paused', 'error']
const HASH_RE = /^[0-9a-f]{40}$/
/** writeFileAtomic names its temp files `.<name>.<pid>.<ms>.tmp`. */
const TEMP_RE = /^\..+\.(\d+)\.\d+\.tmp$/

/**
 * Opening a folder whose library.json is corrupt throws a FriendError naming
 * the file and leaves it untouched: the store never starts fresh on its own,
 * because that would silently drop the user's torrent list.
 */
export class StateStore {
  readonly dir: string
  readonly #entries: Map<string, LibraryEntry>
  /** Banned peer addresses (canonical IP text), kept in library.json beside the torrents. */
  readonly #bans: Set<string>
  /** Adds between their checks and their library write, so a second add of the same hash waits. */
  readonly #adding = new Map<string, Promise<unknown>>()
  /** Every disk write runs after the one before it: writeFileAtomic's temp names are only unique per millisecond. */
  #tail: Promise<void> = Promise.resolve()
  /** A library write queued but not yet started; later changes ride along with it. */
  #libraryPending: Promise<void> | undefined

  private constructor(dir: string, entries: Map<string, LibraryEntry>, bans: Set<string>) {
    this.dir = dir
    this.#entries = entries
    this.#bans = bans
  }

  /** Creates (or tightens to 0700) the folder and its torrents/ and resume/ folders, then reads library.json. */
  static async open(dir: string): Promise<StateStore> {
    const root = path.resolve(dir)
    for (const folder of [root, path.join(root, 'torrents'), path.join(root, 'resume')]) {
      try {
        await mkdir(folder, { recursive: true, mode: DIR_MODE })
        await chmod(folder, DIR_MODE)
      } catch (err) {
        throw new FriendError(`cannot create the state folder ${folder}: ${errorMessage(err)}`, { cause: err })
      }
    }
    const { entries, bans } = await readLibrary(path.join(root, LIBRARY_FILE))
    for (const folder of [root, path.join(root, 'torrents'), path.join(root, 'resume')]) await removeDeadTempFiles(folder)
    return new StateStore(root, entries, bans)
  }

  /** Entries in queue order (queuePosition, then addedAtMs); copies. */
  list(): LibraryEntry[] {
    return sortedEntries(this.#entries).map((e) => ({ ...e }))
  }

  /** Banned peer addresses, sorted. */
  bans(): string[] {
    return [...this.#bans].sort()
  }

  /** Bans an IP address (any textual form; stored canonical); returns the stored form, or throws for a non-address. */
  async ban(address: string): Promise<string> {
    const host = banAddress(address)
    if (!this.#bans.has(host)) {
      this.#bans.add(host)
      await this.#saveLibrary()
    }
    return host
  }

  /** Lifts a ban; false when the address was not banned. */
  async unban(address: string): Promise<boolean> {
    const host = banAddress(address)
    if (!this.#bans.delete(host)) return false
    await this.#saveLibrary()
    return true
  }

  get(infoHash: string): LibraryEntry | undefined {
    const entry = this.#entries.get(checkHash(infoHash))
    return entry ? { ...entry } : undefined
  }

  /**
   * Stores the .torrent, drops any stale resume data for the hash, then
   * records the entry. A hash already present → {added:false} and nothing is
   * written. Throws if torrentFile is not the torrent of entry.infoHash.
   */
  async add(entry: LibraryEntry, torrentFile: Buffer): Promise<{ added: boolean }> {
    const hash = checkHash(entry.infoHash)
    const pending = this.#adding.get(hash)
    if (pending) {
      await pending.catch(() => {})
      return this.add(entry, torrentFile)
    }
    if (this.#entries.has(hash)) return { added: false }
    const stored = validEntry({ ...entry, infoHash: hash }, 'entry')
    if (typeof stored === 'string') throw new TypeError(`cannot add torrent ${hash}: ${stored}`)
    const work = (async () => {
      // Its info hash only: the caller parsed it already, and a parse of 100,000 files takes seconds.
      const given = infoHashHexOf(torrentFile)
      if (given !== hash) throw new FriendError(`cannot add torrent ${hash}: the .torrent given is for ${given}`)
      await this.#enqueue(async () => {
        await rm(this.#resumePath(hash), { force: true })
        await writeFileAtomic(this.#torrentPath(hash), torrentFile)
      })
      this.#entries.set(hash, stored)
    })()
    this.#adding.set(hash, work)
    try {
      await work
    } finally {
      this.#adding.delete(hash)
    }
    await this.#saveLibrary()
    return { added: true }
  }

  /** Merges patch into the entry and writes library.json; the info hash cannot change. */
  async update(infoHash: string, patch: Partial<LibraryEntry>): Promise<void> {
    const hash = checkHash(infoHash)
    const current = this.#entries.get(hash)
    if (!current) throw new FriendError(`cannot update torrent ${hash}: it is not in the library`)
    if (patch.infoHash !== undefined && patch.infoHash.toLowerCase() !== hash) {
      throw new TypeError(`cannot update torrent ${hash}: its info hash cannot change to ${patch.infoHash}`)
    }
    const merged: Record<string, unknown> = { ...current, ...patch, infoHash: hash }
    for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
    const next = validEntry(merged, 'update')
    if (typeof next === 'string') throw new TypeError(`cannot update torrent ${hash}: ${next}`)
    this.#entries.set(hash, next)
    await this.#saveLibrary()
  }

  /** Removes the entry (library.json first, so a crash leaves only orphan files), its .torrent and resume data. */
  async remove(infoHash: string): Promise<void> {
    const hash = checkHash(infoHash)
    await this.#adding.get(hash)?.catch(() => {})
    if (this.#entries.delete(hash)) await this.#saveLibrary()
    await this.#enqueue(async () => {
      await rm(this.#torrentPath(hash), { force: true })
      await rm(this.#resumePath(hash), { force: true })
    })
  }

  /** Writes a new .torrent for a torrent in the library (e.g. with piece layers fetched since); throws if it is another torrent's. */
  async replaceTorrentFile(infoHash: string, torrentFile: Buffer): Promise<void> {
    const hash = checkHash(infoHash)
    if (!this.#entries.has(hash)) throw new FriendError(`cannot store the .torrent of ${hash}: it is not in the library`)
    const given = infoHashHexOf(torrentFile)
    if (given !== hash) throw new FriendError(`cannot store the .torrent of ${hash}: the one given is for ${given}`)
    await this.#enqueue(() => writeFileAtomic(this.#torrentPath(hash), torrentFile))
  }

  async torrentFile(infoHash: string): Promise<Buffer> {
    const hash = checkHash(infoHash)
    const file = this.#torrentPath(hash)
    try {
      return await readFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new FriendError(`the .torrent of ${hash} is missing (${file}); remove the torrent and add it again`, { cause: err })
      }
      throw new FriendError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err })
    }
  }

  /** Atomically replaces the torrent's resume file; the torrent must be in the library. */
  async saveResume(data: ResumeData): Promise<void> {
    const hash = checkHash(data.infoHash)
    const problem = resumeProblem(data)
    if (problem) throw new TypeError(`cannot save resume data for ${hash}: ${problem}`)
    const body = Buffer.from(bencode.encode({
      'info hash': Buffer.from(hash, 'hex'),
      'piece count': data.pieceCount,
      bitfield: data.bitfield,
    }))
    const file = Buffer.from(bencode.encode({ format: RESUME_FORMAT, resume: body, sha1: sha1(body) }))
    await this.#enqueue(async () => {
      // Checked in turn, so a save queued behind remove() cannot leave an orphan.
      if (!this.#entries.has(hash)) throw new FriendError(`cannot save resume data for ${hash}: it is not in the library`)
      await writeFileAtomic(this.#resumePath(hash), file)
    })
  }

  /** Forgets the resume data, so the next start hashes every piece again. */
  async clearResume(infoHash: string): Promise<void> {
    const hash = checkHash(infoHash)
    await this.#enqueue(() => rm(this.#resumePath(hash), { force: true }))
  }

  /** The saved resume data, or undefined when there is none or it is damaged in any way (the caller rechecks). */
  async loadResume(infoHash: string): Promise<ResumeData | undefined> {
    const hash = checkHash(infoHash)
    let raw: Buffer
    try {
      raw = await readFile(this.#resumePath(hash))
    } catch {
      return undefined
    }
    return decodeResume(raw, hash)
  }

  /** Writes library.json and waits for every write queued before it. */
  async flush(): Promise<void> {
    await this.#saveLibrary()
    await this.#tail
  }

  #torrentPath(hash: string): string {
    return path.join(this.dir, 'torrents', `${hash}.torrent`)
  }

  #resumePath(hash: string): string {
    return path.join(this.dir, 'resume', `${hash}.resume`)
  }

  #saveLibrary(): Promise<void> {
    if (this.#libraryPending) return this.#libraryPending
    const run = this.#enqueue(async () => {
      this.#libraryPending = undefined
      const doc = { version: LIBRARY_VERSION, torrents: sortedEntries(this.#entries), ...(this.#bans.size > 0 && { bans: [...this.#bans].sort() }) }
      await writeFileAtomic(path.join(this.dir, LIBRARY_FILE), JSON.stringify(doc, null, 2) + '\n')
    })
    this.#libraryPending = run
    return run
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(job)
    this.#tail = run.catch(() => {})
    return run
  }
}

function checkHash(infoHash: string): string {
  const hash = typeof infoHash === 'string' ? infoHash.toLowerCase() : ''
  if (!HASH_RE.test(hash)) throw new TypeError(`info hash must be 40 hex digits, got ${JSON.stringify(infoHash)}`)
  return hash
}

/** The canonical text of an IP address to ban; a one-line error for anything else (names are not banned: they resolve to many). */
export function banAddress(address: string): string {
  const host = canonicalHost(typeof address === 'string' ? address.trim() : '')
  if (!isIP(host)) throw new FriendError(`a ban is an IP address (like 192.0.2.7 or 2001:db8::7), got ${JSON.stringify(address)}`)
  return host
}

function sortedEntries(entries: Map<string, LibraryEntry>): LibraryEntry[] {
  return [...entries.values()].sort((a, b) => a.queuePosition - b.queuePosition || a.addedAtMs - b.addedAtMs)
}

function sha1(data: Uint8Array): Buffer {
  return createHash('sha1').update(data).digest()
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** A clean copy of a library entry, or a one-line reason it is not one. */
function validEntry(raw: unknown, what: string): LibraryEntry | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${what} is not an object`
  const r = raw as Record<string, unknown>
  const hash = r.infoHash
  if (typeof hash !== 'string' || !HASH_RE.test(hash)) return `${what} has info hash ${JSON.stringify(hash)}, not 40 lowercase hex digits`
  const label = `${what} ${hash}`
  if (typeof r.name !== 'string' || r.name === '') return `${label} has no name`
  if (typeof r.savePath !== 'string' || r.savePath === '') return `${label} has no save path`
  if (!STATES.includes(r.state as StoredState)) return `${label} has state ${JSON.stringify(r.state)} (expected ${STATES.join(', ')})`
  if (r.error !== undefined && typeof r.error !== 'string') return `${label} has an error that is not a string`
  for (const key of ['uploadedBytes', 'downloadedBytes', 'addedAtMs'] as const) {
    if (!isCount(r[key])) return `${label} has ${key} ${JSON.stringify(r[key])}, not a whole number 0 or more`
  }
  if (r.completedAtMs !== undefined && !isCount(r.completedAtMs)) return `${label} has completedAtMs ${JSON.stringify(r.completedAtMs)}, not a whole number 0 or more`
  if (typeof r.queuePosition !== 'number' || !Number.isSafeInteger(r.queuePosition)) return `${label} has queuePosition ${JSON.stringify(r.queuePosition)}, not a whole number`
  const entry: LibraryEntry = {
    infoHash: hash,
    name: r.name,
    savePath: r.savePath,
    state: r.state as StoredState,
    uploadedBytes: r.uploadedBytes as number,
    downloadedBytes: r.downloadedBytes as number,
    addedAtMs: r.addedAtMs as number,
    queuePosition: r.queuePosition,
  }
  if (r.error !== undefined) entry.error = r.error as string
  if (r.completedAtMs !== undefined) entry.completedAtMs = r.completedAtMs as number
  if (r.verifiedBytes !== undefined) {
    if (!isCount(r.verifiedBytes)) return `${label} has verifiedBytes ${JSON.stringify(r.verifiedBytes)}, not a whole number 0 or more`
    entry.verifiedBytes = r.verifiedBytes
  }
  for (const key of ['forceStart', 'waitsForSpace'] as const) {
    if (r[key] === undefined) continue
    if (typeof r[key] !== 'boolean') return `${label} has ${key} ${JSON.stringify(r[key])}, not true or false`
    entry[key] = r[key] as boolean
  }
  if (r.filePriorities !== undefined) {
    if (!Array.isArray(r.filePriorities) || !r.filePriorities.every((p) => FILE_PRIORITIES.includes(p as FilePriority))) {
      return `${label} has filePriorities that are not all one of ${FILE_PRIORITIES.join(', ')}`
    }
    entry.filePriorities = [...(r.filePriorities as FilePriority[])]
  }
  return entry
}

async function readLibrary(file: string): Promise<{ entries: Map<string, LibraryEntry>; bans: Set<string> }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: new Map(), bans: new Set() }
    throw new FriendError(`cannot read the library ${file}: ${errorMessage(err)}`, { cause: err })
  }
  const corrupt = (reason: string): FriendError =>
    new FriendError(`the library ${file} is corrupt (${reason}); fix it, restore a backup, or move it aside to start with an empty library`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw corrupt(`not valid JSON: ${errorMessage(err)}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('not a JSON object')
  const { version, torrents, bans } = doc as Record<string, unknown>
  if (typeof version === 'number' && version > LIBRARY_VERSION) {
    throw new FriendError(`the library ${file} was written by a newer friendtorrent (format ${version}); upgrade friendtorrent to use it`)
  }
  if (version !== LIBRARY_VERSION) throw corrupt(`format ${JSON.stringify(version)}, expected ${LIBRARY_VERSION}`)
  if (!Array.isArray(torrents)) throw corrupt('"torrents" is not a list')
  const entries = new Map<string, LibraryEntry>()
  torrents.forEach((raw, i) => {
    const entry = validEntry(raw, `torrent ${i + 1}`)
    if (typeof entry === 'string') throw corrupt(entry)
    if (entries.has(entry.infoHash)) throw corrupt(`torrent ${entry.infoHash} is listed twice`)
    entries.set(entry.infoHash, entry)
  })
  if (bans !== undefined && (!Array.isArray(bans) || !bans.every((b) => typeof b === 'string' && isIP(b)))) throw corrupt('"bans" is not a list of IP addresses')
  return { entries, bans: new Set((bans as string[] | undefined)?.map((b) => canonicalHost(b))) }
}

/** A killed writer leaves its temp file behind; only files of processes no longer running are removed. */
async function removeDeadTempFiles(folder: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(folder)
  } catch {
    return
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name)
    if (!m || isRunning(Number(m[1]))) continue
    await rm(path.join(folder, name), { force: true }).catch(() => {})
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function resumeProblem(data: ResumeData): string | undefined {
  if (!isCount(data.pieceCount) || data.pieceCount === 0) return `piece count ${data.pieceCount} is not a whole number above 0`
  if (!(data.bitfield instanceof Uint8Array)) return 'the bitfield is not bytes'
  const bytes = Math.ceil(data.pieceCount / 8)
  if (data.bitfield.length !== bytes) return `the bitfield has ${data.bitfield.length} bytes, ${data.pieceCount} pieces need ${bytes}`
  if (Bitfield.hasSpareBits(data.bitfield, data.pieceCount)) return 'the bitfield has bits set past the last piece'
  return undefined
}

function decodeResume(raw: Buffer, hash: string): ResumeData | undefined {
  try {
    const outer: unknown = bencode.decode(raw)
    if (!isDict(outer) || (outer.format !== RESUME_FORMAT && !OLDER_RESUME_FORMATS.includes(outer.format))) return undefined
    const body = outer.resume
    const sum = outer.sha1
    if (!(body instanceof Uint8Array) || !(sum instanceof Uint8Array) || !sha1(body).equals(sum)) return undefined
    const inner: unknown = bencode.decode(body)
    if (!isDict(inner)) return undefined
    const savedHash = inner['info hash']
    if (!(savedHash instanceof Uint8Array) || Buffer.from(savedHash).toString('hex') !== hash) return undefined
    const data: ResumeData = {
      infoHash: hash,
      pieceCount: inner['piece count'] as number,
      bitfield: inner.bitfield instanceof Uint8Array ? Buffer.from(inner.bitfield) : Buffer.alloc(0),
    }
    return resumeProblem(data) === undefined ? data : undefined
  } catch {
    return undefined
  }
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}
