// The config's index blocklist: torrents whose info hash is listed, or whose
// name or a file path holds a listed word, are never stored (nor fetched,
// when the hash alone already tells). Pure; words match whole search words,
// case-insensitively, so "cam" blocks "Movie.CAM.avi" but not "camera".
import type { IndexedTorrent } from './index-store.ts'
import { searchWords } from './search.ts'

export interface IndexBlocklist {
  words: string[]
  infoHashes: string[]
}

export class Blocklist {
  readonly #hashes: Set<string>
  /** Each blocked phrase as its search words: a phrase of several words must appear in order. */
  readonly #phrases: string[][]

  constructor(list: IndexBlocklist) {
    this.#hashes = new Set(list.infoHashes.map((h) => h.toLowerCase()))
    this.#phrases = list.words.map(searchWords).filter((p) => p.length > 0)
  }

  get empty(): boolean {
    return this.#hashes.size === 0 && this.#phrases.length === 0
  }

  blocksHash(infoHash: string): boolean {
    return this.#hashes.has(infoHash.toLowerCase())
  }

  blocks(torrent: Pick<IndexedTorrent, 'infoHash' | 'name' | 'files'>): boolean {
    if (this.blocksHash(torrent.infoHash)) return true
    if (this.#phrases.length === 0) return false
    return this.#matches(torrent.name) || torrent.files.some((f) => this.#matches(f.path))
  }

  #matches(text: string): boolean {
    const words = searchWords(text)
    return this.#phrases.some((phrase) => {
      for (let i = 0; i + phrase.length <= words.length; i++) if (phrase.every((w, j) => words[i + j] === w)) return true
      return false
    })
  }
}
