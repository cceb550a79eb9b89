// The one interface between the crawler and the index's database: what the
// crawler hands over (a torrent whose info dict hashed to its info hash) and
// what it asks (which hashes are already stored; which it may fetch). SQLite
// and PostgreSQL each implement it in their own module, loaded only when used.

/** One file of an indexed torrent, its path joined with '/'. */
export interface IndexedFile {
  path: string
  sizeBytes: number
}

/** What IndexedTorrent.infoHash must be; both stores ignore (or refuse) anything else. */
export const HEX_INFO_HASH = /^[0-9a-f]{40}$/

/** A torrent whose metadata was fetched and checked against its info hash. */
export interface IndexedTorrent {
  /** 40 lower-case hex characters (the v1 info hash, or a v2 hash truncated to 20 bytes). */
  infoHash: string
  name: string
  sizeBytes: number
  pieceLength: number
  pieceCount: number
  comment?: string
  /** Unix seconds from the torrent's `creation date`, when it had one. */
  createdAt?: number
  files: IndexedFile[]
  /** The raw bencoded info dict, exactly as fetched (the store compresses it). */
  infoDict: Buffer
  /** Unix milliseconds when the metadata was fetched. */
  collectedAt: number
}

export interface IndexStore {
  /** Of these hashes (hex), the ones already stored; one query, whatever the count. */
  storedAmong(infoHashes: string[]): Promise<Set<string>>
  /**
   * Of these hashes, the ones this crawler may fetch now: not stored and not
   * claimed by another crawler (SQLite, one process: all not stored).
   */
  claim(infoHashes: string[], worker: string): Promise<string[]>
  /** Gives back a claim whose fetch failed, so another worker may try later. */
  release(infoHash: string, worker: string): Promise<void>
  /** Stores a batch; a hash already stored costs no write and is not an error. */
  insert(torrents: IndexedTorrent[]): Promise<void>
  /** Marks hashes seen again (last seen), without a metadata fetch. */
  seen(infoHashes: string[]): Promise<void>
  /** Bytes the database takes on disk (0 where the engine does not say). */
  sizeBytes(): Promise<number>
  close(): Promise<void>
}
