// Opens the index the config names, for what reads it (`search`, `add` of a
// stored result, a session's `search` control command): loaded lazily, so a
// client without an index (or without better-sqlite3) never loads it; a
// SQLite index that was never made is "no index", not a new empty file.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { FriendError } from '../core/types.ts'
import type { OpenedIndex } from '../index/open-store.ts'
import type { SearchQuery, SearchResult } from '../index/search.ts'
import type { Config } from './config.ts'

/** open-store.ts's SQLITE_INDEX_FILE, repeated so this check loads no index module (test/unit/index/sqlite-store.test.ts compares them). */
export const SQLITE_INDEX_FILE = 'index.sqlite'

/** Whether an index may exist, without loading anything: the cheap test made before looking one up. */
export function mayHaveIndex(config: Config, stateDir: string): boolean {
  return config.indexDatabase !== '' || existsSync(join(stateDir, SQLITE_INDEX_FILE))
}

/** The configured index, or undefined when it is SQLite and no crawl has made it yet. */
export async function openConfiguredIndex(config: Config, stateDir: string): Promise<OpenedIndex | undefined> {
  if (!mayHaveIndex(config, stateDir)) return undefined
  const { openIndexStore } = await import('../index/open-store.ts')
  return openIndexStore(config.indexDatabase, stateDir, { blocklist: config.indexBlocklist })
}

export function noIndexError(stateDir: string): FriendError {
  return new FriendError(`no index in ${stateDir} yet: \`friendtorrent crawl\` makes one (or set indexDatabase to a postgres:// URL)`)
}

/**
 * The index as a long-running session uses it: opened at the first search or
 * lookup (a crawl may make it after the session started), then kept open
 * until close(). Never opened, nothing is loaded.
 */
export class LazyIndex {
  readonly #config: Config
  readonly #stateDir: string
  #opening: Promise<OpenedIndex | undefined> | undefined
  #closed = false

  constructor(config: Config, stateDir: string) {
    this.#config = config
    this.#stateDir = stateDir
  }

  async #index(): Promise<OpenedIndex | undefined> {
    if (this.#closed) return undefined
    this.#opening ??= openConfiguredIndex(this.#config, this.#stateDir).then((index) => {
      if (!index) this.#opening = undefined // not made yet: look again next time
      return index
    })
    // A failed open (locked, corrupt) is reported now and tried again next time.
    return this.#opening.catch((err: unknown) => {
      this.#opening = undefined
      throw err
    })
  }

  async search(query: SearchQuery): Promise<SearchResult[]> {
    const index = await this.#index()
    if (!index) throw noIndexError(this.#stateDir)
    return index.search(query)
  }

  /** The stored info dict of a hash; undefined without an index or without that hash. */
  async infoDict(infoHash: string): Promise<Buffer | undefined> {
    return (await this.#index())?.infoDict(infoHash)
  }

  async close(): Promise<void> {
    this.#closed = true
    const index = await this.#opening?.catch(() => undefined)
    await index?.close()
  }
}
