// Storage in one Buffer, for tests: same bounds rules as FileStorage, no disk.
// mayHavePiece is true once a write has touched the piece (or for seeded data).

import type { Metainfo } from '../../src/metainfo/metainfo.ts'
import type { Storage } from '../../src/storage/storage.ts'
import { StorageError } from '../../src/storage/storage-error.ts'
import { readStart, writeStart } from '../../src/storage/range.ts'

export class MemoryStorage implements Storage {
  readonly #meta: Metainfo
  readonly #data: Buffer
  readonly #touched: Uint8Array
  #closed = false

  /** `payload`, when given, is the whole torrent's data (copied), and every piece counts as present. */
  constructor(meta: Metainfo, payload?: Buffer) {
    this.#meta = meta
    this.#data = Buffer.alloc(meta.length)
    this.#touched = new Uint8Array(meta.pieceCount)
    if (payload) {
      if (payload.length !== meta.length) throw new RangeError(`payload is ${payload.length} bytes, the torrent holds ${meta.length}`)
      payload.copy(this.#data)
      this.#touched.fill(1)
    }
  }

  async read(index: number, begin: number, length: number): Promise<Buffer> {
    this.#checkOpen()
    const start = readStart(this.#meta, index, begin, length)
    return Buffer.from(this.#data.subarray(start, start + length))
  }

  async write(index: number, begin: number, data: Buffer): Promise<void> {
    this.#checkOpen()
    const start = writeStart(this.#meta, index, begin, data.length)
    data.copy(this.#data, start)
    if (data.length > 0) this.#touched[index] = 1
  }

  async mayHavePiece(index: number): Promise<boolean> {
    this.#checkOpen()
    return this.#touched[index] === 1
  }

  async flush(): Promise<void> {
    this.#checkOpen()
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('storage is closed')
  }
}
